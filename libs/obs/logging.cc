#include "libs/obs/logging.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace sluice::obs {
namespace {

// Formats plain spdlog calls (spdlog::info("...")) as JSON lines too.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    absl::string_view payload(msg.payload.data(), msg.payload.size());
    std::string line;
    if (!payload.empty() && payload.front() == '{' && payload.back() == '}') {
      line = std::string(payload);  // already a JSON line from Log()
    } else {
      line = JsonLogLine(msg.level, {}, payload, {});
    }
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

void Put(rapidjson::Writer<rapidjson::StringBuffer>& json, absl::string_view key,
         absl::string_view value) {
  json.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  json.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

std::string JsonLogLine(spdlog::level::level_enum level,
                        const LogContext& context, absl::string_view message,
                        LogFields fields) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  Put(json, "ts",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()));
  auto level_name = spdlog::level::to_string_view(level);
  Put(json, "level", absl::string_view(level_name.data(), level_name.size()));
  Put(json, "msg", message);
  if (!context.request_id.empty()) Put(json, "request_id", context.request_id);
  if (!context.trace_id.empty()) Put(json, "trace_id", context.trace_id);
  for (const auto& [key, value] : fields) Put(json, key, value);
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void InitLogging(absl::string_view level) {
  auto logger = std::make_shared<spdlog::logger>(
      "sluice", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::make_unique<JsonFormatter>());
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

void Log(spdlog::level::level_enum level, const LogContext& context,
         absl::string_view message, LogFields fields) {
  if (!spdlog::should_log(level)) return;
  spdlog::log(level, "{}", JsonLogLine(level, context, message, fields));
}

}  // namespace sluice::obs

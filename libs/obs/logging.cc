// The JSON (or text) line formatter behind InitLogging, and Log().
#include "libs/obs/logging.h"

#include <chrono>
#include <ctime>

#include "fmt/format.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace sluice::obs {
namespace {

// The context and fields of the record Log() is writing on this thread. The
// default logger is synchronous, so the formatter runs inside Log(); the
// payload pointer check keeps any other message (or an asynchronous logger's
// copy) from picking them up.
struct StructuredRecord {
  const char* payload;
  const LogContext* context;
  const LogFields* fields;
};
thread_local const StructuredRecord* current_record = nullptr;

absl::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// RFC 3339 in UTC with milliseconds: 2024-05-01T12:00:00.123Z.
std::string Timestamp(spdlog::log_clock::time_point time) {
  auto since_epoch = time.time_since_epoch();
  auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                    since_epoch - seconds)
                    .count();
  std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, millis);
}

// Length of the valid UTF-8 sequence at text[i], or 0.
size_t Utf8Length(absl::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  size_t n;
  uint32_t min;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  uint32_t code = c & (0xff >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = code << 6 | (byte(i + k) & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
    return 0;
  }
  return n;
}

class LineFormatter : public spdlog::formatter {
 public:
  explicit LineFormatter(bool json) : json_(json) {}

  // spdlog::formatter
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    absl::string_view payload(msg.payload.data(), msg.payload.size());
    absl::string_view logger(msg.logger_name.data(), msg.logger_name.size());
    const StructuredRecord* record = current_record;
    if (record != nullptr && record->payload != payload.data()) {
      record = nullptr;
    }
    std::string line;
    line.reserve(160 + payload.size());
    if (json_) {
      line += "{\"ts\":\"";
      line += Timestamp(msg.time);
      line += "\",\"level\":\"";
      line.append(LevelName(msg.level).data(), LevelName(msg.level).size());
      line += "\"";
      AppendJsonField("msg", payload, &line);
      if (!logger.empty()) AppendJsonField("logger", logger, &line);
    } else {
      line += Timestamp(msg.time);
      line += ' ';
      line.append(LevelName(msg.level).data(), LevelName(msg.level).size());
      if (!logger.empty()) {
        line.append(" [").append(logger.data(), logger.size()).append("]");
      }
      line += ' ';
      line.append(payload.data(), payload.size());
    }
    if (record != nullptr) {
      AppendField("request_id", record->context->request_id, &line);
      AppendField("trace_id", record->context->trace_id, &line);
      for (const auto& [key, value] : *record->fields) {
        AppendField(key, value, &line);
      }
    }
    if (json_) line += '}';
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(json_);
  }

 private:
  static void AppendJsonField(absl::string_view key, absl::string_view value,
                              std::string* line) {
    *line += ',';
    AppendJsonString(key, line);
    *line += ':';
    AppendJsonString(value, line);
  }

  // Context values are left out when empty; fields always appear.
  void AppendField(absl::string_view key, absl::string_view value,
                   std::string* line) const {
    if ((key == "request_id" || key == "trace_id") && value.empty()) return;
    if (json_) {
      AppendJsonField(key, value, line);
    } else {
      line->append(" ").append(key.data(), key.size()).append("=");
      line->append(value.data(), value.size());
    }
  }

  bool json_;
};

bool ParseLevel(absl::string_view name, spdlog::level::level_enum* level) {
  static constexpr std::pair<absl::string_view, spdlog::level::level_enum>
      kLevels[] = {{"trace", spdlog::level::trace},
                   {"debug", spdlog::level::debug},
                   {"info", spdlog::level::info},
                   {"warn", spdlog::level::warn},
                   {"warning", spdlog::level::warn},
                   {"error", spdlog::level::err},
                   {"err", spdlog::level::err},
                   {"critical", spdlog::level::critical},
                   {"off", spdlog::level::off}};
  for (const auto& [text, value] : kLevels) {
    if (text == name) {
      *level = value;
      return true;
    }
  }
  return false;
}

}  // namespace

void AppendJsonString(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t n = Utf8Length(text, i);
      if (n == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(text.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

std::unique_ptr<spdlog::formatter> NewLogFormatter(bool json) {
  return std::make_unique<LineFormatter>(json);
}

void InitLogging(absl::string_view level, bool json) {
  auto logger = std::make_shared<spdlog::logger>(
      "sluice", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(NewLogFormatter(json));
  spdlog::level::level_enum parsed = spdlog::level::info;
  bool known = ParseLevel(level, &parsed);
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  if (!known) {
    Log(spdlog::level::warn, {}, "unknown log level, using info",
        {{"level_requested", level}});
  }
}

void Log(spdlog::level::level_enum level, const LogContext& context,
         absl::string_view message, LogFields fields) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  if (logger == nullptr || !logger->should_log(level)) return;
  StructuredRecord record{message.data(), &context, &fields};
  const StructuredRecord* outer = current_record;
  current_record = &record;
  logger->log(level, spdlog::string_view_t(message.data(), message.size()));
  current_record = outer;
}

}  // namespace sluice::obs

// Structured logs on spdlog: one JSON object per line on stderr, carrying the
// request id and trace id of the request being served:
//
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"served",
//    "logger":"sluice","request_id":"req_...","trace_id":"4bf9...","route":"x"}
//
// Plain spdlog calls (spdlog::warn("...")) come out as JSON lines too.
//
// Callers must never pass secrets (API keys, Authorization or other request
// headers, prompt text) as messages or fields; nothing here logs headers.
// Field keys must not reuse the keys above (ts, level, msg, logger,
// request_id, trace_id).
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "spdlog/formatter.h"
#include "spdlog/spdlog.h"

namespace sluice::obs {

using LogFields =
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>;

struct LogContext {
  absl::string_view request_id;
  absl::string_view trace_id;
};

// Makes spdlog's default logger ("sluice") write to stderr at `level`
// (trace, debug, info, warn, error, critical, off; anything else means info
// and logs a warning), as JSON lines or, with json=false, human-readable text.
void InitLogging(absl::string_view level, bool json = true);

// The formatter InitLogging installs; tests put it on a logger of their own.
std::unique_ptr<spdlog::formatter> NewLogFormatter(bool json = true);

// Writes one record through spdlog's default logger; costs one level check
// when `level` is disabled.
void Log(spdlog::level::level_enum level, const LogContext& context,
         absl::string_view message, LogFields fields = {});

inline void LogDebug(const LogContext& context, absl::string_view message,
                     LogFields fields = {}) {
  Log(spdlog::level::debug, context, message, fields);
}
inline void LogInfo(const LogContext& context, absl::string_view message,
                    LogFields fields = {}) {
  Log(spdlog::level::info, context, message, fields);
}
inline void LogWarn(const LogContext& context, absl::string_view message,
                    LogFields fields = {}) {
  Log(spdlog::level::warn, context, message, fields);
}
inline void LogError(const LogContext& context, absl::string_view message,
                     LogFields fields = {}) {
  Log(spdlog::level::err, context, message, fields);
}

// Appends `text` as a quoted JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
void AppendJsonString(absl::string_view text, std::string* out);

}  // namespace sluice::obs

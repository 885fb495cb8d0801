// Structured logs: one JSON object per line on stderr, with the request id
// and trace id of the request being served. Callers must never pass secrets
// (API keys, Authorization headers) as messages or fields.
#pragma once

#include "absl/strings/string_view.h"
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "spdlog/spdlog.h"

namespace sluice::obs {

using LogFields =
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>;

struct LogContext {
  absl::string_view request_id;
  absl::string_view trace_id;
};

// Makes spdlog's default logger write JSON lines at `level` (trace, debug,
// info, warn, error).
void InitLogging(absl::string_view level);

void Log(spdlog::level::level_enum level, const LogContext& context,
         absl::string_view message, LogFields fields = {});

// The JSON line Log() writes, without the trailing newline.
std::string JsonLogLine(spdlog::level::level_enum level,
                        const LogContext& context, absl::string_view message,
                        LogFields fields);

}  // namespace sluice::obs

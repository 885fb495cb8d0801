// Statuses that carry OpenAI's error details (type, param, code, HTTP
// status) as a payload, so the details survive every hop; and the mapping
// from any status to those details.
#pragma once

#include "absl/strings/string_view.h"
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::status {

absl::Status InvalidRequest(std::string message, std::string param = "",
                            std::string code = "");
absl::Status Unauthenticated(std::string message);
absl::Status PermissionDenied(std::string message);
absl::Status NotFound(std::string message, std::string param = "",
                      std::string code = "");
absl::Status RateLimited(std::string message, absl::Duration retry_after);
// A provider's error answer: 429 stays 429, 5xx becomes our 502, 4xx keeps
// its status (the request itself was bad).
absl::Status UpstreamError(std::string message, int http_status,
                           std::string type = "", std::string code = "");

// The error details of `status`: its payload, or derived from its code.
sluice::v1::Error ErrorFromStatus(const absl::Status& status);
// The Retry-After a RateLimited status carries.
std::optional<absl::Duration> RetryAfterOf(const absl::Status& status);

// Attaches `error` to a status with `code` (used when decoding).
absl::Status WithError(absl::StatusCode code, const sluice::v1::Error& error);

// Masks API keys ("sk-...") and bearer tokens in free text.
std::string RedactSecrets(absl::string_view text);

}  // namespace sluice::status

// Statuses that carry OpenAI's error details (type, param, code, HTTP
// status) as a payload, so the details survive every hop; and the mapping
// from any status to those details.
//
// Code → HTTP when a status carries no payload:
//   INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE → 400
//   invalid_request_error; UNAUTHENTICATED → 401 invalid_request_error /
//   invalid_api_key (OpenAI's real shape); PERMISSION_DENIED → 403
//   permission_error; NOT_FOUND → 404 invalid_request_error;
//   RESOURCE_EXHAUSTED → 429 rate_limit_error; CANCELLED → 499;
//   UNIMPLEMENTED → 501 invalid_request_error / not_implemented (OpenAI has
//   no such error; 501 tells clients not to retry); UNAVAILABLE → 503
//   server_error; DEADLINE_EXCEEDED → 504 timeout_error; anything else → 500
//   server_error.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::status {

absl::Status InvalidRequest(std::string message, std::string param = "",
                            std::string code = "");
absl::Status Unauthenticated(std::string message);
absl::Status PermissionDenied(std::string message, std::string param = "",
                              std::string code = "");
absl::Status NotFound(std::string message, std::string param = "",
                      std::string code = "");
absl::Status RateLimited(std::string message, absl::Duration retry_after);
// The tenant's budget is spent: 429 insufficient_quota, not worth retrying.
absl::Status QuotaExceeded(std::string message);
// A provider's error answer: 429 stays 429 (RESOURCE_EXHAUSTED); 401/403
// mean our provider credentials are wrong: FAILED_PRECONDITION, 502 to the
// client; other 4xx keep their status (the request itself was bad,
// INVALID_ARGUMENT); 5xx and anything else become UNAVAILABLE, 502.
absl::Status UpstreamError(std::string message, int http_status,
                           std::string type = "", std::string code = "");

// The error details of `status`: its payload, or derived from its code.
sluice::v1::Error ErrorFromStatus(const absl::Status& status);
// The Retry-After a RateLimited status carries.
std::optional<absl::Duration> RetryAfterOf(const absl::Status& status);

// A status with `code` and `error`'s message that carries `error` as its
// payload (used when decoding errors from the wire).
absl::Status StatusFromError(const sluice::v1::Error& error,
                             absl::StatusCode code);

// Masks API keys ("sk-...", also inside "api_key=sk-..."), bearer tokens
// ("Bearer xxx") and the values of secret-named fields (x-api-key, api_key,
// password, client_secret, ...) in free text, for logs and error messages:
// "sk-abc123" → "sk-***", "Bearer abc" → "Bearer ***", "x-api-key: k" →
// "x-api-key: ***".
std::string RedactSecrets(absl::string_view text);

// Replaces every occurrence of each of `secrets` (values known to be
// secret, such as the provider API keys sluice sends, whatever their shape)
// in `text` with "***". Empty secrets are ignored.
std::string RedactValues(absl::string_view text,
                         absl::Span<const std::string> secrets);
// `status` with RedactValues applied to its message and to its OpenAI
// error's message; its code and other payloads are kept.
absl::Status RedactValues(const absl::Status& status,
                          absl::Span<const std::string> secrets);

}  // namespace sluice::status

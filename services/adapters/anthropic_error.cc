// Anthropic errors → statuses; see anthropic_error.h.
#include "services/adapters/anthropic_error.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"
#include "rapidjson/document.h"
#include "services/adapters/upstream_error.h"

namespace sluice::adapters {
namespace {

struct ErrorBody {
  std::string type;
  std::string message;
};

ErrorBody ParseErrorBody(absl::string_view body) {
  ErrorBody out;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return out;
  auto error = doc.FindMember("error");
  if (error == doc.MemberEnd() || !error->value.IsObject()) return out;
  auto type = error->value.FindMember("type");
  if (type != error->value.MemberEnd() && type->value.IsString()) {
    out.type = type->value.GetString();
  }
  auto message = error->value.FindMember("message");
  if (message != error->value.MemberEnd() && message->value.IsString()) {
    out.message = message->value.GetString();
  }
  return out;
}

// Worth retrying, here or elsewhere: 503 to clients, as 529 is not a
// standard status.
absl::Status Overloaded(std::string message) {
  sluice::v1::Error error;
  error.set_message(status::RedactSecrets(message));
  error.set_type("overloaded_error");
  error.set_code("overloaded");
  error.set_http_status(503);
  return status::StatusFromError(error, absl::StatusCode::kUnavailable);
}

// The HTTP status Anthropic documents for each error type.
int HttpStatusOf(absl::string_view type) {
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  if (type == "request_too_large") return 413;
  if (type == "rate_limit_error") return 429;
  if (type == "overloaded_error") return 529;
  return 500;
}

}  // namespace

absl::Status AnthropicHttpError(absl::string_view provider,
                                const upstream::HttpResponseHead& head,
                                absl::string_view body, absl::Time now) {
  ErrorBody error = ParseErrorBody(body);
  if (head.status == 529 || error.type == "overloaded_error") {
    std::string message =
        absl::StrCat("upstream ", provider, " answered HTTP ", head.status);
    if (!error.message.empty()) absl::StrAppend(&message, ": ", error.message);
    return Overloaded(std::move(message));
  }
  return UpstreamHttpError(provider, head, body, now);
}

absl::Status AnthropicStreamError(absl::string_view provider,
                                  absl::string_view data) {
  ErrorBody error = ParseErrorBody(data);
  std::string message =
      absl::StrCat("upstream ", provider, " sent an error event");
  if (!error.type.empty()) absl::StrAppend(&message, " (", error.type, ")");
  if (!error.message.empty()) absl::StrAppend(&message, ": ", error.message);
  message = status::RedactSecrets(message);
  int http_status = HttpStatusOf(error.type);
  if (http_status == 529) return Overloaded(std::move(message));
  if (http_status == 429) {
    return status::RateLimited(std::move(message), absl::ZeroDuration());
  }
  return status::UpstreamError(std::move(message), http_status, error.type);
}

}  // namespace sluice::adapters

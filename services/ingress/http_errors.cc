#include "services/ingress/http_errors.h"

#include <string>

#include "libs/status/errors.h"
#include "libs/status/openai_error.h"

namespace sluice::ingress {

sluice::v1::Error RespondWithError(http::ResponseWriter& writer,
                                   const absl::Status& status,
                                   http::Headers headers) {
  sluice::v1::Error error = status::ErrorFromStatus(status);
  headers.emplace_back("content-type", "application/json");
  if (error.retry_after_ms() > 0) {
    headers.emplace_back("retry-after",
                         std::to_string((error.retry_after_ms() + 999) / 1000));
  }
  writer.Respond(error.http_status(), std::move(headers),
                 status::OpenAIErrorJson(error));
  return error;
}

std::optional<Caller> AuthenticateOrRespond(const ApiKeyAuth& auth,
                                            const http::Request& request,
                                            http::ResponseWriter& writer) {
  absl::StatusOr<Caller> caller = auth.Authenticate(request.Header("authorization"));
  if (!caller.ok()) {
    RespondWithError(writer, caller.status(), {});
    return std::nullopt;
  }
  return *std::move(caller);
}

}  // namespace sluice::ingress

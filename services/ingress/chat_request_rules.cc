#include "services/ingress/chat_request_rules.h"

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace sluice::ingress {

absl::Status ValidateChatRequest(const sluice::v1::ChatRequest& request) {
  if (request.model().empty()) {
    return status::InvalidRequest("you must provide a model parameter",
                                  "model");
  }
  // A model name longer than any real one would be logged, echoed in
  // errors and stored in usage events at whatever size the client sent.
  if (request.model().size() > kMaxModelBytes) {
    return status::InvalidRequest(
        absl::StrCat("'model' must be at most ", kMaxModelBytes,
                     " characters long; got ", request.model().size()),
        "model");
  }
  if (request.messages().empty()) {
    return status::InvalidRequest(
        "'messages' must contain at least one message", "messages");
  }
  if (request.has_n() && request.n() != 1) {
    return status::InvalidRequest(
        absl::StrCat("Only n=1 is supported; got n=", request.n()), "n");
  }
  return absl::OkStatus();
}

}  // namespace sluice::ingress

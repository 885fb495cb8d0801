// The parts of http_client.h that do not depend on curl.
#include "libs/upstream/http_client.h"

#include <memory>
#include <utility>

#include "absl/synchronization/notification.h"

namespace sluice::upstream {

absl::string_view HttpResponseHead::Header(absl::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

absl::StatusOr<HttpResult> Fetch(HttpClient& client, HttpRequest request) {
  struct State {
    HttpResult result;
    absl::Status status;
    absl::Notification done;
  };
  auto state = std::make_shared<State>();
  HttpCallbacks callbacks;
  callbacks.on_head = [state](const HttpResponseHead& head) {
    state->result.status = head.status;
    state->result.headers = head.headers;
  };
  callbacks.on_body = [state](absl::string_view bytes) -> bool {
    state->result.body.append(bytes.data(), bytes.size());
    return true;
  };
  callbacks.on_done = [state](absl::Status status) {
    state->status = std::move(status);
    state->done.Notify();
  };
  client.Start(std::move(request), std::move(callbacks));
  state->done.WaitForNotification();
  if (!state->status.ok()) return state->status;
  return std::move(state->result);
}

}  // namespace sluice::upstream

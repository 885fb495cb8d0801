#include "services/ingress/request_admission.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/obs/trace_context.h"
#include "libs/status/errors.h"

namespace sluice::ingress {
namespace {

bool IsSaneRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string RequestIdFor(absl::string_view client_value) {
  if (IsSaneRequestId(client_value)) return std::string(client_value);
  return obs::NewRequestId(obs::ThreadLocalRandom());
}

absl::Status ValidateChatRequest(const sluice::v1::ChatRequest& request) {
  if (request.model().empty()) {
    return status::InvalidRequest("you must provide a model parameter",
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

absl::Status AdmitChatRequest(const ApiKeyAuth& auth,
                              absl::string_view authorization,
                              absl::string_view traceparent,
                              sluice::v1::ChatRequest& request,
                              RequestRecord& record) {
  absl::StatusOr<Caller> caller = auth.Authenticate(authorization);
  if (!caller.ok()) return caller.status();
  sluice::v1::UsageEvent& event = record.event();
  event.set_tenant(caller->tenant);
  event.set_key_id(caller->key_id);
  event.set_model(request.model());
  if (absl::Status valid = ValidateChatRequest(request); !valid.ok()) {
    return valid;
  }
  absl::StatusOr<obs::TraceContext> parent = obs::ParseTraceparent(traceparent);
  obs::TraceContext trace =
      parent.ok() ? obs::ChildSpan(*parent, obs::ThreadLocalRandom())
                  : obs::NewRootTrace(obs::ThreadLocalRandom());
  event.set_trace_id(trace.TraceIdHex());
  sluice::v1::RequestContext* context = request.mutable_context();
  context->set_request_id(record.request_id());
  context->set_tenant(caller->tenant);
  context->set_key_id(caller->key_id);
  context->set_traceparent(obs::FormatTraceparent(trace));
  return absl::OkStatus();
}

}  // namespace sluice::ingress

#include "services/ingress/request_admission.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/obs/trace_context.h"
#include "libs/trace/tracer.h"
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

// Task class names as config writes them: short, lower case, no spaces.
bool IsTaskName(absl::string_view task) {
  if (task.empty() || task.size() > 64) return false;
  for (char c : task) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_' &&
        c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string ClientRequestId(absl::string_view client_request_id_header,
                            absl::string_view request_id_header) {
  if (IsSaneRequestId(client_request_id_header)) {
    return std::string(client_request_id_header);
  }
  if (IsSaneRequestId(request_id_header)) return std::string(request_id_header);
  return "";
}

absl::StatusOr<Caller> AuthenticateHeaders(const ApiKeyAuth& auth,
                                           const RequestHeaders& headers) {
  if (!headers.key_sha256.empty()) {
    return auth.AuthenticateKeyHash(headers.key_sha256);
  }
  return auth.Authenticate(headers.authorization);
}

absl::StatusOr<Caller> AdmitChatRequest(const ApiKeyAuth& auth,
                                        const RequestHeaders& headers,
                                        sluice::v1::ChatRequest& request,
                                        RequestRecord& record) {
  return AdmitChatRequestAs(AuthenticateHeaders(auth, headers), headers,
                            request, record);
}

absl::StatusOr<Caller> AdmitChatRequestAs(absl::StatusOr<Caller> caller,
                                          const RequestHeaders& headers,
                                          sluice::v1::ChatRequest& request,
                                          RequestRecord& record) {
  if (!caller.ok()) return caller.status();
  sluice::v1::UsageEvent& event = record.event();
  event.set_tenant(caller->tenant);
  event.set_key_id(caller->key_id);
  if (absl::Status valid = ValidateChatRequest(request); !valid.ok()) {
    event.set_model(request.model().substr(0, kMaxModelBytes));
    return valid;
  }
  event.set_model(request.model());
  if (!caller->MayUse(request.model())) {
    return status::PermissionDenied(
        absl::StrCat("This API key may not use the model '", request.model(),
                     "'."),
        "model", "model_not_allowed");
  }
  if (!headers.task.empty() && !IsTaskName(headers.task)) {
    return status::InvalidRequest(
        "x-sluice-task must be a task class name: 1 to 64 characters of "
        "a-z, 0-9, '_', '-' or '.'",
        "x-sluice-task");
  }
  if (!headers.cache.empty() && headers.cache != "bypass" &&
      headers.cache != "refresh" && headers.cache != "force") {
    return status::InvalidRequest(
        "x-sluice-cache must be one of bypass, refresh, force",
        "x-sluice-cache");
  }
  int64_t cache_ttl = 0;
  if (!headers.cache_ttl.empty() &&
      (!absl::SimpleAtoi(headers.cache_ttl, &cache_ttl) || cache_ttl <= 0 ||
       cache_ttl > 366 * 24 * 3600)) {
    return status::InvalidRequest(
        "x-sluice-cache-ttl must be a whole number of seconds between 1 and "
        "31622400",
        "x-sluice-cache-ttl");
  }
  absl::StatusOr<obs::TraceContext> parent =
      obs::ParseTraceparent(headers.traceparent);
  obs::TraceContext trace =
      parent.ok() ? obs::ChildSpan(*parent, obs::ThreadLocalRandom())
                  : obs::NewRootTrace(obs::ThreadLocalRandom());
  if (!parent.ok()) {
    trace.flags = trace::Tracer::Process().SampleNewTrace() ? 1 : 0;
  }
  event.set_trace_id(trace.TraceIdHex());
  record.SetTrace(trace, parent.ok() ? parent->SpanIdHex() : std::string());
  sluice::v1::RequestContext* context = request.mutable_context();
  context->set_request_id(record.request_id());
  context->set_tenant(caller->tenant);
  context->set_key_id(caller->key_id);
  context->set_traceparent(obs::FormatTraceparent(trace));
  context->set_task(std::string(headers.task));
  // The request's own x-sluice-cache wins over its key's default, except
  // over a key set to bypass: its operator keeps its answers out of the
  // cache, whatever the client asks (force or refresh would store them).
  context->set_cache_mode(headers.cache.empty() || caller->policy.cache == "bypass"
                              ? caller->policy.cache
                              : std::string(headers.cache));
  context->set_cache_ttl_seconds(cache_ttl);
  context->set_priority(caller->policy.priority);
  context->set_batch(headers.batch);
  return caller;
}

}  // namespace sluice::ingress

#include "libs/host/call_context.h"

#include <chrono>
#include <string>

namespace sluice::host {
namespace {

std::chrono::system_clock::time_point DeadlineAfter(absl::Duration timeout) {
  return std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout);
}

}  // namespace

absl::string_view ClientMetadata(const grpc::CallbackServerContext& context,
                                absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

std::unique_ptr<grpc::ClientContext> ChildContext(
    const grpc::CallbackServerContext& parent, absl::Duration default_timeout) {
  auto context = grpc::ClientContext::FromCallbackServerContext(parent);
  // A parent without a deadline reports the far future.
  if (parent.deadline() - std::chrono::system_clock::now() >
      std::chrono::hours(24 * 365)) {
    context->set_deadline(DeadlineAfter(default_timeout));
  }
  for (absl::string_view key : {kTraceparentKey, kRequestIdKey}) {
    absl::string_view value = ClientMetadata(parent, key);
    if (!value.empty()) {
      context->AddMetadata(std::string(key), std::string(value));
    }
  }
  return context;
}

std::unique_ptr<grpc::ClientContext> RootContext(absl::string_view request_id,
                                                 absl::string_view traceparent,
                                                 absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(DeadlineAfter(timeout));
  if (!request_id.empty()) {
    context->AddMetadata(std::string(kRequestIdKey), std::string(request_id));
  }
  if (!traceparent.empty()) {
    context->AddMetadata(std::string(kTraceparentKey), std::string(traceparent));
  }
  return context;
}

}  // namespace sluice::host

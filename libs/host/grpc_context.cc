#include "libs/host/grpc_context.h"

#include <chrono>
#include <string>

namespace sluice::host {

absl::string_view ClientMetadata(const grpc::CallbackServerContext& context,
                                 absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  // A call without a deadline reports the far future.
  if (context.deadline() - std::chrono::system_clock::now() >
      std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(context.deadline());
}

std::unique_ptr<grpc::ClientContext> ToClientContext(
    const CallContext& context, const InternalAuth* auth) {
  auto client = std::make_unique<grpc::ClientContext>();
  absl::Time deadline =
      std::min(context.deadline(), absl::Now() + kDefaultCallTimeout);
  client->set_deadline(absl::ToChronoTime(deadline));
  auto add = [&client](absl::string_view key, const std::string& value) {
    if (!value.empty()) client->AddMetadata(std::string(key), value);
  };
  add(kRequestIdKey, context.request_id());
  add(kTraceparentKey, context.traceparent());
  add(kTenantKey, context.caller().tenant);
  add(kKeyIdKey, context.caller().key_id);
  if (context.caller().batch) add(kBatchKey, "1");
  if (auth != nullptr) auth->Sign(*client);
  return client;
}

CallContextPtr FromServerContext(const grpc::CallbackServerContext& context) {
  CallContext::Options options;
  options.deadline = DeadlineOf(context);
  options.request_id = std::string(ClientMetadata(context, kRequestIdKey));
  options.traceparent = std::string(ClientMetadata(context, kTraceparentKey));
  options.caller.tenant = std::string(ClientMetadata(context, kTenantKey));
  options.caller.key_id = std::string(ClientMetadata(context, kKeyIdKey));
  options.caller.batch = ClientMetadata(context, kBatchKey) == "1";
  return CallContext::Create(std::move(options));
}

}  // namespace sluice::host

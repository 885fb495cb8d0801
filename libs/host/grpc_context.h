// CallContext ↔ gRPC: what a remote call carries in metadata (deadline,
// request id, traceparent, the caller the edge authenticated, the internal
// secret) and how an incoming call's context is rebuilt from it.
#pragma once

#include <memory>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/host/call_context.h"
#include "libs/host/internal_auth.h"

namespace sluice::host {

inline constexpr absl::string_view kTraceparentKey = "traceparent";
inline constexpr absl::string_view kRequestIdKey = "x-request-id";
inline constexpr absl::string_view kTenantKey = "x-sluice-tenant";
inline constexpr absl::string_view kKeyIdKey = "x-sluice-key-id";
inline constexpr absl::string_view kBatchKey = "x-sluice-batch";

// Outbound calls without a deadline of their own get this one: every RPC
// has a deadline.
inline constexpr absl::Duration kDefaultCallTimeout = absl::Minutes(10);

// A client context for a call made under `context`; `auth` (may be null for
// public APIs) signs it with the internal secret.
std::unique_ptr<grpc::ClientContext> ToClientContext(
    const CallContext& context, const InternalAuth* auth);

// The context of an incoming call: its deadline and metadata. Cancellation
// is wired by the reactor that serves the call (grpc_server_call.h).
CallContextPtr FromServerContext(const grpc::CallbackServerContext& context);

// First value of a metadata key sent by the client, or empty.
absl::string_view ClientMetadata(const grpc::CallbackServerContext& context,
                                 absl::string_view key);

// The caller's deadline as an absl::Time; InfiniteFuture when it set none.
absl::Time DeadlineOf(const grpc::CallbackServerContext& context);

}  // namespace sluice::host

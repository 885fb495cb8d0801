// Outbound call contexts that carry what must travel with a request: the
// deadline, cancellation and the trace context (W3C `traceparent`) and
// request id in metadata.
#pragma once

#include "absl/strings/string_view.h"
#include <memory>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"

namespace sluice::host {

inline constexpr absl::string_view kTraceparentKey = "traceparent";
inline constexpr absl::string_view kRequestIdKey = "x-request-id";

// A client context for a call made while serving `parent`: deadline and
// cancellation propagate; traceparent and request id are copied. When the
// parent has no deadline, `default_timeout` applies.
std::unique_ptr<grpc::ClientContext> ChildContext(
    const grpc::CallbackServerContext& parent, absl::Duration default_timeout);

// A client context for a call that starts a request (ingress).
std::unique_ptr<grpc::ClientContext> RootContext(absl::string_view request_id,
                                                 absl::string_view traceparent,
                                                 absl::Duration timeout);

// First value of a metadata key sent by the client, or empty.
absl::string_view ClientMetadata(const grpc::CallbackServerContext& context,
                                absl::string_view key);

}  // namespace sluice::host

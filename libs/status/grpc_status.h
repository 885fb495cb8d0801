// absl::Status ↔ grpc::Status, keeping the OpenAI error details (carried in
// grpc::Status::error_details) across any number of gRPC hops.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace sluice::status {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace sluice::status

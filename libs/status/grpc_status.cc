// absl::Status ↔ grpc::Status with the Error proto in error_details.
#include "libs/status/grpc_status.h"

#include "libs/status/errors.h"

namespace sluice::status {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  sluice::v1::Error error = ErrorFromStatus(status);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()), error.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  sluice::v1::Error error;
  // Details from a peer that is not ours (a google.rpc.Status, say) may
  // parse as garbage: only a details proto with an HTTP status is ours.
  if (!status.error_details().empty() &&
      error.ParseFromString(status.error_details()) &&
      error.http_status() >= 100 && error.http_status() <= 599) {
    return StatusFromError(error, code);
  }
  return absl::Status(code, status.error_message());
}

}  // namespace sluice::status

#include "libs/status/grpc_status.h"

#include "libs/status/errors.h"

namespace sluice::status {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  sluice::v1::Error error = ErrorFromStatus(status);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      error.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  sluice::v1::Error error;
  if (!status.error_details().empty() &&
      error.ParseFromString(status.error_details())) {
    return WithError(code, error);
  }
  return absl::Status(code, status.error_message());
}

}  // namespace sluice::status

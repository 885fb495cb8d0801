#include "libs/host/grpc_server_call.h"

namespace sluice::host {

grpc::Status UnauthenticatedInternalCall() {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      "internal service: missing or wrong internal secret");
}

}  // namespace sluice::host

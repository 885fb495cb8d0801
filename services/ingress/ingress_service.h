// Ingress as a process hosts it: the public gRPC Gateway, the HTTP API and
// their edge pipeline, calling the router, metering and the cache wherever
// they are.
#pragma once

#include "libs/host/host.h"

namespace sluice::ingress {

inline constexpr char kServiceName[] = "ingress";

host::ServiceDefinition IngressServiceDefinition();

}  // namespace sluice::ingress

// The router as a process hosts it: the component, registered for
// co-hosted callers, and its gRPC face for the others.
#pragma once

#include "libs/host/host.h"

namespace sluice::router {

// Needs the adapters (hosted or remote) and, for caching, the cache
// registered first.
host::ServiceDefinition RouterServiceDefinition();

}  // namespace sluice::router

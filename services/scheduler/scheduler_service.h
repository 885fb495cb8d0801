// The scheduler as a process hosts it: the component, registered under
// "scheduler" with the Adapters interface, for a co-hosted router. It has
// no gRPC face yet: a split deployment hosts it with its router
// (`--services router,scheduler`); a router without one calls the adapters
// directly.
#pragma once

#include "libs/host/host.h"

namespace sluice::scheduler {

// Needs the adapters (hosted or remote) registered first.
host::ServiceDefinition SchedulerServiceDefinition();

}  // namespace sluice::scheduler

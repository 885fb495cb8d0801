// The scheduler as a process hosts it: the component, registered under
// "scheduler" with the Adapters interface, for a co-hosted router. (A
// scheduler in another process than its router is not offered yet: the
// router then calls the adapters directly.)
#pragma once

#include "libs/host/host.h"

namespace sluice::scheduler {

// Needs the adapters (hosted or remote) registered first.
host::ServiceDefinition SchedulerServiceDefinition();

}  // namespace sluice::scheduler

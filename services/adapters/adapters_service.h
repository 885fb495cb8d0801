// The adapters as a process hosts them: the component, registered for
// co-hosted callers, and its gRPC face for the others.
#pragma once

#include "libs/host/host.h"

namespace sluice::adapters {

// Needs the worker (hosted or remote) registered first, if any.
host::ServiceDefinition AdaptersServiceDefinition();

}  // namespace sluice::adapters

// The cache as a process hosts it: the component, registered for
// co-hosted callers, and its gRPC face for the others.
#pragma once

#include "libs/host/host.h"

namespace sluice::cache {

host::ServiceDefinition CacheServiceDefinition();

}  // namespace sluice::cache

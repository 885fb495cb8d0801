// The worker as `sluice serve` hosts it today: a component that answers
// UNIMPLEMENTED until the llama.cpp engine lands (its own issue), so that
// routes to it fall back like routes to any provider that cannot serve.
#pragma once

#include "libs/host/host.h"

namespace sluice::worker {

host::ServiceDefinition WorkerServiceDefinition();

}  // namespace sluice::worker

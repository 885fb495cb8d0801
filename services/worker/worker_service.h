// The worker as `sluice serve` hosts it: the llama.cpp engine on the model
// of `worker.model_path`, or, with no model configured, a worker that
// answers UNIMPLEMENTED so that routes to it fall back like routes to any
// provider that cannot serve.
#pragma once

#include "libs/host/host.h"

namespace sluice::worker {

host::ServiceDefinition WorkerServiceDefinition();

}  // namespace sluice::worker

// `sluice serve`: hosts any set of services in this process until SIGINT or
// SIGTERM (libs/host/host_main.h), and what this binary can reach remotely.
#pragma once

#include <string>
#include <vector>

#include "libs/host/host.h"

namespace sluice::app {

// Every service, in dependency order (each may call those before it), and
// a client of each.
host::HostDefinition AllServices();

// Returns the process exit code.
int RunServe(const std::vector<std::string>& args);

}  // namespace sluice::app

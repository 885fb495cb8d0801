// The main of every sluice binary that serves: `sluice serve` (every
// service) and each service's own binary (services/<name>/main.cc, that
// service alone plus the clients of those it calls).
#pragma once

#include <string>
#include <vector>

#include "libs/host/host.h"

namespace sluice::host {

// Parses the serve flags (host_options.h), starts a Host, prints where it
// listens and "sluice: ready", and runs until SIGINT or SIGTERM, then
// drains and stops. Returns the exit code. SIGINT/SIGTERM must already be
// blocked in every thread (PrepareMain does it).
int RunHostMain(const HostDefinition& definition,
                const std::vector<std::string>& args);

// First thing in main, before any thread starts: blocks the termination
// signals (taken by RunHostMain's wait) and turns off Abseil's Mutex
// deadlock detection (on in Debian's build).
void PrepareMain();

// PrepareMain() then RunHostMain() with argv's flags.
int RunServiceMain(const HostDefinition& definition, int argc, char** argv);

}  // namespace sluice::host

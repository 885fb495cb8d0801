// `sluice serve`: hosts any set of services in this process until SIGINT or
// SIGTERM.
#pragma once

#include <string>
#include <vector>

namespace sluice::app {

// Returns the process exit code. SIGINT/SIGTERM must already be blocked in
// every thread (main does it first thing).
int RunServe(const std::vector<std::string>& args);

// Turns off Abseil's Mutex deadlock detection (on in Debian's build); the
// first thing a main does, before any thread starts.
void DisableMutexDeadlockDetection();

// The main of a single-service binary (services/<name>/main.cc): blocks the
// signals, turns off deadlock detection, then
// `sluice serve --services <service> <argv...>`.
int RunServiceMain(const char* service, int argc, char** argv);

}  // namespace sluice::app

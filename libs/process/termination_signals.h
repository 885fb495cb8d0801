// Graceful shutdown for our processes: SIGINT and SIGTERM are blocked in
// every thread and taken synchronously by the main thread with sigwait, so
// no handler runs on an arbitrary thread.
#pragma once

namespace sluice::process {

// Blocks SIGINT and SIGTERM (inherited by threads started afterwards: call it
// first thing in main) and ignores SIGPIPE.
void BlockTerminationSignals();

// Waits for SIGINT or SIGTERM and returns the signal.
int WaitForTerminationSignal();

}  // namespace sluice::process

// gRPC 1.51 serves the callback API from one process-wide completion queue
// when its iomgr does not poll in the background (Debian's build): every
// channel that made a callback call holds a reference, and when the last
// such channel goes, the queue is shut down, its threads joined and it is
// deleted. Tests that build and destroy a service host per case run that
// teardown between cases and race it (an abort in grpc_cq_internal_unref,
// "prior > 0"; see couchbase-cxx-client#1060). Holding one channel for the
// life of the test process keeps the teardown to a single one, at exit.
#pragma once

namespace sluice::testing {

// Idempotent and thread-safe; call it before the first service host.
void HoldGrpcCallbackQueue();

}  // namespace sluice::testing

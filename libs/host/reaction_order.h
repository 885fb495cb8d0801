// A server reactor's OnCancel and OnDone, in the order gRPC keeps, told to
// ThreadSanitizer.
//
// gRPC runs OnDone only after OnCancel has returned (OnCancel holds one of
// the call's reaction references, dropped after it), but libgrpc++ counts
// those references with its own atomics, which a SLUICE_SANITIZE=thread
// build cannot see: Debian's gRPC is not built with ThreadSanitizer. Then
// what OnDone frees reads as racing with what OnCancel touched. A reactor
// calls CancelReturned(this) last in OnCancel and DoneBegins(this) first in
// OnDone; both compile to nothing in other builds.
#pragma once

#include "absl/base/config.h"

#ifdef ABSL_HAVE_THREAD_SANITIZER
#include <sanitizer/tsan_interface.h>
#endif

namespace sluice::host {

inline void CancelReturned(const void* reactor) {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  __tsan_release(const_cast<void*>(reactor));
#else
  (void)reactor;
#endif
}

inline void DoneBegins(const void* reactor) {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  __tsan_acquire(const_cast<void*>(reactor));
#else
  (void)reactor;
#endif
}

}  // namespace sluice::host

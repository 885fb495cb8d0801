// Names the calling thread (at most 15 characters show), so that top, perf
// and gdb tell sluice's threads apart.
#pragma once

#include <pthread.h>

namespace sluice::process {

inline void NameThisThread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

}  // namespace sluice::process

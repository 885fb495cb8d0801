// See stream_cancels.h.
#include "libs/host/stream_cancels.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"

namespace sluice::host {

std::string NewCallId() {
  unsigned char bytes[16] = {};
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

void StreamCancels::Add(const std::string& id, const CallContextPtr& context) {
  if (id.empty()) return;
  absl::MutexLock lock(&mu_);
  streams_[id] = context;
}

void StreamCancels::Remove(const std::string& id) {
  if (id.empty()) return;
  absl::MutexLock lock(&mu_);
  streams_.erase(id);
}

bool StreamCancels::Cancel(const std::string& id) {
  CallContextPtr context;
  {
    absl::MutexLock lock(&mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return false;
    context = it->second.lock();
  }
  if (context == nullptr) return false;
  context->Cancel();  // hooks run here, with no lock held
  return true;
}

}  // namespace sluice::host

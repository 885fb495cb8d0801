// Streaming answers in flight per tenant, against the tenant's
// max_concurrent_streams: a stream holds a slot from admission until its
// record finishes. Counted per ingress replica (a stream is a connection
// this process holds, which is what the limit protects).
#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/ingress/request_record.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

class StreamSlots {
 public:
  explicit StreamSlots(const sluice::v1::Config& config);

  // OK and a slot given back when `record` finishes, or 429 when the
  // tenant's streams are all taken. Tenants without a limit always pass.
  absl::Status Take(const std::string& tenant, RequestRecord& record);

  int InUse(const std::string& tenant) const;

 private:
  absl::flat_hash_map<std::string, int> limits_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> in_use_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::ingress

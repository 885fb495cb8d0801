// Budgets that hold across restarts: what metering has settled per tenant
// and key (all time) raises the rate gate's budget ledgers, at start and
// then every `interval`. Without it an in-process ledger starts at zero
// when ingress restarts, and a tenant could spend its budget again. A
// ledger is only ever raised: what this replica charged since its last
// read may not be in metering yet.
#pragma once

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/ingress/rate_gate.h"
#include "services/metering/metering.h"

namespace sluice::ingress {

class SpendSync {
 public:
  // Both must outlive this. Starts no thread: see Start.
  SpendSync(metering::Metering* metering, RateGate* gate)
      : metering_(metering), gate_(gate) {}
  // Stops the refresh thread.
  ~SpendSync();

  // Reads metering once, waiting up to `timeout`; whether it succeeded.
  bool SyncNow(absl::Duration timeout);
  // Reads again every `interval` on a thread of its own.
  void Start(absl::Duration interval);
  // Wakes that thread to read now (the admission Redis lost its ledgers).
  // Never blocks.
  void SyncSoon();

  // Whether one read succeeded.
  bool synced() const;

 private:
  metering::Metering* metering_;
  RateGate* gate_;
  mutable absl::Mutex mu_;
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  bool soon_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread refresher_;
};

}  // namespace sluice::ingress

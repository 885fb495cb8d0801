#include "services/ingress/spend_sync.h"

#include <map>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "libs/host/call_context.h"
#include "libs/process/thread_name.h"
#include "spdlog/spdlog.h"

namespace sluice::ingress {

SpendSync::~SpendSync() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (refresher_.joinable()) refresher_.join();
}

bool SpendSync::SyncNow(absl::Duration timeout) {
  // The answer may come after the wait gave up: it lands in shared state.
  struct Answer {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<sluice::v1::ReportResponse> report ABSL_GUARDED_BY(mu) =
        absl::UnknownError("no answer");
  };
  auto answer = std::make_shared<Answer>();
  sluice::v1::ReportQuery query;  // every tenant, all time
  query.add_group_by("tenant");
  query.add_group_by("key");
  metering_->Report(
      host::CallContext::Create({absl::Now() + timeout, "", "", {}}), query,
      [answer](absl::StatusOr<sluice::v1::ReportResponse> report) {
        absl::MutexLock lock(&answer->mu);
        answer->report = std::move(report);
        answer->done = true;
      });
  absl::MutexLock lock(&answer->mu);
  auto done = [&answer]() ABSL_SHARED_LOCKS_REQUIRED(answer->mu) {
    return answer->done;
  };
  if (!answer->mu.AwaitWithTimeout(absl::Condition(&done), timeout) ||
      !answer->report.ok()) {
    spdlog::warn("ingress: budgets not read from metering: {}",
                 answer->done ? answer->report.status().ToString()
                              : "no answer in time");
    return false;
  }
  std::map<std::string, int64_t> tenants, keys;
  for (const sluice::v1::ReportRow& row : answer->report->rows()) {
    tenants[row.tenant()] += row.price_micro_usd();
    if (!row.key_id().empty()) keys[row.key_id()] += row.price_micro_usd();
  }
  gate_->RestoreSpent(tenants, keys);
  absl::MutexLock synced(&mu_);
  synced_ = true;
  return true;
}

void SpendSync::Start(absl::Duration interval) {
  refresher_ = std::thread([this, interval] {
    process::NameThisThread("sluice-spend");
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return soon_ || stopping_;
        };
        mu_.AwaitWithTimeout(absl::Condition(&woken), interval);
        if (stopping_) return;
        soon_ = false;
      }
      SyncNow(absl::Seconds(2));  // short: a stop waits for it
    }
  });
}

void SpendSync::SyncSoon() {
  absl::MutexLock lock(&mu_);
  soon_ = true;
}

bool SpendSync::synced() const {
  absl::MutexLock lock(&mu_);
  return synced_;
}

}  // namespace sluice::ingress

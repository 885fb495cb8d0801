// Fault names and the fault queue; see fault_plan.h.
#include "tools/upstream-sim/fault_plan.h"

#include <utility>

namespace sluice::sim {
namespace {

constexpr std::pair<Fault, absl::string_view> kNames[] = {
    {Fault::kNone, "none"},
    {Fault::k429, "429"},
    {Fault::k500, "500"},
    {Fault::k503, "503"},
    {Fault::k529, "529"},
    {Fault::kReset, "reset"},
    {Fault::kStall, "stall"},
    {Fault::kTruncate, "truncate"},
    {Fault::kMalformed, "malformed"},
    {Fault::kCut, "cut"},
    {Fault::kEchoKey, "echo-key"},
};

}  // namespace

std::optional<Fault> ParseFault(absl::string_view name) {
  for (const auto& [fault, fault_name] : kNames) {
    if (name == fault_name) return fault;
  }
  return std::nullopt;
}

absl::string_view FaultName(Fault fault) {
  for (const auto& [known, name] : kNames) {
    if (known == fault) return name;
  }
  return "none";
}

void FaultPlan::Queue(Fault fault, int count, std::optional<int> after_tokens) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < count; ++i) {
    queued_.push_back(PlannedFault{fault, after_tokens});
  }
}

PlannedFault FaultPlan::Take() {
  absl::MutexLock lock(&mu_);
  if (queued_.empty()) return PlannedFault{fallback_, std::nullopt};
  PlannedFault fault = queued_.front();
  queued_.pop_front();
  return fault;
}

void FaultPlan::Clear() {
  absl::MutexLock lock(&mu_);
  queued_.clear();
}

}  // namespace sluice::sim

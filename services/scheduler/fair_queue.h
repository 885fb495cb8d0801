// Fair queueing across tenants by tokens, for one priority class of one
// target: the Virtual Token Counter of Sheng et al., "Fairness in Serving
// Large Language Models" (OSDI 2024).
//
// Each tenant has a counter of the service it received, in tokens divided
// by its weight (prompt tokens count once, completion tokens twice: they
// cost a server more, as in the paper). The next call to run is the oldest
// of the backlogged tenant with the smallest counter. A tenant that comes
// back after a quiet spell has its counter lifted to the smallest
// backlogged one (or to the last one served, when nobody waits), so it
// cannot bank idle time and then monopolize the target.
//
// Not thread-safe: the target queue that owns it serializes access.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace sluice::scheduler {

// The cost the counters charge: completion tokens weigh more than prompt
// tokens (they run one decode step each).
inline constexpr double kPromptTokenCost = 1.0;
inline constexpr double kCompletionTokenCost = 2.0;

template <typename Item>
class FairQueue {
 public:
  // `weight` > 0: a tenant of weight 3 gets three times the tokens of one of
  // weight 1 under contention. The latest weight seen for a tenant counts.
  void Push(absl::string_view tenant, double weight, Item item) {
    Tenant& t = tenants_[tenant];
    t.weight = weight > 0 ? weight : 1.0;
    if (t.queue.empty()) {
      // Lift a returning tenant (VTC's counter lift).
      std::optional<double> floor = SmallestBacklogged();
      double lift = floor.has_value() ? *floor : last_served_counter_;
      if (t.counter < lift) t.counter = lift;
      ++backlogged_;
    }
    t.queue.push_back(std::move(item));
    ++size_;
  }

  // The call Pop() would return, or null: the oldest of the backlogged
  // tenant with the smallest counter (ties: the tenant name, so the order
  // is reproducible).
  const Item* Peek() const {
    const Tenant* best = BestOf(*this);
    return best == nullptr ? nullptr : &best->queue.front();
  }

  std::optional<Item> Pop() {
    Tenant* best = BestOf(*this);
    if (best == nullptr) return std::nullopt;
    Item item = std::move(best->queue.front());
    best->queue.pop_front();
    --size_;
    if (best->queue.empty()) --backlogged_;
    last_served_counter_ = best->counter;
    return item;
  }

  // Charges `tenant` for tokens it was served (as they become known: the
  // prompt when its call starts, the completion when it ends).
  void Charge(absl::string_view tenant, int64_t prompt_tokens,
              int64_t completion_tokens) {
    auto it = tenants_.find(tenant);
    if (it == tenants_.end()) return;
    Tenant& t = it->second;
    t.counter += (kPromptTokenCost * static_cast<double>(prompt_tokens) +
                  kCompletionTokenCost * static_cast<double>(completion_tokens)) /
                 t.weight;
  }

  // Drops the queued items `drop` selects (a deadline passed, a call was
  // cancelled); calls `dropped` on each.
  template <typename Select, typename Dropped>
  void RemoveIf(Select drop, Dropped dropped) {
    for (auto& [name, t] : tenants_) {
      if (t.queue.empty()) continue;
      for (auto it = t.queue.begin(); it != t.queue.end();) {
        if (drop(*it)) {
          dropped(std::move(*it));
          it = t.queue.erase(it);
          --size_;
        } else {
          ++it;
        }
      }
      if (t.queue.empty()) --backlogged_;
    }
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // For tests and metrics.
  double CounterOf(absl::string_view tenant) const {
    auto it = tenants_.find(tenant);
    return it == tenants_.end() ? 0 : it->second.counter;
  }

 private:
  struct Tenant {
    double weight = 1.0;
    double counter = 0;
    std::deque<Item> queue;
  };

  // Self: FairQueue or const FairQueue (one body for Peek and Pop).
  template <typename Self>
  static auto* BestOf(Self& self) {
    decltype(&self.tenants_.begin()->second) best = nullptr;
    const std::string* best_name = nullptr;
    for (auto& [name, t] : self.tenants_) {
      if (t.queue.empty()) continue;
      if (best == nullptr || t.counter < best->counter ||
          (t.counter == best->counter && name < *best_name)) {
        best = &t;
        best_name = &name;
      }
    }
    return best;
  }

  std::optional<double> SmallestBacklogged() const {
    if (backlogged_ == 0) return std::nullopt;
    std::optional<double> smallest;
    for (const auto& [name, t] : tenants_) {
      if (t.queue.empty()) continue;
      if (!smallest.has_value() || t.counter < *smallest) smallest = t.counter;
    }
    return smallest;
  }

  absl::flat_hash_map<std::string, Tenant> tenants_;
  size_t size_ = 0;
  size_t backlogged_ = 0;
  double last_served_counter_ = 0;
};

}  // namespace sluice::scheduler

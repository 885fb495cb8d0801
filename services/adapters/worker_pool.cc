#include "services/adapters/worker_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "libs/host/call_context.h"
#include "services/worker/prefix_chain.h"

namespace sluice::adapters {
namespace {

// How much a whole prompt found in a worker's cache is worth against load
// (busy requests per slot): a full prefix hit outweighs a worker fuller by
// two slots' worth of requests.
constexpr double kPrefixWeight = 2.0;
// A prompt found nowhere goes where it evicts the fewest cached prompts
// (a small term: load comes first).
constexpr double kOccupancyWeight = 0.25;

}  // namespace

WorkerPool::WorkerPool(std::vector<Member> members, bool prefix_aware,
                       absl::Duration refresh)
    : members_(std::move(members)),
      prefix_aware_(prefix_aware),
      refresh_(refresh),
      states_(members_.size()) {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  refresher_.join();
}

WorkerPool::Choice WorkerPool::Pick(const sluice::v1::ChatRequest& request) {
  std::vector<worker::PrefixLink> chain;
  if (prefix_aware_) chain = worker::PrefixChain(request);
  const int64_t total_bytes = chain.empty() ? 0 : chain.back().bytes;
  absl::MutexLock lock(&mu_);
  const size_t n = members_.size();
  int best = -1;
  double best_score = 0;
  int64_t best_matched = 0;
  double best_load = 0;
  for (size_t k = 0; k < n; ++k) {
    // Ties go round: start at a rotating index.
    size_t i = (next_ + k) % n;
    const State& state = states_[i];
    if (!state.reachable && best >= 0) continue;
    int64_t matched = 0;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      if (state.prefixes.contains(it->hash)) {
        matched = it->bytes;
        break;
      }
    }
    double load = static_cast<double>(state.in_flight + state.busy_elsewhere) /
                  std::max(1, state.slots);
    double fraction = total_bytes > 0 ? static_cast<double>(matched) /
                                            static_cast<double>(total_bytes)
                                      : 0.0;
    double occupancy = static_cast<double>(state.cached_prompts) /
                       std::max(1, state.prompt_room);
    double score = prefix_aware_ ? kPrefixWeight * fraction - load -
                                       kOccupancyWeight * occupancy
                                 : 0.0;
    if (best < 0 || (!states_[best].reachable && state.reachable) ||
        score > best_score) {
      best = static_cast<int>(i);
      best_score = score;
      best_matched = matched;
      best_load = load;
    }
  }
  next_ = (next_ + 1) % n;
  State& chosen = states_[best];
  ++chosen.in_flight;
  ++chosen.picks;
  if (best_matched == 0) {
    chosen.cached_prompts = std::min(chosen.prompt_room, chosen.cached_prompts + 1);
  }
  // The worker will hold this prompt's prefixes from now on.
  State::Sent sent{absl::Now(), {}, best_matched == 0};
  for (const worker::PrefixLink& link : chain) {
    chosen.prefixes.insert(link.hash);
    sent.chain.push_back(link.hash);
  }
  chosen.sent.push_back(std::move(sent));
  Choice choice;
  choice.index = best;
  choice.worker = members_[best].worker.get();
  choice.reason =
      prefix_aware_
          ? absl::StrFormat("worker=%s prefix=%d/%dB load=%.2f",
                            members_[best].name, best_matched, total_bytes,
                            best_load)
          : absl::StrFormat("worker=%s round_robin", members_[best].name);
  return choice;
}

void WorkerPool::Release(int index) {
  absl::MutexLock lock(&mu_);
  if (index >= 0 && states_[index].in_flight > 0) --states_[index].in_flight;
}

void WorkerPool::RefreshLoop() {
  for (;;) {
    RefreshOnce();
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_;
    };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), refresh_)) return;
  }
}

void WorkerPool::RefreshOnce() {
  struct Answer {
    absl::Notification done;
    absl::StatusOr<sluice::v1::WorkerInfo> info;
  };
  std::vector<std::shared_ptr<Answer>> answers;
  // Ours in flight when asked, and picks since: all of them may be in
  // the worker's count; only the rest came from other routers.
  std::vector<int64_t> ours;
  {
    absl::MutexLock lock(&mu_);
    for (const State& state : states_) ours.push_back(state.in_flight - state.picks);
  }
  for (const Member& member : members_) {
    auto answer = std::make_shared<Answer>();
    answers.push_back(answer);
    member.worker->Info(
        host::CallContext::Create({absl::Now() + absl::Seconds(1)}),
        [answer](absl::StatusOr<sluice::v1::WorkerInfo> info) {
          answer->info = std::move(info);
          answer->done.Notify();
        });
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    bool answered = answers[i]->done.WaitForNotificationWithTimeout(absl::Seconds(2));
    absl::MutexLock lock(&mu_);
    State& state = states_[i];
    const absl::Time forget = absl::Now() - absl::Seconds(10);
    if (!answered || !answers[i]->info.ok()) {
      state.reachable = false;
      std::erase_if(state.sent, [&](const State::Sent& s) { return s.when < forget; });
      continue;
    }
    const sluice::v1::WorkerInfo& info = *answers[i]->info;
    state.reachable = true;
    state.slots = std::max(1, info.slots());
    state.prompt_room = state.slots + std::max(0, info.cache_slots());
    state.busy_elsewhere = static_cast<int>(std::max<int64_t>(
        0, info.running() + info.waiting() - (ours[i] + state.picks)));
    // The worker's own account, and what we sent it that it does not show
    // yet.
    state.prefixes.clear();
    state.prefixes.insert(info.prefix_hashes().begin(), info.prefix_hashes().end());
    state.cached_prompts = info.cached_prompts();
    // A prompt we sent counts as ours until the worker's account shows it
    // (it has started there), or for a while if it never does (it failed).
    std::erase_if(state.sent, [&](const State::Sent& s) {
      return s.when < forget ||
             (!s.chain.empty() && state.prefixes.contains(s.chain.back()));
    });
    for (const State::Sent& s : state.sent) {
      state.prefixes.insert(s.chain.begin(), s.chain.end());
      if (s.cold) ++state.cached_prompts;
    }
    state.cached_prompts = std::min(state.cached_prompts, state.prompt_room);
  }
}

}  // namespace sluice::adapters

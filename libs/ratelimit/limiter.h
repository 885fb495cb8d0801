// Ingress admission: requests-per-window and tokens-per-window limits and
// USD budgets for API keys and their tenants, checked and charged together
// by reservation. Reserve charges an estimate to every subject at once (all
// or nothing); Settle corrects the charge to the real usage when the answer
// ends (a refund or an extra charge).
//
// Rate limits use a sliding window approximated by two fixed windows: the
// count of the previous window, weighted by the part of it still inside the
// sliding window, plus the count of the current one. Budgets are running
// totals in micro-dollars, not windows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sluice::redis {
class RedisClient;
}

namespace sluice::ratelimit {

// 0 means unlimited.
struct Limits {
  int64_t rpm = 0;  // requests per window
  int64_t tpm = 0;  // tokens per window
  int64_t budget_micro_usd = 0;
};

// Something limits apply to, e.g. "key:abc" or "tenant:acme".
struct Subject {
  std::string id;
  Limits limits;
};

// A request's cost: estimated at Reserve, actual at Settle.
struct Ask {
  int64_t requests = 1;
  int64_t tokens = 0;  // prompt + max_tokens when estimated
  int64_t micro_usd = 0;
};

inline constexpr char kRateLimitExceeded[] = "rate_limit_exceeded";
inline constexpr char kInsufficientQuota[] = "insufficient_quota";
// Denied because the budget ledgers are not known (a Redis that lost them);
// denied_limit "ledger". Not the caller's doing: answer "retry shortly"
// and restore them (Limiter::RestoreLedgers).
inline constexpr char kLedgersUnknown[] = "ledgers_unknown";

struct Verdict {
  bool admitted = false;
  // When denied: the subject that denied, which of its limits ("rpm",
  // "tpm", "budget") and why (kRateLimitExceeded, kInsufficientQuota).
  std::string denied_by;
  std::string denied_limit;
  std::string reason;
  // When denied by a rate limit: the wait after which the same ask fits if
  // nothing else is admitted meanwhile; InfiniteDuration when the ask is
  // larger than the limit itself. Zero for budgets (not worth retrying).
  absl::Duration retry_after = absl::ZeroDuration();
  // For x-ratelimit-* headers, from the subject with the least room left
  // in each dimension, after this request's charge when admitted. A limit
  // of 0 means no subject limits that dimension (omit the headers). A
  // reset is the time until the remaining count is back to the limit.
  int64_t limit_requests = 0, remaining_requests = 0;
  int64_t limit_tokens = 0, remaining_tokens = 0;
  absl::Duration reset_requests = absl::ZeroDuration();
  absl::Duration reset_tokens = absl::ZeroDuration();
  // When admitted: what to pass to Settle.
  std::string reservation;
};

struct LimiterOptions {
  // The rate limits' window; every limiter sharing a Redis must agree.
  absl::Duration window = absl::Seconds(60);
  // How long an unsettled reservation can still be settled; later, its
  // estimate stays charged.
  absl::Duration reservation_ttl = absl::Hours(1);
  // Prefix of every Redis key the limiter writes.
  std::string key_prefix = "sluice:rl:";
  // Redis: an ask of a subject with a budget is denied (kLedgersUnknown)
  // until RestoreLedgers has run on this Redis: a Redis restarted empty
  // would otherwise start every ledger at zero, and every budget could be
  // spent again.
  bool require_known_ledgers = false;
};

using VerdictCallback = std::function<void(absl::StatusOr<Verdict>)>;
using SettleCallback = std::function<void(absl::Status)>;

class Limiter {
 public:
  virtual ~Limiter() = default;

  // Admits `ask` only if every subject has room in every limit, and then
  // charges all of them. A status is an infrastructure failure (Redis down
  // or slow), not a denial: the caller decides to fail open or closed.
  // `done` runs exactly once, possibly on another thread. `id`, when not
  // empty, is the reservation's id (NewReservationId()): a Reserve that
  // failed waiting for Redis's reply may still have run there, and
  // settling that id then corrects its charge. (The local limiter, which
  // cannot fail so, picks its own.)
  virtual void Reserve(const std::vector<Subject>& subjects, const Ask& ask,
                       VerdictCallback done, std::string id = "") = 0;

  // Replaces a reservation's estimate by `actual`. NOT_FOUND for a
  // reservation unknown, already settled or older than reservation_ttl.
  virtual void Settle(const std::string& reservation, const Ask& actual,
                      SettleCallback done) = 0;

  // Raises `subject`'s budget spend to at least `micro_usd` (what metering
  // has settled for it, over every replica and restart); never lowers it.
  // Redis's shared ledger outlives restarts, but not what was spent while
  // it was unreachable (admitted by each replica's own limiter): this
  // brings that in.
  virtual void RaiseSpent(const std::string& subject, int64_t micro_usd) = 0;

  // RaiseSpent for each (subject, micro-USD), all at once, and from then
  // on the ledgers are known (see require_known_ledgers).
  virtual void RestoreLedgers(
      const std::vector<std::pair<std::string, int64_t>>& spent) {
    for (const auto& [subject, micro_usd] : spent) {
      RaiseSpent(subject, micro_usd);
    }
  }
};

using LimiterPtr = std::unique_ptr<Limiter>;

// 128 random bits in hex: a reservation id unique across replicas.
std::string NewReservationId();

// One Lua script per Reserve and per Settle, timed by the Redis server's
// clock, so any number of replicas share the limits exactly. `redis` must
// outlive the limiter.
LimiterPtr NewRedisLimiter(redis::RedisClient* redis,
                           LimiterOptions options = {});

// The same semantics within one process; thread-safe; callbacks run on the
// caller's thread before Reserve/Settle return.
using Clock = std::function<absl::Time()>;
LimiterPtr NewLocalLimiter(
    LimiterOptions options = {}, Clock clock = [] { return absl::Now(); });

}  // namespace sluice::ratelimit

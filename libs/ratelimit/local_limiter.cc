// The in-process limiter: the Redis scripts' semantics over maps guarded by
// one mutex. Mirrors redis_limiter_script.cc; the parity test runs both.
#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/ratelimit/limiter.h"
#include "libs/ratelimit/sliding_window.h"

namespace sluice::ratelimit {
namespace {

struct Counts {
  int64_t requests = 0;
  int64_t tokens = 0;
};

// One subject's two fixed windows.
struct Windows {
  int64_t index = 0;
  Counts current, previous;

  void RollTo(int64_t now_index) {
    if (index == now_index) return;
    previous = index == now_index - 1 ? current : Counts{};
    current = Counts{};
    index = now_index;
  }
};

struct Reservation {
  int64_t window_index = 0;
  Ask ask;
  std::vector<std::string> rated, budgeted;
  absl::Time expires;
};

absl::Duration Millis(int64_t ms) {
  return ms < 0 ? absl::InfiniteDuration() : absl::Milliseconds(ms);
}

void AddClamped(int64_t& value, int64_t delta) {
  value = std::max<int64_t>(0, value + delta);
}

class LocalLimiter : public Limiter {
 public:
  LocalLimiter(LimiterOptions options, Clock clock)
      : window_ms_(absl::ToInt64Milliseconds(options.window)),
        options_(std::move(options)),
        clock_(std::move(clock)) {}

  // ratelimit::Limiter
  void Reserve(const std::vector<Subject>& subjects, const Ask& ask,
               VerdictCallback done, std::string /*id*/) override {
    done(ReserveNow(subjects, ask));
  }

  void RaiseSpent(const std::string& subject, int64_t micro_usd) override {
    absl::MutexLock lock(&mu_);
    int64_t& spent = budgets_[subject];
    spent = std::max(spent, micro_usd);
  }

  void Settle(const std::string& reservation, const Ask& actual,
              SettleCallback done) override {
    done(SettleNow(reservation, actual));
  }

 private:
  Verdict ReserveNow(const std::vector<Subject>& subjects, const Ask& ask) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_();
    const int64_t now_ms = absl::ToUnixMillis(now);
    const int64_t w = now_ms / window_ms_;
    const WindowPosition at{window_ms_, now_ms - w * window_ms_};
    MaybeSweep(now, w);

    Verdict v;
    int64_t retry = 0;
    auto deny = [&](const Subject& s, const char* limit, int64_t x) {
      v.denied_by = s.id;
      v.denied_limit = limit;
      retry = x;
    };
    for (const Subject& s : subjects) {
      if (Rated(s)) {
        Windows& win = windows_[s.id];
        win.RollTo(w);
        const struct {
          int64_t limit;
          WindowCounts counts;
          int64_t cost;
          const char* name;
        } dims[] = {{s.limits.rpm,
                     {win.current.requests, win.previous.requests},
                     ask.requests,
                     "rpm"},
                    {s.limits.tpm,
                     {win.current.tokens, win.previous.tokens},
                     ask.tokens,
                     "tpm"}};
        for (const auto& d : dims) {
          if (d.limit <= 0 || Fits(d.limit, d.counts, d.cost, at) ||
              v.denied_limit == "budget") {
            continue;
          }
          const int64_t x = RetryAfterMs(d.limit, d.counts, d.cost, at);
          if (v.denied_by.empty() || (retry >= 0 && (x < 0 || x > retry))) {
            deny(s, d.name, x);
          }
        }
      }
      if (s.limits.budget_micro_usd > 0 && v.denied_limit != "budget" &&
          budgets_[s.id] + ask.micro_usd > s.limits.budget_micro_usd) {
        deny(s, "budget", 0);
      }
    }

    v.admitted = v.denied_by.empty();
    if (v.admitted) {
      Reservation r{w, ask, {}, {}, now + options_.reservation_ttl};
      for (const Subject& s : subjects) {
        if (Rated(s)) {
          Counts& c = windows_[s.id].current;
          c.requests += ask.requests;
          c.tokens += ask.tokens;
          r.rated.push_back(s.id);
        }
        if (s.limits.budget_micro_usd > 0) {
          budgets_[s.id] += ask.micro_usd;
          r.budgeted.push_back(s.id);
        }
      }
      v.reservation = absl::StrCat(++seq_);
      reservations_[v.reservation] = std::move(r);
    } else {
      v.reason =
          v.denied_limit == "budget" ? kInsufficientQuota : kRateLimitExceeded;
      v.retry_after = Millis(retry);
    }
    FillHeaders(subjects, at, v);
    return v;
  }

  // Header values from the subject with the least room in each dimension.
  void FillHeaders(const std::vector<Subject>& subjects, WindowPosition at,
                   Verdict& v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bool have_r = false, have_t = false;
    for (const Subject& s : subjects) {
      if (!Rated(s)) continue;
      const Windows& win = windows_[s.id];
      const WindowCounts r{win.current.requests, win.previous.requests};
      const WindowCounts t{win.current.tokens, win.previous.tokens};
      if (s.limits.rpm > 0) {
        const int64_t left = Remaining(s.limits.rpm, r, at);
        if (!have_r || left < v.remaining_requests) {
          have_r = true;
          v.limit_requests = s.limits.rpm;
          v.remaining_requests = left;
          v.reset_requests = Millis(ResetMs(r, at));
        }
      }
      if (s.limits.tpm > 0) {
        const int64_t left = Remaining(s.limits.tpm, t, at);
        if (!have_t || left < v.remaining_tokens) {
          have_t = true;
          v.limit_tokens = s.limits.tpm;
          v.remaining_tokens = left;
          v.reset_tokens = Millis(ResetMs(t, at));
        }
      }
    }
  }

  absl::Status SettleNow(const std::string& id, const Ask& actual) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_();
    auto it = reservations_.find(id);
    if (it == reservations_.end() || it->second.expires <= now) {
      return absl::NotFoundError(absl::StrCat("no reservation ", id));
    }
    const Reservation r = std::move(it->second);
    reservations_.erase(it);
    const int64_t w = absl::ToUnixMillis(now) / window_ms_;
    // A window that left the sliding window no longer matters.
    if (r.window_index >= w - 1) {
      for (const std::string& subject : r.rated) {
        auto win = windows_.find(subject);
        if (win == windows_.end()) continue;
        win->second.RollTo(w);
        Counts* c =
            r.window_index == w ? &win->second.current : &win->second.previous;
        AddClamped(c->requests, actual.requests - r.ask.requests);
        AddClamped(c->tokens, actual.tokens - r.ask.tokens);
      }
    }
    for (const std::string& subject : r.budgeted) {
      AddClamped(budgets_[subject], actual.micro_usd - r.ask.micro_usd);
    }
    return absl::OkStatus();
  }

  static bool Rated(const Subject& s) {
    return s.limits.rpm > 0 || s.limits.tpm > 0;
  }

  // Now and then, forgets idle subjects and lapsed reservations, as Redis'
  // expiries do.
  void MaybeSweep(absl::Time now, int64_t w)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (++calls_ % 4096 != 0) return;
    absl::erase_if(windows_,
                   [w](const auto& kv) { return kv.second.index < w - 1; });
    absl::erase_if(reservations_,
                   [now](const auto& kv) { return kv.second.expires <= now; });
  }

  const int64_t window_ms_;
  const LimiterOptions options_;
  const Clock clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Windows> windows_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> budgets_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Reservation> reservations_
      ABSL_GUARDED_BY(mu_);
  int64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

LimiterPtr NewLocalLimiter(LimiterOptions options, Clock clock) {
  return std::make_unique<LocalLimiter>(std::move(options), std::move(clock));
}

}  // namespace sluice::ratelimit

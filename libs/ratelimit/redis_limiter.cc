// The Redis limiter: builds the scripts' keys and arguments and decodes
// their replies. All the logic is in redis_limiter_script.cc.
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "libs/ratelimit/limiter.h"
#include "libs/ratelimit/redis_limiter_script.h"
#include "libs/redis/redis_client.h"

namespace sluice::ratelimit {
namespace {

using redis::RedisReply;

absl::Duration Millis(int64_t ms) {
  return ms < 0 ? absl::InfiniteDuration() : absl::Milliseconds(ms);
}

absl::StatusOr<Verdict> DecodeVerdict(const std::vector<Subject>& subjects,
                                      absl::StatusOr<RedisReply> reply) {
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) {
    return absl::InternalError(absl::StrCat("reserve script: ", reply->str));
  }
  const auto& e = reply->elements;
  if (reply->type != RedisReply::Type::kArray || e.size() != 11) {
    return absl::InternalError("reserve script: unexpected reply");
  }
  Verdict v;
  v.admitted = e[0].integer == 1;
  v.reservation = e[1].str;
  const int64_t denied = e[2].integer;
  if (denied > 0 && denied <= static_cast<int64_t>(subjects.size())) {
    v.denied_by = subjects[denied - 1].id;
    v.denied_limit = e[3].str;
    v.reason = v.denied_limit == "budget"   ? kInsufficientQuota
               : v.denied_limit == "ledger" ? kLedgersUnknown
                                            : kRateLimitExceeded;
    v.retry_after = Millis(e[4].integer);
  }
  v.limit_requests = e[5].integer;
  v.remaining_requests = e[6].integer;
  v.reset_requests = Millis(e[7].integer);
  v.limit_tokens = e[8].integer;
  v.remaining_tokens = e[9].integer;
  v.reset_tokens = Millis(e[10].integer);
  return v;
}

class RedisLimiter : public Limiter {
 public:
  RedisLimiter(redis::RedisClient* redis, LimiterOptions options)
      : redis_(redis), options_(std::move(options)) {}

  // ratelimit::Limiter
  void Reserve(const std::vector<Subject>& subjects, const Ask& ask,
               VerdictCallback done, std::string id) override {
    if (id.empty()) id = NewReservationId();
    std::vector<std::string> keys = {SeqKey()};
    std::vector<std::string> args = {
        absl::StrCat(absl::ToInt64Milliseconds(options_.window)),
        absl::StrCat(absl::ToInt64Milliseconds(options_.reservation_ttl)),
        absl::StrCat(ask.requests), absl::StrCat(ask.tokens),
        absl::StrCat(ask.micro_usd)};
    for (const Subject& s : subjects) {
      keys.push_back(absl::StrCat(options_.key_prefix, s.id));
      args.push_back(absl::StrCat(s.limits.rpm));
      args.push_back(absl::StrCat(s.limits.tpm));
      args.push_back(absl::StrCat(s.limits.budget_micro_usd));
    }
    args.push_back(std::move(id));
    args.push_back(options_.require_known_ledgers ? "1" : "0");
    redis_->Eval(
        kReserveScript, std::move(keys), std::move(args),
        [subjects, done = std::move(done)](absl::StatusOr<RedisReply> reply) {
          done(DecodeVerdict(subjects, std::move(reply)));
        });
  }

  void RaiseSpent(const std::string& subject, int64_t micro_usd) override {
    redis_->Eval(kRaiseSpentScript,
                 {absl::StrCat(options_.key_prefix, subject, ":budget")},
                 {absl::StrCat(micro_usd)},
                 [](absl::StatusOr<RedisReply>) {});  // again in 30 s
  }

  void RestoreLedgers(
      const std::vector<std::pair<std::string, int64_t>>& spent) override {
    std::vector<std::string> keys = {
        absl::StrCat(SeqKey(), ":ledgers")};
    std::vector<std::string> args;
    for (const auto& [subject, micro_usd] : spent) {
      keys.push_back(absl::StrCat(options_.key_prefix, subject, ":budget"));
      args.push_back(absl::StrCat(micro_usd));
    }
    redis_->Eval(kRestoreLedgersScript, std::move(keys), std::move(args),
                 [](absl::StatusOr<RedisReply>) {});  // again at next sync
  }

  void Settle(const std::string& reservation, const Ask& actual,
              SettleCallback done) override {
    redis_->Eval(kSettleScript, {absl::StrCat(SeqKey(), ":", reservation)},
                 {absl::StrCat(actual.requests), absl::StrCat(actual.tokens),
                  absl::StrCat(actual.micro_usd)},
                 [reservation,
                  done = std::move(done)](absl::StatusOr<RedisReply> reply) {
                   if (!reply.ok()) return done(reply.status());
                   if (reply->is_error()) {
                     return done(absl::InternalError(
                         absl::StrCat("settle script: ", reply->str)));
                   }
                   if (reply->integer != 1) {
                     return done(absl::NotFoundError(
                         absl::StrCat("no reservation ", reservation)));
                   }
                   done(absl::OkStatus());
                 });
  }

 private:
  std::string SeqKey() const {
    return absl::StrCat(options_.key_prefix, "seq");
  }

  redis::RedisClient* redis_;
  const LimiterOptions options_;
};

}  // namespace

std::string NewReservationId() {
  thread_local absl::BitGen bits;
  return absl::StrCat(
      absl::Hex(absl::Uniform<uint64_t>(bits), absl::kZeroPad16),
      absl::Hex(absl::Uniform<uint64_t>(bits), absl::kZeroPad16));
}

LimiterPtr NewRedisLimiter(redis::RedisClient* redis, LimiterOptions options) {
  return std::make_unique<RedisLimiter>(redis, std::move(options));
}

}  // namespace sluice::ratelimit

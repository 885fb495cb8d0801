#include "services/scheduler/shared_gate.h"

#include <atomic>

#include "absl/strings/str_cat.h"

namespace sluice::scheduler {
namespace {

// KEYS: leases (zset), bucket (hash). ARGV: cap, lease id, lease ttl ms,
// rpm, tpm, tokens. Returns {1, 0} when granted (the lease taken, the
// buckets charged), else {0, ms to wait} (0: the cap is full).
constexpr char kAcquire[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= cap then return {0, 0} end
end
local rpm, tpm, tokens = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if rpm > 0 or tpm > 0 then
  local b = redis.call('HMGET', KEYS[2], 'r', 't', 'ts')
  local ts = tonumber(b[3]) or now
  local r = tonumber(b[1]) or rpm
  local k = tonumber(b[2]) or tpm
  local dt = math.max(0, now - ts)
  if rpm > 0 then r = math.min(rpm, r + rpm * dt / 60000) end
  if tpm > 0 then k = math.min(tpm, k + tpm * dt / 60000) end
  local wait = 0
  if rpm > 0 and r < 1 then wait = math.max(wait, math.ceil((1 - r) * 60000 / rpm)) end
  local want = math.min(tokens, tpm)
  if tpm > 0 and k < want then wait = math.max(wait, math.ceil((want - k) * 60000 / tpm)) end
  if wait == 0 then
    if rpm > 0 then r = r - 1 end
    if tpm > 0 then k = k - tokens end
  end
  redis.call('HSET', KEYS[2], 'r', tostring(r), 't', tostring(k), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[2], 120000)
  if wait > 0 then return {0, wait} end
end
if cap > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {1, 0}
)lua";

// KEYS: leases, bucket. ARGV: lease id, tokens to give back (may be < 0).
constexpr char kRelease[] = R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
local back = tonumber(ARGV[2])
if back ~= 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HINCRBYFLOAT', KEYS[2], 't', back)
end
return 1
)lua";

// While the cap is full: how soon to ask again.
constexpr absl::Duration kFullCapPoll = absl::Milliseconds(20);

std::string NewLeaseId() {
  static std::atomic<uint64_t> next{0};
  return absl::StrCat(absl::ToUnixNanos(absl::Now()), "-", next.fetch_add(1));
}

}  // namespace

SharedGate::SharedGate(redis::RedisClient* redis, std::string provider,
                       const TargetLimitsConfig& limits, absl::Duration lease_ttl)
    : redis_(redis),
      leases_key_(absl::StrCat("sluice:sched:{", provider, "}:leases")),
      bucket_key_(absl::StrCat("sluice:sched:{", provider, "}:bucket")),
      limits_(limits),
      lease_ttl_(lease_ttl) {}

void SharedGate::Acquire(int64_t tokens,
                         std::function<void(absl::StatusOr<Answer>)> done) {
  std::string lease = NewLeaseId();
  redis_->Eval(
      kAcquire, {leases_key_, bucket_key_},
      {absl::StrCat(limits_.max_concurrency), lease,
       absl::StrCat(absl::ToInt64Milliseconds(lease_ttl_)), absl::StrCat(limits_.rpm),
       absl::StrCat(limits_.tpm), absl::StrCat(tokens)},
      [lease, done = std::move(done)](absl::StatusOr<redis::RedisReply> reply) {
        if (!reply.ok()) return done(reply.status());
        if (reply->type != redis::RedisReply::Type::kArray || reply->elements.size() != 2) {
          return done(absl::InternalError(
              absl::StrCat("shared provider limits: unexpected reply ", reply->str)));
        }
        Answer answer;
        answer.granted = reply->elements[0].integer == 1;
        if (answer.granted) {
          answer.lease = lease;
        } else {
          int64_t wait_ms = reply->elements[1].integer;
          answer.retry_after = wait_ms > 0 ? absl::Milliseconds(wait_ms) : kFullCapPoll;
        }
        done(std::move(answer));
      });
}

void SharedGate::Release(const std::string& lease, int64_t charged_tokens,
                         int64_t used_tokens) {
  int64_t back = limits_.tpm > 0 ? charged_tokens - used_tokens : 0;
  redis_->Eval(kRelease, {leases_key_, bucket_key_}, {lease, absl::StrCat(back)},
               [](absl::StatusOr<redis::RedisReply>) {});
}

}  // namespace sluice::scheduler

#include "services/scheduler/shared_gate.h"

#include <atomic>

#include "absl/strings/str_cat.h"

namespace sluice::scheduler {
namespace {

// KEYS: leases (zset), batch leases (zset), bucket (hash). ARGV: cap,
// batch cap (0: the calls are interactive), lease ttl ms, rpm, tpm, then
// a lease id and its tokens per call. Grants the first calls that fit, in
// order: takes their leases (batch ones in both sets) and charges the
// buckets. Returns {granted, ms to wait for the next} (0: a cap is full,
// or all were granted).
constexpr char kAcquire[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap, batch_cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local rpm, tpm = tonumber(ARGV[4]), tonumber(ARGV[5])
local room = (#ARGV - 5) / 2
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  room = math.min(room, cap - redis.call('ZCARD', KEYS[1]))
end
if batch_cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  room = math.min(room, batch_cap - redis.call('ZCARD', KEYS[2]))
end
if room <= 0 then return {0, 0} end
local granted, wait = room, 0
if rpm > 0 or tpm > 0 then
  local b = redis.call('HMGET', KEYS[3], 'r', 't', 'ts')
  local ts = tonumber(b[3]) or now
  local r = tonumber(b[1]) or rpm
  local k = tonumber(b[2]) or tpm
  local dt = math.max(0, now - ts)
  if rpm > 0 then r = math.min(rpm, r + rpm * dt / 60000) end
  if tpm > 0 then k = math.min(tpm, k + tpm * dt / 60000) end
  granted = 0
  while granted < room do
    local tokens = tonumber(ARGV[7 + 2 * granted])
    if rpm > 0 and r < 1 then wait = math.ceil((1 - r) * 60000 / rpm) end
    local want = math.min(tokens, tpm)
    if tpm > 0 and k < want then
      wait = math.max(wait, math.ceil((want - k) * 60000 / tpm))
    end
    if wait > 0 then break end
    if rpm > 0 then r = r - 1 end
    if tpm > 0 then k = k - tokens end
    granted = granted + 1
  end
  redis.call('HSET', KEYS[3], 'r', tostring(r), 't', tostring(k), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[3], 120000)
end
if granted > 0 then
  for i = 0, granted - 1 do
    local lease = ARGV[6 + 2 * i]
    if cap > 0 then redis.call('ZADD', KEYS[1], now + ttl, lease) end
    if batch_cap > 0 then redis.call('ZADD', KEYS[2], now + ttl, lease) end
  end
  if cap > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
  if batch_cap > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return {granted, wait}
)lua";

// KEYS: leases, batch leases, bucket. ARGV: lease id, tokens to give back
// (may be < 0).
constexpr char kRelease[] = R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local back = tonumber(ARGV[2])
if back ~= 0 and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HINCRBYFLOAT', KEYS[3], 't', back)
end
return 1
)lua";

// While a cap is full: how soon to ask again.
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
      batch_leases_key_(absl::StrCat("sluice:sched:{", provider, "}:batch-leases")),
      bucket_key_(absl::StrCat("sluice:sched:{", provider, "}:bucket")),
      limits_(limits),
      lease_ttl_(lease_ttl) {}

void SharedGate::Acquire(const std::vector<int64_t>& tokens, bool batch,
                         std::function<void(absl::StatusOr<Answer>)> done) {
  const int cap = limits_.max_concurrency;
  const int batch_cap = batch && cap > 1 ? cap - 1 : 0;
  std::vector<std::string> args = {
      absl::StrCat(cap), absl::StrCat(batch_cap),
      absl::StrCat(absl::ToInt64Milliseconds(lease_ttl_)), absl::StrCat(limits_.rpm),
      absl::StrCat(limits_.tpm)};
  std::vector<std::string> leases;
  leases.reserve(tokens.size());
  for (int64_t charge : tokens) {
    leases.push_back(NewLeaseId());
    args.push_back(leases.back());
    args.push_back(absl::StrCat(charge));
  }
  redis_->Eval(
      kAcquire, {leases_key_, batch_leases_key_, bucket_key_}, std::move(args),
      [leases = std::move(leases),
       done = std::move(done)](absl::StatusOr<redis::RedisReply> reply) mutable {
        if (!reply.ok()) return done(reply.status());
        if (reply->type != redis::RedisReply::Type::kArray || reply->elements.size() != 2 ||
            reply->elements[0].integer < 0 ||
            reply->elements[0].integer > static_cast<int64_t>(leases.size())) {
          return done(absl::InternalError(
              absl::StrCat("shared provider limits: unexpected reply ", reply->str)));
        }
        Answer answer;
        leases.resize(static_cast<size_t>(reply->elements[0].integer));
        answer.leases = std::move(leases);
        int64_t wait_ms = reply->elements[1].integer;
        answer.retry_after = wait_ms > 0 ? absl::Milliseconds(wait_ms) : kFullCapPoll;
        done(std::move(answer));
      });
}

void SharedGate::Release(const std::string& lease, int64_t charged_tokens,
                         int64_t used_tokens) {
  int64_t back = limits_.tpm > 0 ? charged_tokens - used_tokens : 0;
  redis_->Eval(kRelease, {leases_key_, batch_leases_key_, bucket_key_},
               {lease, absl::StrCat(back)}, [](absl::StatusOr<redis::RedisReply>) {});
}

}  // namespace sluice::scheduler

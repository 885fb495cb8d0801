#include "services/cache/invalidation_log.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/obs/logging.h"
#include "libs/process/thread_name.h"

namespace sluice::cache {
namespace {

constexpr char kLogKey[] = "sluice:cache:v1:invalidations";
// Tenant and model names never hold this byte.
constexpr char kSeparator = '\x1f';

// KEYS[1]: the log.  ARGV: the scope.  Returns the entry's number.
constexpr char kAppendScript[] = R"lua(
local n = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[1] .. ':' .. n, ARGV[1], 'PX', 600000)
return n
)lua";

// KEYS[1]: the log.  ARGV: the last number seen (-1: none), the most
// entries to return. Returns {n, entries...} for the entries after the one
// seen, each the scope or '' when it expired; only {n} when there are more
// than asked for (or none was seen).
constexpr char kReadScript[] = R"lua(
local n = tonumber(redis.call('GET', KEYS[1])) or 0
local seen = tonumber(ARGV[1])
local out = {n}
if seen < 0 or n - seen > tonumber(ARGV[2]) then return out end
for i = seen + 1, n do
  out[#out + 1] = redis.call('GET', KEYS[1] .. ':' .. i) or ''
end
return out
)lua";

}  // namespace

InvalidationLog::InvalidationLog(redis::RedisClient* redis, Forget forget,
                                 absl::Duration poll)
    : redis_(redis), forget_(std::move(forget)), poll_(poll), thread_([this] {
        process::NameThisThread("sluice-cache-inv");
        PollLoop();
      }) {}

InvalidationLog::~InvalidationLog() {
  stop_.Notify();
  thread_.join();
}

void InvalidationLog::Append(const std::string& tenant,
                             const std::string& model,
                             std::function<void(bool)> done) {
  redis_->Eval(kAppendScript, {kLogKey},
               {absl::StrCat(tenant, std::string(1, kSeparator), model)},
               [done = std::move(done)](absl::StatusOr<redis::RedisReply> r) {
                 done(r.ok() && r->type == redis::RedisReply::Type::kInteger);
               });
}

void InvalidationLog::PollLoop() {
  do {
    Poll();
  } while (!stop_.WaitForNotificationWithTimeout(poll_));
}

void InvalidationLog::Poll() {
  absl::StatusOr<redis::RedisReply> reply;
  absl::Notification answered;
  redis_->Eval(kReadScript, {kLogKey},
               {absl::StrCat(seen_), absl::StrCat(kMaxEntriesPerPoll)},
               [&](absl::StatusOr<redis::RedisReply> r) {
                 reply = std::move(r);
                 answered.Notify();
               });
  answered.WaitForNotification();  // the client's command timeout bounds it
  if (!reply.ok() || reply->type != redis::RedisReply::Type::kArray ||
      reply->elements.empty()) {
    return;  // Redis away: caught up on a later poll
  }
  const int64_t number = reply->elements[0].integer;
  if (seen_ < 0) {
    // What came before may concern entries this replica took in meanwhile
    // (Redis was away, or this poll was late): forget them all, once.
    forget_("", "");
    seen_ = number;
    following_ = true;
    return;
  }
  if (number == seen_) return;
  // Too many at once, entries expired, or the log reset (a Redis restart
  // without persistence): forget everything rather than guess.
  const bool whole =
      number < seen_ ||
      reply->elements.size() != static_cast<size_t>(number - seen_ + 1);
  if (whole) {
    forget_("", "");
  } else {
    for (size_t i = 1; i < reply->elements.size(); ++i) {
      const std::string& scope = reply->elements[i].str;
      std::vector<std::string> parts =
          absl::StrSplit(scope, absl::MaxSplits(kSeparator, 1));
      if (scope.empty() || parts.size() != 2) {
        forget_("", "");
        break;
      }
      forget_(parts[0], parts[1]);
    }
  }
  seen_ = number;
}

}  // namespace sluice::cache

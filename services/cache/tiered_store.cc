#include "services/cache/tiered_store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/obs/logging.h"
#include "services/cache/answer_codec.h"

namespace sluice::cache {
namespace {

constexpr char kPrefix[] = "sluice:cache:v1:";

// GET and PTTL in one round trip.
constexpr char kGetWithTtl[] =
    "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";

// Escapes what is special in a key part (':' separates parts) or in a SCAN
// MATCH pattern, so that names cannot collide or match others.
std::string Escape(absl::string_view part) {
  std::string out;
  for (char c : part) {
    if (c == ':' || c == '%' || c == '*' || c == '?' || c == '[' ||
        c == ']' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "%", absl::Hex(static_cast<unsigned char>(c),
                                           absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

TieredStore::TieredStore(L1Cache* l1, redis::RedisClient* redis)
    : l1_(l1),
      redis_(redis),
      l2_errors_(obs::MetricsRegistry::Default().counter(
          "sluice_cache_l2_errors_total",
          "Cache reads or writes that Redis could not serve (down, slow, "
          "corrupt entry); each was treated as a miss.")),
      l2_hits_(obs::MetricsRegistry::Default().counter(
          "sluice_cache_l2_hits_total", "Cache hits served from Redis.")) {
  if (redis_ != nullptr) {
    log_ = std::make_unique<InvalidationLog>(
        redis_, [this](const std::string& tenant, const std::string& model) {
          ForgetLocally(tenant, model);
        });
  }
}

std::string TieredStore::RedisKey(const std::string& key,
                                  const std::string& tenant,
                                  const std::string& model) {
  return absl::StrCat(kPrefix, Escape(tenant), ":", Escape(model), ":", key);
}

std::string TieredStore::RedisPattern(const std::string& tenant,
                                      const std::string& model) {
  return absl::StrCat(kPrefix, tenant.empty() ? "*" : Escape(tenant), ":",
                      model.empty() ? "*" : Escape(model), ":*");
}

bool TieredStore::l2_connected() const {
  return redis_ != nullptr && redis_->connected();
}

void TieredStore::Get(const std::string& key, const std::string& tenant,
                      const std::string& model, GetCallback done) {
  absl::Time now = absl::Now();
  if (CachedValuePtr value = l1_->Get(key, tenant, now)) {
    absl::StatusOr<sluice::v1::CachedAnswer> answer = DecodeAnswer(value->bytes);
    if (answer.ok()) return done(*std::move(answer), "l1");
  }
  if (redis_ == nullptr) return done(std::nullopt, "");
  const uint64_t generation = generation_.load();
  redis_->Eval(
      kGetWithTtl, {RedisKey(key, tenant, model)}, {},
      [this, key, tenant, model, generation, done = std::move(done)](
          absl::StatusOr<redis::RedisReply> reply) {
        if (!reply.ok() || reply->type != redis::RedisReply::Type::kArray ||
            reply->elements.size() != 2) {
          l2_errors_.Increment();
          return done(std::nullopt, "");
        }
        const redis::RedisReply& value = reply->elements[0];
        if (value.type != redis::RedisReply::Type::kString) {
          return done(std::nullopt, "");  // not there
        }
        absl::StatusOr<sluice::v1::CachedAnswer> answer = DecodeAnswer(value.str);
        if (!answer.ok()) {
          l2_errors_.Increment();
          return done(std::nullopt, "");
        }
        l2_hits_.Increment();
        int64_t pttl = reply->elements[1].integer;
        absl::Time now = absl::Now();
        auto entry = std::make_shared<CachedValue>();
        entry->tenant = tenant;
        entry->model = model;
        entry->bytes = value.str;
        entry->expires = pttl > 0 ? now + absl::Milliseconds(pttl)
                                  : absl::InfiniteFuture();
        // Unless an invalidation came since the read began.
        if (generation_.load() == generation) {
          l1_->Put(key, std::move(entry), now);
        }
        done(*std::move(answer), "l2");
      });
}

bool TieredStore::Put(const std::string& key, const std::string& tenant,
                      const std::string& model,
                      const sluice::v1::CachedAnswer& answer,
                      absl::Duration ttl) {
  absl::Time now = absl::Now();
  auto entry = std::make_shared<CachedValue>();
  entry->tenant = tenant;
  entry->model = model;
  entry->bytes = EncodeAnswer(answer);
  entry->expires = now + ttl;
  std::string bytes = entry->bytes;
  if (!l1_->Put(key, std::move(entry), now)) return false;
  if (redis_ != nullptr) {
    redis_->Command(
        {"SET", RedisKey(key, tenant, model), std::move(bytes), "PX",
         absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)))},
        [this](absl::StatusOr<redis::RedisReply> reply) {
          if (!reply.ok() || reply->type == redis::RedisReply::Type::kError) {
            l2_errors_.Increment();
          }
        });
  }
  return true;
}

int64_t TieredStore::ForgetLocally(const std::string& tenant,
                                   const std::string& model) {
  ++generation_;
  return l1_->Invalidate(tenant, model);
}

void TieredStore::Invalidate(const std::string& tenant, const std::string& model,
                             std::function<void(int64_t, int64_t)> done) {
  int64_t l1 = ForgetLocally(tenant, model);
  if (redis_ == nullptr) return done(l1, 0);
  // L1 again once L2 is clear: a read between the two could have put an
  // entry back from L2 (the generation keeps later ones out); then the
  // other replicas.
  ScanAndDelete("0", RedisPattern(tenant, model), 0,
                [this, l1, tenant, model, done = std::move(done)](int64_t l2) {
                  const int64_t again = ForgetLocally(tenant, model);
                  if (log_ == nullptr) return done(l1 + again, l2);  // stopping
                  log_->Append(tenant, model,
                               [l1, again, l2, done](bool) {
                                 done(l1 + again, l2);
                               });
                });
}

void TieredStore::ScanAndDelete(std::string cursor, std::string pattern,
                                int64_t deleted,
                                std::function<void(int64_t)> done) {
  redis_->Command(
      {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"},
      [this, pattern, deleted, done = std::move(done)](
          absl::StatusOr<redis::RedisReply> reply) mutable {
        if (!reply.ok() || reply->type != redis::RedisReply::Type::kArray ||
            reply->elements.size() != 2) {
          l2_errors_.Increment();
          return done(-1);
        }
        std::string next = reply->elements[0].str;
        std::vector<std::string> del = {"UNLINK"};
        for (const redis::RedisReply& key : reply->elements[1].elements) {
          del.push_back(key.str);
        }
        auto more = [this, next, pattern, done = std::move(done)](
                        int64_t total) mutable {
          if (total < 0 || next == "0") return done(total);
          ScanAndDelete(next, pattern, total, std::move(done));
        };
        if (del.size() == 1) return more(deleted);
        redis_->Command(std::move(del), [deleted, more = std::move(more)](
                                            absl::StatusOr<redis::RedisReply>
                                                r) mutable {
          if (!r.ok() || r->type != redis::RedisReply::Type::kInteger) {
            return more(-1);
          }
          more(deleted + r->integer);
        });
      });
}

}  // namespace sluice::cache

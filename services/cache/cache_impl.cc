#include "services/cache/cache_impl.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "libs/config/duration.h"
#include "libs/host/timer.h"
#include "libs/obs/metrics.h"
#include "services/cache/answer_codec.h"
#include "services/cache/cache_key.h"
#include "libs/cache_policy/cache_policy.h"

namespace sluice::cache {
namespace {

using sluice::v1::CacheEvent;

constexpr absl::Duration kFillDeadline = absl::Seconds(10);

obs::Counter& LookupCounter(const char* result) {
  return obs::MetricsRegistry::Default().counter(
      "sluice_cache_lookups_total",
      "Cache lookups by result: hit, miss (the caller leads), shared (it "
      "follows an identical request in flight), bypass (not cacheable).",
      {{"result", result}});
}

// An answer is kept only when it is whole and ordinary.
bool Storable(const sluice::v1::ChatResponse& response) {
  if (response.choices().empty()) return false;
  for (const sluice::v1::Choice& choice : response.choices()) {
    if (choice.finish_reason() == "length" || choice.finish_reason() == "error" ||
        choice.finish_reason().empty()) {
      return false;
    }
  }
  return !response.decision().truncated();
}

absl::Status Stopping() {
  return absl::UnavailableError("the cache is shutting down");
}

}  // namespace

void CacheImpl::Flights::Add(const std::string& lease, Lease info) {
  absl::MutexLock lock(&mu);
  leases[lease] = std::move(info);
}

std::optional<CacheImpl::Lease> CacheImpl::Flights::Take(
    const std::string& lease) {
  absl::MutexLock lock(&mu);
  auto it = leases.find(lease);
  if (it == leases.end()) return std::nullopt;
  Lease info = std::move(it->second);
  leases.erase(it);
  return info;
}

// One lookup: a hit, a lease, a miss, or a follower's stream of the
// leader's chunks. Holds itself while its own method runs, while the store
// reads and while it follows a flight; the sink hears the end before the
// last hold goes.
class CacheImpl::LookupCall final : public FlightListener {
 public:
  LookupCall(CacheImpl* cache, host::CallTracker::Ticket ticket,
             const sluice::v1::CacheLookupRequest& request,
             host::Sink<CacheEvent>* sink)
      : cache_(cache),
        ticket_(std::move(ticket)),
        sink_(sink),
        tenant_(request.request().context().tenant()),
        model_(request.resolved_model()),
        decision_(cache_policy::DecideCaching(request.request(), cache->PolicyOf(tenant_))) {
    if (decision_.read || decision_.write) {
      key_ = CacheKey(request.request(), tenant_, model_);
    }
  }

  void Run() {
    if (!decision_.read && !decision_.write) {
      Miss(decision_.reason, "bypass", /*bypass=*/true);
    } else if (!decision_.read) {
      JoinOrLead();
    } else {
      AddHold();  // the store's read
      cache_->store_->Get(
          key_, tenant_, model_,
          [this](std::optional<sluice::v1::CachedAnswer> answer,
                 absl::string_view) {
            if (answer.has_value()) {
              Hit(*std::move(answer));
            } else {
              JoinOrLead();
            }
            Release();
          });
    }
    Release();  // Run's own
  }

  // FlightListener (under the flight table's lock)
  void OnChunk(const sluice::v1::ChatChunk& chunk) override {
    CacheEvent event;
    *event.mutable_chunk() = chunk;
    sink_->Next(std::move(event));
  }
  void OnDone(const sluice::v1::ChatResponse& response) override {
    CacheEvent event;
    *event.mutable_done() = response;
    End(std::move(event));
    Release();  // the flight's
  }
  void OnFailed() override {
    CacheEvent event;
    event.mutable_miss()->set_reason("leader_failed");
    End(std::move(event));
    Release();  // the flight's
  }

 private:
  void AddHold() { holds_.fetch_add(1, std::memory_order_relaxed); }
  void Release() {
    if (holds_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // The last event, then the end of the stream.
  void End(CacheEvent event) {
    sink_->Next(std::move(event));
    sink_->Done(absl::OkStatus());
  }

  void Hit(sluice::v1::CachedAnswer answer) {
    cache_->Count(tenant_, Outcome::kHit);
    static obs::Counter& hits = LookupCounter("hit");
    hits.Increment();
    CacheEvent event;
    *event.mutable_hit() = std::move(answer);
    End(std::move(event));
  }

  void Miss(const std::string& reason, const char* result, bool bypass) {
    LookupCounter(result).Increment();
    CacheEvent event;
    event.mutable_miss()->set_reason(reason);
    event.mutable_miss()->set_bypass(bypass);
    End(std::move(event));
  }

  void JoinOrLead() {
    if (!decision_.write) {
      cache_->Count(tenant_, Outcome::kMiss);
      return Miss("not_cacheable", "bypass", /*bypass=*/true);
    }
    std::optional<sluice::v1::CachedAnswer> stored;
    auto stored_meanwhile = [this, &stored] {
      if (!decision_.read) return false;  // refresh: never an old answer
      CachedValuePtr value = cache_->l1_->Get(key_, tenant_, absl::Now());
      if (value == nullptr) return false;
      absl::StatusOr<sluice::v1::CachedAnswer> answer =
          DecodeAnswer(value->bytes);
      if (!answer.ok()) return false;
      stored = *std::move(answer);
      return true;
    };
    AddHold();  // the flight's, given back by OnDone/OnFailed
    FlightTable::Joined joined = cache_->flights_->table.JoinOrLead(
        key_, this, absl::Now(), stored_meanwhile);
    if (joined.served) {
      Release();
      return Hit(*std::move(stored));
    }
    if (!joined.lead) {
      cache_->Count(tenant_, Outcome::kShared);
      static obs::Counter& shared = LookupCounter("shared");
      shared.Increment();
      return;
    }
    Release();
    cache_->Count(tenant_, Outcome::kMiss);
    static obs::Counter& misses = LookupCounter("miss");
    misses.Increment();
    cache_->flights_->Add(joined.lease,
                          Lease{key_, tenant_, model_, decision_.ttl});
    cache_->WatchFillDeadline(joined.lease);
    CacheEvent event;
    event.mutable_lead()->set_key(joined.lease);
    event.mutable_lead()->set_ttl_seconds(absl::ToInt64Seconds(decision_.ttl));
    End(std::move(event));
  }

  CacheImpl* cache_;
  host::CallTracker::Ticket ticket_;
  host::Sink<CacheEvent>* sink_;
  std::string tenant_;
  std::string model_;
  std::string key_;
  cache_policy::CacheDecision decision_;
  std::atomic<int> holds_{1};  // Run's own
};

// The leader's fill, in this process: chunks go to the followers as they
// come; the whole answer is stored (when whole) and ends the flight.
class CacheImpl::LocalFill final : public CacheFill {
 public:
  LocalFill(CacheImpl* cache, host::CallTracker::Ticket ticket,
            std::string lease)
      : cache_(cache), ticket_(std::move(ticket)), lease_(std::move(lease)) {
    info_ = cache_->flights_->Take(lease_);
    if (!ticket_ || !info_.has_value() ||
        !cache_->flights_->table.BeginFill(lease_)) {
      info_.reset();  // stale or stopping: store nothing
    }
  }

  void Chunk(const sluice::v1::ChatChunk& chunk) override {
    if (!info_.has_value() || ended_) return;
    cache_->flights_->table.Chunk(lease_, chunk);
    chunk_bytes_ += static_cast<int64_t>(chunk.ByteSizeLong());
    if (chunk_bytes_ <= cache_->max_entry_bytes_) *answer_.add_chunks() = chunk;
  }

  void Answer(const sluice::v1::ChatResponse& response) override {
    if (ended_) return;
    ended_ = true;
    if (!info_.has_value()) return;
    *answer_.mutable_response() = response;
    if (chunk_bytes_ > cache_->max_entry_bytes_) answer_.clear_chunks();
    if (Storable(response)) {
      cache_->store_->Put(info_->key, info_->tenant, info_->model, answer_,
                          info_->ttl);
    }
    cache_->flights_->table.Done(lease_, response);
  }

  void Abandon() override {
    if (ended_) return;
    ended_ = true;
    cache_->flights_->table.Fail(lease_);
  }

  void Close(absl::AnyInvocable<void() &&> then) override {
    Abandon();
    delete this;
    // L1 has it now (L2 is written in the background).
    if (then) std::move(then)();
  }

 private:
  CacheImpl* cache_;
  host::CallTracker::Ticket ticket_;
  std::string lease_;
  std::optional<Lease> info_;
  sluice::v1::CachedAnswer answer_;
  int64_t chunk_bytes_ = 0;
  bool ended_ = false;
};

absl::StatusOr<std::unique_ptr<CacheImpl>> CacheImpl::Create(
    const sluice::v1::Config& config) {
  std::unique_ptr<CacheImpl> cache(new CacheImpl());
  for (const sluice::v1::TenantConfig& tenant : config.tenants()) {
    cache->policies_[tenant.name()] = tenant.cache();
  }
  const sluice::v1::CacheConfig& settings = config.cache();
  L1Options l1;
  if (settings.l1_max_bytes() > 0) l1.max_bytes = settings.l1_max_bytes();
  if (settings.max_entry_bytes() > 0) {
    l1.max_entry_bytes = settings.max_entry_bytes();
  }
  cache->max_entry_bytes_ = l1.max_entry_bytes;
  cache->l1_ = std::make_unique<L1Cache>(l1);
  if (!settings.redis().empty()) {
    redis::RedisOptions options;
    options.address = settings.redis();
    options.command_timeout = sluice::config::DurationOr(
        settings.redis_timeout(), options.command_timeout);
    absl::StatusOr<std::unique_ptr<redis::RedisClient>> client =
        redis::RedisClient::Create(options);
    if (!client.ok()) return client.status();
    cache->redis_ = *std::move(client);
  }
  cache->store_ =
      std::make_unique<TieredStore>(cache->l1_.get(), cache->redis_.get());
  return cache;
}

CacheImpl::~CacheImpl() {
  // Redis's pending callbacks run (CANCELLED) while the store they touch
  // is still here; the invalidation log's poller stops before.
  store_->StopFollowing();
  redis_.reset();
}

const sluice::v1::CachePolicy* CacheImpl::PolicyOf(
    const std::string& tenant) const {
  auto it = policies_.find(tenant);
  return it == policies_.end() ? nullptr : &it->second;
}

void CacheImpl::Count(const std::string& tenant, Outcome outcome) {
  absl::MutexLock lock(&mu_);
  Counters& counters = counters_[tenant];
  switch (outcome) {
    case Outcome::kHit:
      ++counters.hits;
      break;
    case Outcome::kMiss:
      ++counters.misses;
      break;
    case Outcome::kShared:
      ++counters.shared;
      break;
  }
}

void CacheImpl::WatchFillDeadline(const std::string& lease) {
  auto timer = std::make_shared<host::Timer>();
  std::weak_ptr<Flights> weak = flights_;
  timer->Set(absl::Now() + kFillDeadline, [timer, weak, lease](bool) mutable {
    if (std::shared_ptr<Flights> flights = weak.lock()) {
      flights->table.FailIfNotFilling(lease);
      flights->Take(lease);
    }
    timer.reset();  // the timer goes once its callback is done
  });
}

void CacheImpl::Lookup(host::CallContextPtr context,
                       sluice::v1::CacheLookupRequest request,
                       host::Sink<CacheEvent>* sink) {
  host::CallTracker::Ticket ticket = calls_.Enter(std::move(context));
  if (!ticket) return sink->Done(Stopping());
  (new LookupCall(this, std::move(ticket), request, sink))->Run();
}

CacheFill* CacheImpl::StartFill(host::CallContextPtr context,
                                std::string lease) {
  return new LocalFill(this, calls_.Enter(std::move(context)),
                       std::move(lease));
}

void CacheImpl::Invalidate(
    host::CallContextPtr context, sluice::v1::CacheInvalidateRequest request,
    host::Callback<sluice::v1::CacheInvalidateResponse> done) {
  host::CallTracker::Ticket ticket = calls_.Enter(std::move(context));
  if (!ticket) return std::move(done)(Stopping());
  auto shared = std::make_shared<host::Callback<
      sluice::v1::CacheInvalidateResponse>>(std::move(done));
  auto held = std::make_shared<host::CallTracker::Ticket>(std::move(ticket));
  store_->Invalidate(request.tenant(), request.model(),
                     [shared, held](int64_t l1, int64_t l2) {
                       sluice::v1::CacheInvalidateResponse response;
                       response.set_l1_entries(l1);
                       response.set_l2_entries(l2);
                       std::move (*shared)(std::move(response));
                     });
}

void CacheImpl::Stats(host::CallContextPtr context,
                      sluice::v1::CacheStatsRequest request,
                      host::Callback<sluice::v1::CacheStatsResponse> done) {
  absl::flat_hash_map<std::string, sluice::v1::CacheTenantStats> stats;
  for (const auto& [tenant, l1] : l1_->AllStats()) {
    sluice::v1::CacheTenantStats& s = stats[tenant];
    s.set_bytes(l1.bytes);
    s.set_entries(l1.entries);
    s.set_evictions(l1.evictions);
  }
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tenant, counters] : counters_) {
      sluice::v1::CacheTenantStats& s = stats[tenant];
      s.set_hits(counters.hits);
      s.set_misses(counters.misses);
      s.set_shared(counters.shared);
    }
  }
  std::vector<std::string> tenants;
  for (const auto& [tenant, s] : stats) {
    if (request.tenant().empty() || request.tenant() == tenant) {
      tenants.push_back(tenant);
    }
  }
  std::sort(tenants.begin(), tenants.end());
  sluice::v1::CacheStatsResponse response;
  for (const std::string& tenant : tenants) {
    sluice::v1::CacheTenantStats* s = response.add_tenants();
    *s = stats[tenant];
    s->set_tenant(tenant);
  }
  response.set_l2_connected(store_->l2_connected());
  std::move(done)(std::move(response));
}

}  // namespace sluice::cache

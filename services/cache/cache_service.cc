#include "services/cache/cache_service.h"

#include <utility>

#include <grpcpp/alarm.h>

#include "absl/strings/str_cat.h"
#include "libs/config/duration.h"
#include "libs/host/failed_stream.h"
#include "libs/host/queued_stream_writer.h"
#include "libs/obs/logging.h"
#include "libs/obs/metrics.h"
#include "services/cache/answer_codec.h"
#include "services/cache/cache_key.h"
#include "services/cache/cache_policy.h"

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

}  // namespace

void CacheService::Flights::Add(const std::string& lease, Lease info) {
  absl::MutexLock lock(&mu);
  leases[lease] = std::move(info);
}

std::optional<CacheService::Lease> CacheService::Flights::Take(
    const std::string& lease) {
  absl::MutexLock lock(&mu);
  auto it = leases.find(lease);
  if (it == leases.end()) return std::nullopt;
  Lease info = std::move(it->second);
  leases.erase(it);
  return info;
}

// One Lookup call: a hit, a lease, a miss, or a follower's stream of the
// leader's chunks. Holds: the call's own, the store read (when reading) and
// the flight (while following).
class CacheService::LookupReactor final
    : public host::QueuedStreamWriter<CacheEvent>,
      public FlightListener {
 public:
  LookupReactor(CacheService* service, const sluice::v1::CacheLookupRequest& request)
      : QueuedStreamWriter<CacheEvent>(/*extra_holds=*/1),
        service_(service),
        tenant_(request.request().context().tenant()),
        model_(request.resolved_model()) {
    decision_ = DecideCaching(request.request(), service->PolicyOf(tenant_));
    if (!decision_.read && !decision_.write) {
      Miss(decision_.reason, "bypass", /*bypass=*/true);
      Release();
      return;
    }
    key_ = CacheKey(request.request(), tenant_, model_);
    if (!decision_.read) {
      JoinOrLead();
      Release();
      return;
    }
    service_->store_->Get(
        key_, tenant_, model_,
        [this](std::optional<sluice::v1::CachedAnswer> answer,
               absl::string_view) {
          if (answer.has_value()) {
            service_->Count(tenant_, Outcome::kHit);
            LookupCounter("hit").Increment();
            CacheEvent event;
            *event.mutable_hit() = *std::move(answer);
            Push(std::move(event));
            End(grpc::Status::OK);
          } else {
            JoinOrLead();
          }
          Release();
        });
  }

  // FlightListener (under the flight table's lock)
  void OnChunk(const sluice::v1::ChatChunk& chunk) override {
    CacheEvent event;
    *event.mutable_chunk() = chunk;
    Push(std::move(event));
  }
  void OnDone(const sluice::v1::ChatResponse& response) override {
    CacheEvent event;
    *event.mutable_done() = response;
    Push(std::move(event));
    End(grpc::Status::OK);
    Release();  // the flight's hold
  }
  void OnFailed() override {
    CacheEvent event;
    event.mutable_miss()->set_reason("leader_failed");
    Push(std::move(event));
    End(grpc::Status::OK);
    Release();  // the flight's hold
  }

 private:
  void Miss(const std::string& reason, const char* result, bool bypass) {
    LookupCounter(result).Increment();
    CacheEvent event;
    event.mutable_miss()->set_reason(reason);
    event.mutable_miss()->set_bypass(bypass);
    Push(std::move(event));
    End(grpc::Status::OK);
  }

  void JoinOrLead() {
    if (!decision_.write) {
      service_->Count(tenant_, Outcome::kMiss);
      return Miss("not_cacheable", "bypass", /*bypass=*/true);
    }
    AddHold();  // the flight's, released by OnDone/OnFailed
    std::optional<sluice::v1::CachedAnswer> stored;
    auto stored_meanwhile = [this, &stored] {
      if (!decision_.read) return false;  // refresh: never an old answer
      CachedValuePtr value =
          service_->l1_->Get(key_, tenant_, absl::Now());
      if (value == nullptr) return false;
      absl::StatusOr<sluice::v1::CachedAnswer> answer =
          DecodeAnswer(value->bytes);
      if (!answer.ok()) return false;
      stored = *std::move(answer);
      return true;
    };
    FlightTable::Joined joined = service_->flights_->table.JoinOrLead(
        key_, this, absl::Now(), stored_meanwhile);
    if (joined.served) {
      Release();
      service_->Count(tenant_, Outcome::kHit);
      LookupCounter("hit").Increment();
      CacheEvent event;
      *event.mutable_hit() = *std::move(stored);
      Push(std::move(event));
      End(grpc::Status::OK);
      return;
    }
    if (!joined.lead) {
      service_->Count(tenant_, Outcome::kShared);
      LookupCounter("shared").Increment();
      return;
    }
    Release();
    service_->Count(tenant_, Outcome::kMiss);
    LookupCounter("miss").Increment();
    service_->flights_->Add(joined.lease,
                            Lease{key_, tenant_, model_, decision_.ttl});
    service_->WatchFillDeadline(joined.lease);
    CacheEvent event;
    event.mutable_lead()->set_key(joined.lease);
    event.mutable_lead()->set_ttl_seconds(absl::ToInt64Seconds(decision_.ttl));
    Push(std::move(event));
    End(grpc::Status::OK);
  }

  // A follower stays registered until its flight ends (its hold is given
  // back then): leaving now would take the flight table's lock, which may be
  // held by whoever is writing to us.
  void OnDownstreamGone() override {
    End(grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away"));
  }

  CacheService* service_;
  std::string tenant_;
  std::string model_;
  std::string key_;
  CacheDecision decision_;
};

// One Fill call: the leader's chunks go to the followers as they come; the
// final answer is stored (when whole) and ends the flight.
class CacheService::FillReactor final
    : public grpc::ServerReadReactor<sluice::v1::CacheFill> {
 public:
  FillReactor(CacheService* service, sluice::v1::CacheFillResponse* response)
      : service_(service), flights_(service->flights_), response_(response) {
    StartRead(&message_);
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) {
      // The stream ended (or broke) without an answer.
      if (!lease_.empty() && !ended_) flights_->table.Fail(lease_);
      Finish(grpc::Status::OK);
      return;
    }
    if (lease_.empty()) {
      lease_ = message_.key();
      info_ = flights_->Take(lease_);
      if (!info_.has_value() || !flights_->table.BeginFill(lease_)) {
        info_.reset();  // stale: the flight is gone; read on, store nothing
      }
    }
    if (message_.has_chunk() && info_.has_value() && !ended_) {
      flights_->table.Chunk(lease_, message_.chunk());
      chunk_bytes_ += static_cast<int64_t>(message_.chunk().ByteSizeLong());
      if (chunk_bytes_ <= service_->max_entry_bytes_) {
        *answer_.add_chunks() = message_.chunk();
      }
    }
    if (message_.has_response() && !ended_) {
      ended_ = true;
      if (info_.has_value()) {
        *answer_.mutable_response() = message_.response();
        if (chunk_bytes_ > service_->max_entry_bytes_) answer_.clear_chunks();
        if (Storable(message_.response())) {
          response_->set_stored(service_->store_->Put(
              info_->key, info_->tenant, info_->model, answer_, info_->ttl));
        }
        flights_->table.Done(lease_, message_.response());
      }
    }
    if (message_.abandon() && !ended_) {
      ended_ = true;
      flights_->table.Fail(lease_);
    }
    message_.Clear();
    StartRead(&message_);
  }

  void OnDone() override { delete this; }

  CacheService* service_;
  std::shared_ptr<Flights> flights_;
  sluice::v1::CacheFillResponse* response_;
  sluice::v1::CacheFill message_;
  std::string lease_;
  std::optional<Lease> info_;
  sluice::v1::CachedAnswer answer_;
  int64_t chunk_bytes_ = 0;
  bool ended_ = false;
};

absl::StatusOr<std::unique_ptr<CacheService>> CacheService::Create(
    const sluice::v1::Config& config) {
  std::unique_ptr<CacheService> service(new CacheService());
  for (const sluice::v1::TenantConfig& tenant : config.tenants()) {
    service->policies_[tenant.name()] = tenant.cache();
  }
  const sluice::v1::CacheConfig& cache = config.cache();
  L1Options l1;
  if (cache.l1_max_bytes() > 0) l1.max_bytes = cache.l1_max_bytes();
  if (cache.max_entry_bytes() > 0) l1.max_entry_bytes = cache.max_entry_bytes();
  service->max_entry_bytes_ = l1.max_entry_bytes;
  service->l1_ = std::make_unique<L1Cache>(l1);
  if (!cache.redis().empty()) {
    redis::RedisOptions options;
    options.address = cache.redis();
    options.command_timeout = sluice::config::DurationOr(
        cache.redis_timeout(), options.command_timeout);
    absl::StatusOr<std::unique_ptr<redis::RedisClient>> client =
        redis::RedisClient::Create(options);
    if (!client.ok()) return client.status();
    service->redis_ = *std::move(client);
  }
  service->store_ =
      std::make_unique<TieredStore>(service->l1_.get(), service->redis_.get());
  return service;
}

CacheService::~CacheService() = default;

const sluice::v1::CachePolicy* CacheService::PolicyOf(
    const std::string& tenant) const {
  auto it = policies_.find(tenant);
  return it == policies_.end() ? nullptr : &it->second;
}

void CacheService::Count(const std::string& tenant, Outcome outcome) {
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

void CacheService::WatchFillDeadline(const std::string& lease) {
  // Deleted in its own callback: the alarm keeps a reference to itself
  // while the callback runs.
  auto* alarm = new grpc::Alarm();
  std::weak_ptr<Flights> weak = flights_;
  alarm->Set(absl::ToChronoTime(absl::Now() + kFillDeadline),
             [alarm, weak, lease](bool) {
               if (std::shared_ptr<Flights> flights = weak.lock()) {
                 flights->table.FailIfNotFilling(lease);
                 flights->Take(lease);
               }
               delete alarm;
             });
}

grpc::ServerWriteReactor<CacheEvent>* CacheService::Lookup(
    grpc::CallbackServerContext* context,
    const sluice::v1::CacheLookupRequest* request) {
  return new LookupReactor(this, *request);
}

grpc::ServerReadReactor<sluice::v1::CacheFill>* CacheService::Fill(
    grpc::CallbackServerContext* context,
    sluice::v1::CacheFillResponse* response) {
  return new FillReactor(this, response);
}

grpc::ServerUnaryReactor* CacheService::Invalidate(
    grpc::CallbackServerContext* context,
    const sluice::v1::CacheInvalidateRequest* request,
    sluice::v1::CacheInvalidateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->Invalidate(request->tenant(), request->model(),
                     [reactor, response](int64_t l1, int64_t l2) {
                       response->set_l1_entries(l1);
                       response->set_l2_entries(l2);
                       reactor->Finish(grpc::Status::OK);
                     });
  return reactor;
}

grpc::ServerUnaryReactor* CacheService::Stats(
    grpc::CallbackServerContext* context,
    const sluice::v1::CacheStatsRequest* request,
    sluice::v1::CacheStatsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
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
    if (request->tenant().empty() || request->tenant() == tenant) {
      tenants.push_back(tenant);
    }
  }
  std::sort(tenants.begin(), tenants.end());
  for (const std::string& tenant : tenants) {
    sluice::v1::CacheTenantStats* s = response->add_tenants();
    *s = stats[tenant];
    s->set_tenant(tenant);
  }
  response->set_l2_connected(store_->l2_connected());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace sluice::cache

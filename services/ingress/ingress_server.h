// Ingress as one unit: the HTTP API server, the gRPC Gateway service, the
// edge pipeline they share, and what admission and usage need (keys,
// limits, the Kafka producer).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "libs/host/call_tracker.h"
#include "libs/host/clock.h"
#include "libs/host/components.h"
#include "libs/http/server.h"
#include "libs/kafka/producer.h"
#include "libs/keystore/cached_key_store.h"
#include "libs/keystore/key_store.h"
#include "libs/routing/route_table.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/batch_runner.h"
#include "services/ingress/batch_store.h"
#include "services/ingress/chat_admission.h"
#include "services/ingress/key_lookups.h"
#include "services/ingress/chat_edge.h"
#include "services/ingress/gateway_service.h"
#include "services/ingress/http_api.h"
#include "services/ingress/rate_gate.h"
#include "services/ingress/stream_slots.h"
#include "services/ingress/job_runner.h"
#include "services/ingress/job_store.h"
#include "services/ingress/spend_sync.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

class IngressServer {
 public:
  // Connects the usage producer to `brokers`; reaches the router, metering
  // and the cache through `components` (each may be absent: its routes
  // then answer 503). Register grpc_service() on the public listener, then
  // StartHttp().
  // `io` (null: HTTP threads of its own) must outlive the server.
  static absl::StatusOr<std::unique_ptr<IngressServer>> Create(
      const sluice::v1::Config& config, const std::string& brokers,
      const host::Components& components, boost::asio::io_context* io);
  ~IngressServer();

  grpc::Service* grpc_service() { return gateway_.get(); }
  // Serves HTTP on config.server.http_listen.
  absl::Status StartHttp();
  uint16_t http_port() const { return server_->port(); }
  // What /ready answers: OK when requests can be served (keys read, a
  // router hosted or configured, limits checkable when they fail closed).
  absl::Status Ready() const;
  // Stops taking requests, waits for those in flight until `deadline`,
  // cancels the rest and waits for their usage to be recorded, then closes
  // the HTTP server and flushes the usage producer.
  void Drain(absl::Time deadline);

 private:
  explicit IngressServer(const sluice::v1::Config& config)
      : config_(config), routes_(config_) {}

  // Kept for what reads it later (the route table points into it).
  const sluice::v1::Config config_;
  const routing::RouteTable routes_;
  // Time-windowed prices and batches read this clock; a manual one only
  // when the config asks (tests).
  std::unique_ptr<host::ManualClock> manual_clock_;
  const host::Clock* clock_ = &host::Clock::Real();
  router::Router* router_ = nullptr;
  keystore::CachedKeyStore* key_cache_ = nullptr;  // keys_, typed
  keystore::KeyStorePtr keys_;
  std::unique_ptr<ApiKeyAuth> auth_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<UsageReporter> usage_;
  std::unique_ptr<RateGate> gate_;
  // Raises gate_'s budget ledgers to metering's figures (absent without
  // metering); after gate_, so that it stops first.
  std::unique_ptr<SpendSync> spend_sync_;
  std::unique_ptr<StreamSlots> slots_;
  std::unique_ptr<ChatAdmission> admission_;
  // Key lookups that need the database, off the request threads; after
  // what its queued lookups call into, so that it stops (running them)
  // first.
  std::unique_ptr<KeyLookups> lookups_;
  // Every call between its start and its usage record (declared after what
  // the records point to, so that it goes first).
  host::CallTracker calls_;
  std::unique_ptr<ChatEdge> edge_;
  std::unique_ptr<GatewayService> gateway_;
  // Async jobs from Kafka (absent when disabled); started with HTTP.
  std::optional<JobRunnerOptions> job_options_;
  JobStorePtr job_store_;
  std::unique_ptr<JobRunner> jobs_;
  // OpenAI's Batch API (absent when jobs are disabled); started with HTTP.
  BatchStorePtr batch_store_;
  std::unique_ptr<BatchRunner> batches_;
  // After what its routes use, so that it goes first.
  std::unique_ptr<HttpApi> api_;
  http::ServerOptions options_;
  http::ServerPtr server_;
  bool drained_ = false;
};

}  // namespace sluice::ingress

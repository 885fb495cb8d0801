#include "services/ingress/ingress_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/config/duration.h"
#include "libs/keystore/cached_key_store.h"
#include "services/ingress/job_store_setup.h"
#include "services/ingress/key_store_setup.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/request_record.h"
#include "spdlog/spdlog.h"

namespace sluice::ingress {
namespace {

absl::Status ParseListen(const std::string& listen, http::ServerOptions& out) {
  size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("server.http_listen: expected host:port, got \"", listen,
                     "\""));
  }
  out.host = listen.substr(0, colon);
  out.port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

// Where undeliverable usage events wait: kafka.spool_dir, else beside the
// metering database; a configuration that keeps metering in memory spools
// under the temporary directory (it keeps nothing across restarts anyway).
std::string UsageSpoolDir(const sluice::v1::Config& config) {
  if (!config.kafka().spool_dir().empty()) return config.kafka().spool_dir();
  std::string beside = BesideMetering(config, "sluice-usage-spool");
  if (beside != ":memory:") return beside;
  return (std::filesystem::temp_directory_path() / "sluice-usage-spool")
      .string();
}

// server.max_connections: as set, else half the open-file limit (the other
// half for upstream connections, files and databases); negative: no cap.
int MaxConnections(const sluice::v1::ServerConfig& server) {
  if (server.max_connections() > 0) return server.max_connections();
  if (server.max_connections() < 0) return 0;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) {
    return 0;
  }
  return static_cast<int>(std::min<rlim_t>(files.rlim_cur / 2, 1 << 20));
}

// How often budget ledgers are raised to metering's settled spend.
constexpr absl::Duration kSpendRefresh = absl::Seconds(30);

}  // namespace

absl::StatusOr<std::unique_ptr<IngressServer>> IngressServer::Create(
    const sluice::v1::Config& config, const std::string& brokers,
    const host::Components& components, boost::asio::io_context* io) {
  std::unique_ptr<IngressServer> ingress(new IngressServer(config));
  if (config.jobs().manual_clock()) {
    ingress->manual_clock_ = std::make_unique<host::ManualClock>(absl::Now());
    ingress->clock_ = ingress->manual_clock_.get();
  }
  http::ServerOptions& options = ingress->options_;
  options.io = io;
  if (absl::Status s = ParseListen(config.server().http_listen().empty()
                                       ? "127.0.0.1:8080"
                                       : config.server().http_listen(),
                                   options);
      !s.ok()) {
    return s;
  }
  if (config.server().http_threads() > 0) {
    options.threads = config.server().http_threads();
  }
  if (config.server().max_body_bytes() > 0) {
    options.max_body_bytes = config.server().max_body_bytes();
  }
  // Batch input files are far larger than any chat request.
  if (!config.jobs().disabled()) {
    options.body_limits_by_path_prefix.emplace_back(
        "/v1/files", static_cast<uint64_t>(BatchApiLimits::FromConfig(config.jobs()).max_file_bytes) +
                         64 * 1024);  // room for the form's own parts
  }
  if (config.server().max_header_bytes() > 0) {
    options.max_header_bytes =
        static_cast<uint32_t>(config.server().max_header_bytes());
  }
  options.max_connections = MaxConnections(config.server());
  options.tls_certificate_file = config.server().http_tls().cert_file();
  options.tls_private_key_file = config.server().http_tls().key_file();
  options.idle_timeout =
      config::DurationOr(config.server().idle_timeout(), options.idle_timeout);
  options.request_read_timeout = config::DurationOr(
      config.server().request_read_timeout(), options.request_read_timeout);
  absl::StatusOr<keystore::KeyStorePtr> store = OpenConfiguredKeyStore(config);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("key store (", KeyStoreLocation(config),
                                     "): ", store.status().message()));
  }
  keystore::CachedKeyStore::Options key_options;
  key_options.refresh =
      config::DurationOr(config.keys().refresh(), key_options.refresh);
  auto key_cache = std::make_unique<keystore::CachedKeyStore>(
      *std::move(store), key_options);
  ingress->key_cache_ = key_cache.get();
  ingress->keys_ = std::move(key_cache);
  ingress->router_ = components.Find<router::Router>(router::kServiceName);
  ingress->auth_ = std::make_unique<ApiKeyAuth>(config, ingress->keys_.get());
  const std::string usage_topic = config.kafka().usage_topic().empty()
                                      ? "sluice.usage"
                                      : config.kafka().usage_topic();
  kafka::ProducerOptions producer_options;
  producer_options.brokers = brokers;
  producer_options.client_id = "sluice-ingress";
  // A usage event waits this long in memory for the broker, then on disk.
  producer_options.topic_settings[usage_topic] = {
      {"message.timeout.ms",
       std::to_string(absl::ToInt64Milliseconds(config::DurationOr(
           config.kafka().usage_delivery_timeout(), absl::Seconds(10))))}};
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::Create(producer_options);
  if (!producer.ok()) return producer.status();
  ingress->producer_ = *std::move(producer);
  kafka::Spool::Options spool;
  spool.dir = UsageSpoolDir(config);
  if (config.kafka().spool_max_bytes() > 0) {
    spool.max_bytes = config.kafka().spool_max_bytes();
  }
  // Requests in flight are journaled beside the spool: a process killed
  // mid-request still leaves one usage record for each (see UsageJournal).
  std::string journal_dir = spool.dir + "/journal";
  absl::StatusOr<std::unique_ptr<KafkaUsageReporter>> usage =
      KafkaUsageReporter::Create(ingress->producer_.get(), usage_topic,
                                 std::move(spool), std::move(journal_dir));
  if (!usage.ok()) {
    return absl::Status(
        usage.status().code(),
        absl::StrCat("usage spool: ", usage.status().message()));
  }
  ingress->usage_ = *std::move(usage);
  std::vector<std::string> models;
  // Public names and aliases, once each; each key sees those it may use.
  auto add = [&models](const std::string& name) {
    if (std::find(models.begin(), models.end(), name) == models.end()) {
      models.push_back(name);
    }
  };
  for (const auto& route : config.routes()) add(route.model());
  for (const auto& alias : config.router().aliases()) add(alias.alias());
  absl::StatusOr<std::unique_ptr<RateGate>> gate = RateGate::Create(config);
  if (!gate.ok()) return gate.status();
  ingress->gate_ = *std::move(gate);
  ingress->slots_ = std::make_unique<StreamSlots>(config);
  ingress->lookups_ = std::make_unique<KeyLookups>(ingress->auth_.get());
  ingress->admission_ = std::make_unique<ChatAdmission>(
      ingress->auth_.get(), ingress->lookups_.get(), ingress->gate_.get(),
      ingress->slots_.get());
  ingress->edge_ = std::make_unique<ChatEdge>(
      ingress->admission_.get(), ingress->router_, &ingress->calls_, ingress->clock_);
  // Only a caller with a key may make this server hold a file upload. On
  // the I/O thread, so from memory: a key it cannot tell without the
  // database (one a lookup may be spent on) may send, and is checked when
  // its request is handled.
  options.may_send_large_body = [auth = ingress->auth_.get()](const http::Headers& headers) {
    for (const auto& [name, value] : headers) {
      if (name != "authorization") continue;
      std::optional<absl::StatusOr<Caller>> known =
          auth->AuthenticateInMemory(value);
      return !known.has_value() || known->ok();
    }
    return false;
  };
  // Requests the HTTP server refuses itself (too large, too slow,
  // malformed) are metered too, charged to the key's tenant when the head
  // names one: operators see abuse.
  options.on_rejected = [auth = ingress->auth_.get(),
                         usage = ingress->usage_.get()](
                            const http::RejectedRequest& rejected) {
    RequestRecord record(usage,
                         ClientRequestId(rejected.Header("x-client-request-id"),
                                         rejected.Header("x-request-id")),
                         /*stream=*/false);
    // On the I/O thread: a key memory cannot tell is charged to no tenant.
    std::optional<absl::StatusOr<Caller>> caller =
        auth->AuthenticateInMemory(rejected.Header("authorization"));
    if (caller.has_value() && caller->ok()) {
      record.event().set_tenant((*caller)->tenant);
      record.event().set_key_id((*caller)->key_id);
    }
    record.Finish(rejected.status, "invalid_request_error");
  };
  if (!config.jobs().disabled() && !brokers.empty()) {
    absl::StatusOr<JobStorePtr> store = OpenConfiguredJobStore(config);
    if (!store.ok()) return store.status();
    ingress->job_store_ = *std::move(store);
    ingress->job_options_ = JobRunnerOptions::FromConfig(config.jobs(), brokers);
  }
  if (!config.jobs().disabled()) {
    absl::StatusOr<BatchStorePtr> store = OpenConfiguredBatchStore(config);
    if (!store.ok()) return store.status();
    ingress->batch_store_ = *std::move(store);
    ingress->batches_ = std::make_unique<BatchRunner>(
        BatchRunnerOptions::FromConfig(config.jobs()), ingress->edge_.get(),
        ingress->usage_.get(), ingress->batch_store_.get(), &ingress->routes_,
        ingress->clock_);
  }
  ingress->gateway_ = std::make_unique<GatewayService>(
      ingress->edge_.get(), ingress->usage_.get(), models, ingress->job_store_.get());
  IngressServer* self = ingress.get();
  HttpApi::Parts parts;
  parts.edge = ingress->edge_.get();
  parts.gate = ingress->gate_.get();
  parts.keys = ingress->keys_.get();
  parts.router = ingress->router_;
  parts.metering =
      components.Find<metering::Metering>(metering::kServiceName);
  if (parts.metering != nullptr) {
    // Budgets hold across restarts: before the first request, the ledgers
    // start from what metering has settled; then they follow it.
    ingress->spend_sync_ =
        std::make_unique<SpendSync>(parts.metering, ingress->gate_.get());
    ingress->spend_sync_->SyncNow(absl::Seconds(5));
    ingress->spend_sync_->Start(kSpendRefresh);
    ingress->gate_->SetLedgerRestorer(
        [sync = ingress->spend_sync_.get()] { sync->SyncSoon(); });
  }
  parts.cache = components.Find<cache::Cache>(cache::kServiceName);
  parts.usage = ingress->usage_.get();
  parts.calls = &ingress->calls_;
  parts.jobs = ingress->job_store_.get();
  parts.batch_store = ingress->batch_store_.get();
  parts.batches = ingress->batches_.get();
  parts.clock = ingress->clock_;
  parts.manual_clock = ingress->manual_clock_.get();
  ingress->api_ = std::make_unique<HttpApi>(
      config, parts, models, [self] { return self->Ready(); });
  return ingress;
}

absl::Status IngressServer::StartHttp() {
  HttpApi* api = api_.get();
  absl::StatusOr<http::ServerPtr> server = http::StartServer(
      options_, [api](http::Request request, http::ResponseWriterPtr writer) {
        api->Handle(std::move(request), std::move(writer));
      });
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  if (job_options_.has_value()) {
    absl::StatusOr<std::unique_ptr<JobRunner>> jobs = JobRunner::Start(
        *job_options_, edge_.get(), usage_.get(), job_store_.get());
    if (!jobs.ok()) return jobs.status();
    jobs_ = *std::move(jobs);
  }
  if (batches_ != nullptr) batches_->Start();
  return absl::OkStatus();
}

absl::Status IngressServer::Ready() const {
  if (!key_cache_->loaded()) {
    return absl::UnavailableError("the key store has not been read yet");
  }
  // (A remote router's connection is not probed: gRPC reconnects by
  // itself.)
  if (router_ == nullptr) {
    return absl::UnavailableError("no router is hosted or configured");
  }
  return gate_->Ready();
}

IngressServer::~IngressServer() { Drain(absl::Now()); }

void IngressServer::Drain(absl::Time deadline) {
  if (drained_) return;
  drained_ = true;
  if (server_ != nullptr) server_->StopAccepting();
  if (jobs_ != nullptr) jobs_->Stopping();
  if (batches_ != nullptr) batches_->Stopping();
  host::CallTracker::Drained drained = calls_.Drain(deadline);
  // The jobs' handler has its answers now: the consumer can stop.
  if (jobs_ != nullptr) jobs_->Stop();
  if (batches_ != nullptr) batches_->Stop();
  if (drained.cancelled > 0) {
    spdlog::warn("ingress: {} requests still running at shutdown were "
                 "cancelled", drained.cancelled);
  }
  if (server_ != nullptr) server_->Shutdown();
  if (producer_ != nullptr) producer_->Flush(absl::Seconds(5)).IgnoreError();
}

}  // namespace sluice::ingress

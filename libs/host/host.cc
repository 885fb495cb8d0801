#include "libs/host/host.h"

#include <algorithm>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/config/duration.h"
#include "libs/io/io_threads.h"
#include "libs/http/server.h"
#include "libs/kafka/dev_broker.h"
#include "libs/obs/metrics.h"
#include "libs/trace/otlp_http_exporter.h"

namespace sluice::host {
namespace {

// Internal messages carry cached answers and whole requests: more room than
// a client's body limit.
constexpr int kInternalMessageBytes = 64 << 20;
// Callers of the internal listener reconnect after this (calls in flight
// finish first), and so resolve its name again: replicas added since
// take calls too.
constexpr int kInternalConnectionAgeMs = 2 * 60 * 1000;

const ServiceDefinition* FindService(const HostDefinition& definition,
                                     absl::string_view name) {
  for (const ServiceDefinition& service : definition.services) {
    if (service.name == name) return &service;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Host>> Host::Start(
    const sluice::v1::Config& config, const HostDefinition& definition) {
  std::unique_ptr<Host> host(new Host());
  absl::StatusOr<std::unique_ptr<InternalAuth>> auth =
      InternalAuth::FromConfig(config.server());
  if (!auth.ok()) return auth.status();
  host->auth_ = *std::move(auth);
  host->drain_timeout_ =
      config::DurationOr(config.server().drain_timeout(), absl::Seconds(5));
  if (config.server().max_body_bytes() > 0) {
    host->max_message_bytes_ = config.server().max_body_bytes();
  }

  absl::flat_hash_set<std::string> wanted(config.services().begin(),
                                          config.services().end());
  for (const std::string& name : wanted) {
    if (FindService(definition, name) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("this binary cannot host the service \"", name, "\""));
    }
  }
  bool kafka = false;
  for (const ServiceDefinition& service : definition.services) {
    if (!wanted.empty() && !wanted.contains(service.name)) continue;
    host->hosted_names_.push_back(service.name);
    kafka = kafka || service.uses_kafka;
  }

  // Remote services first: hosted ones are built on top of them.
  for (const sluice::v1::RemoteService& remote : config.remotes()) {
    if (std::find(host->hosted_names_.begin(), host->hosted_names_.end(),
                  remote.name()) != host->hosted_names_.end()) {
      continue;  // hosted here: the local component wins
    }
    auto client = std::find_if(
        definition.clients.begin(), definition.clients.end(),
        [&](const ClientDefinition& c) { return c.name == remote.name(); });
    if (client == definition.clients.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "remote service \"", remote.name(), "\": this binary never calls it"));
    }
    if (!host->auth_->shared()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "remote service \"", remote.name(),
          "\": internal calls need the shared secret; set ",
          config.server().internal_secret_env().empty()
              ? std::string(kDefaultSecretEnv)
              : config.server().internal_secret_env(),
          " in every sluice process"));
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kInternalMessageBytes);
    args.SetMaxSendMessageSize(kInternalMessageBytes);
    // Every address the name resolves to (the replicas behind a headless
    // Service, a scaled compose service) takes calls, not only the first.
    args.SetLoadBalancingPolicyName("round_robin");
    // A restarted service is reachable again within a second: gRPC's
    // default backoff (1 s growing to 120 s) would keep its callers failing
    // long after it is back.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    client->connect(host->components_,
                    grpc::CreateCustomChannel(
                        remote.address(), host->auth_->ChannelCredentials(),
                        args),
                    host->auth_.get());
  }

  std::string brokers = config.kafka().brokers();
  if (brokers.empty() && kafka) {
    absl::StatusOr<std::unique_ptr<kafka::DevBroker>> started =
        kafka::DevBroker::Start();
    if (!started.ok()) return started.status();
    host->dev_broker_ = *std::move(started);
    brokers = host->dev_broker_->bootstrap_servers();
    host->announce_.push_back(absl::StrCat(
        "in-process Kafka dev broker at ", brokers, " (not durable)"));
  }

  const int io_threads =
      config.server().http_threads() > 0
          ? config.server().http_threads()
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  host->io_ = std::make_unique<io::IoThreads>(io_threads);
  HostEnvironment env{config, host->components_, brokers, host->auth_.get(),
                      &host->io_->context()};
  for (const std::string& name : host->hosted_names_) {
    absl::StatusOr<std::unique_ptr<HostedService>> service =
        FindService(definition, name)->create(env);
    if (!service.ok()) {
      return absl::Status(service.status().code(),
                          absl::StrCat(name, ": ", service.status().message()));
    }
    host->services_.push_back(*std::move(service));
  }
  if (absl::Status s = host->StartTracing(config, definition); !s.ok()) {
    return s;
  }
  if (absl::Status s = host->StartListeners(config); !s.ok()) return s;
  if (absl::Status s = host->StartMetricsListener(config); !s.ok()) return s;
  for (auto& service : host->services_) {
    if (absl::Status s = service->Serve(host->announce_); !s.ok()) return s;
  }
  host->serving_ = true;
  return host;
}

int Host::metrics_port() const {
  return metrics_server_ == nullptr ? 0 : metrics_server_->port();
}

absl::Status Host::Ready() const {
  if (!serving_) return absl::UnavailableError("not serving");
  // The services outlive the metrics listener (Shutdown stops it first).
  for (size_t i = 0; i < services_.size(); ++i) {
    if (absl::Status s = services_[i]->Ready(); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat(hosted_names_[i], ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status Host::StartListeners(const sluice::v1::Config& config) {
  std::vector<grpc::Service*> public_services, internal_services;
  for (auto& service : services_) {
    if (grpc::Service* s = service->public_grpc()) public_services.push_back(s);
    if (grpc::Service* s = service->internal_grpc()) {
      internal_services.push_back(s);
    }
  }
  // gRPC refuses a server with no services: a listener only where needed.
  auto listen = [](const std::string& address,
                   std::shared_ptr<grpc::ServerCredentials> credentials,
                   int max_message_bytes, int max_connection_age_ms,
                   const std::vector<grpc::Service*>& services, int* port,
                   std::unique_ptr<grpc::Server>* server) -> absl::Status {
    if (services.empty()) return absl::OkStatus();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, std::move(credentials), port);
    builder.SetMaxReceiveMessageSize(max_message_bytes);
    if (max_connection_age_ms > 0) {
      builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                                 max_connection_age_ms);
    }
    for (grpc::Service* service : services) builder.RegisterService(service);
    *server = builder.BuildAndStart();
    if (*server == nullptr || *port == 0) {
      return absl::UnavailableError(
          absl::StrCat("gRPC server could not listen on ", address));
    }
    return absl::OkStatus();
  };
  const sluice::v1::ServerConfig& server = config.server();
  if (absl::Status s = listen(
          server.grpc_listen().empty() ? "127.0.0.1:0" : server.grpc_listen(),
          grpc::InsecureServerCredentials(),
          static_cast<int>(max_message_bytes_), /*max_connection_age_ms=*/0,
          public_services, &public_port_, &public_server_);
      !s.ok()) {
    return s;
  }
  return listen(server.internal_listen().empty() ? "127.0.0.1:0"
                                                 : server.internal_listen(),
                auth_->ServerCredentials(), kInternalMessageBytes,
                kInternalConnectionAgeMs, internal_services, &internal_port_,
                &internal_server_);
}

absl::Status Host::StartMetricsListener(const sluice::v1::Config& config) {
  const std::string& listen = config.server().metrics_listen();
  if (listen.empty()) return absl::OkStatus();
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server.metrics_listen must be host:port, not \"", listen, "\""));
  }
  http::ServerOptions options;
  options.host = listen.substr(0, colon);
  options.port = static_cast<uint16_t>(port);
  options.io = &io_->context();
  absl::StatusOr<std::unique_ptr<http::Server>> server = http::StartServer(
      options, [this](http::Request request, http::ResponseWriterPtr writer) {
        if (request.method == "GET" && request.path == "/metrics") {
          writer->Respond(200,
                          {{"content-type", "text/plain; version=0.0.4"}},
                          obs::MetricsRegistry::Default().RenderPrometheusText());
        } else if (request.method == "GET" && request.path == "/health") {
          writer->Respond(200, {{"content-type", "application/json"}},
                          R"({"status":"ok"})");
        } else if (request.method == "GET" && request.path == "/ready") {
          // For load balancers and readiness probes: 503 while this
          // process starts, drains or has a service that cannot serve.
          absl::Status ready = Ready();
          writer->Respond(ready.ok() ? 200 : 503,
                          {{"content-type", "text/plain"}},
                          ready.ok() ? std::string("ready\n")
                                     : absl::StrCat(ready.message(), "\n"));
        } else {
          writer->Respond(404, {{"content-type", "text/plain"}}, "not found\n");
        }
      });
  if (!server.ok()) return server.status();
  metrics_server_ = *std::move(server);
  announce_.push_back(absl::StrCat("metrics listening on http://",
                                   options.host, ":", metrics_server_->port(),
                                   "/metrics"));
  return absl::OkStatus();
}

absl::Status Host::StartTracing(const sluice::v1::Config& config,
                                const HostDefinition& definition) {
  const sluice::v1::TracingConfig& tracing = config.tracing();
  std::vector<std::unique_ptr<trace::SpanExporter>> exporters;
  if (!tracing.otlp_endpoint().empty()) {
    absl::StatusOr<std::unique_ptr<trace::OtlpHttpExporter>> otlp =
        trace::OtlpHttpExporter::Create(tracing.otlp_endpoint());
    if (!otlp.ok()) return otlp.status();
    exporters.push_back(*std::move(otlp));
    announce_.push_back("spans exported over OTLP/HTTP (tracing.otlp_endpoint)");
  }
  if (!tracing.keep_disabled() && definition.span_keeper) {
    if (auto keeper = definition.span_keeper(components_)) {
      exporters.push_back(std::move(keeper));
    }
  }
  if (exporters.empty()) return absl::OkStatus();
  trace::TracerOptions options;
  options.service_name =
      config.services().empty()
          ? "sluice"
          : absl::StrCat("sluice-", absl::StrJoin(config.services(), "+"));
  if (tracing.has_sample_ratio()) {
    if (!(tracing.sample_ratio() >= 0 && tracing.sample_ratio() <= 1)) {
      return absl::InvalidArgumentError(
          "tracing.sample_ratio must be between 0 and 1");
    }
    options.sample_ratio = tracing.sample_ratio();
  }
  options.export_interval =
      config::DurationOr(tracing.export_interval(), absl::Seconds(1));
  if (tracing.max_queued_spans() > 0) {
    options.max_queued_spans = tracing.max_queued_spans();
  }
  trace::Tracer& tracer = trace::Tracer::Process();
  tracer.Start(std::move(options));
  for (auto& exporter : exporters) tracer.AddExporter(std::move(exporter));
  tracing_ = true;
  return absl::OkStatus();
}

Host::~Host() { Shutdown(); }

void Host::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  serving_ = false;
  absl::Time deadline = absl::Now() + drain_timeout_;
  // The listeners stop taking calls and wait for theirs (cancelled at the
  // deadline) while the services drain, callers first.
  std::vector<std::thread> listeners;
  for (grpc::Server* server : {public_server_.get(), internal_server_.get()}) {
    if (server == nullptr) continue;
    listeners.emplace_back([server, deadline] {
      server->Shutdown(absl::ToChronoTime(deadline));
      server->Wait();
    });
  }
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
    (*it)->Drain(deadline);
  }
  for (std::thread& listener : listeners) listener.join();
  // The last spans go out while every component (metering) still exists.
  if (tracing_) trace::Tracer::Process().Stop();
  public_server_.reset();
  internal_server_.reset();
  if (metrics_server_ != nullptr) metrics_server_->Shutdown();
  while (!services_.empty()) services_.pop_back();
  if (io_ != nullptr) io_->Stop();
  dev_broker_.reset();
}

}  // namespace sluice::host

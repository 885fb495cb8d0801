// One sluice process: the services it hosts, the clients of those it does
// not, and its two gRPC listeners. Services are built in dependency order,
// each finding the components it calls already registered (the local
// implementation when co-hosted, a gRPC client when remote), and stopped in
// the reverse order, each draining its calls in flight first.
//
// Listeners: the public one serves only what services mark public (the
// Gateway); the internal one serves every component's gRPC face to the
// other processes, behind the internal secret (and mutual TLS when
// configured).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/host/components.h"
#include "libs/host/internal_auth.h"
#include "libs/trace/tracer.h"
#include "sluice/v1/config.pb.h"

namespace boost::asio {
class io_context;
}

namespace sluice::kafka {
class DevBroker;
}

namespace sluice::io {
class IoThreads;
}

namespace sluice::http {
class Server;
}

namespace sluice::host {

// A service as this process hosts it.
class HostedService {
 public:
  virtual ~HostedService() = default;
  // The component's gRPC face for the internal listener; null: none.
  virtual grpc::Service* internal_grpc() { return nullptr; }
  // A service for the public listener (the Gateway); null: none.
  virtual grpc::Service* public_grpc() { return nullptr; }
  // Once the listeners are up: start serving (ingress opens its HTTP port).
  // Lines for the operator (where it listens) go to `announce`.
  virtual absl::Status Serve(std::vector<std::string>& announce) {
    return absl::OkStatus();
  }
  // Stops taking work, waits for the calls in flight until `deadline`,
  // cancels the rest and waits for them to end. After it returns nothing
  // of the service runs (the host then destroys it).
  virtual void Drain(absl::Time deadline) {}
  // Whether the service can take requests now (what /ready reports: the
  // ingress HTTP API's, and the host's on server.metrics_listen).
  virtual absl::Status Ready() const { return absl::OkStatus(); }
};

// What a service needs to be built.
struct HostEnvironment {
  const sluice::v1::Config& config;
  // The services built before this one (hosted or remote clients); a
  // service registers its own component here.
  Components& components;
  // Kafka bootstrap servers: the configured cluster or the dev broker.
  std::string kafka_brokers;
  // What the service's internal gRPC face asks of its callers.
  const InternalAuth* auth = nullptr;
  // The process's I/O threads (HTTP in and out share them).
  boost::asio::io_context* io = nullptr;
};

struct ServiceDefinition {
  std::string name;
  bool uses_kafka = false;
  std::function<absl::StatusOr<std::unique_ptr<HostedService>>(
      HostEnvironment&)>
      create;
};

// How to reach a service hosted elsewhere: registers a gRPC client that
// implements the service's component interface.
struct ClientDefinition {
  std::string name;
  std::function<void(Components&, std::shared_ptr<grpc::Channel>,
                     const InternalAuth*)>
      connect;
};

// What a binary can host and reach. `services` in dependency order: each
// may call those listed before it.
struct HostDefinition {
  std::vector<ServiceDefinition> services;
  std::vector<ClientDefinition> clients;
  // Where this process's spans are kept for the console (metering, hosted
  // or remote), given the components once they are built; null: nowhere.
  std::function<std::unique_ptr<trace::SpanExporter>(Components&)>
      span_keeper;
};

class Host {
 public:
  // Builds the services `config.services` names (all of `definition`'s when
  // empty), connects the remotes, starts the listeners and the services.
  static absl::StatusOr<std::unique_ptr<Host>> Start(
      const sluice::v1::Config& config, const HostDefinition& definition);
  ~Host();

  // Drains and stops every service, callers first. Idempotent.
  void Shutdown();

  int public_port() const { return public_port_; }
  int internal_port() const { return internal_port_; }
  // The port of server.metrics_listen's listener; 0 when none.
  int metrics_port() const;
  const std::vector<std::string>& hosted() const { return hosted_names_; }
  // The operator's lines the services asked for (listening addresses...).
  const std::vector<std::string>& announcements() const { return announce_; }
  // Null when not started (no service uses Kafka, or brokers configured).
  kafka::DevBroker* dev_broker() { return dev_broker_.get(); }
  Components& components() { return components_; }
  const InternalAuth& internal_auth() const { return *auth_; }

 private:
  Host() = default;
  absl::Status StartListeners(const sluice::v1::Config& config);
  // Serves /metrics, /health and /ready on server.metrics_listen, when set.
  absl::Status StartMetricsListener(const sluice::v1::Config& config);
  // OK once every hosted service serves and says it is ready, until
  // Shutdown begins; else why not.
  absl::Status Ready() const;
  // Starts the process's tracer when its spans go anywhere (an OTLP
  // collector, metering).
  absl::Status StartTracing(const sluice::v1::Config& config,
                            const HostDefinition& definition);

  std::unique_ptr<InternalAuth> auth_;
  std::unique_ptr<kafka::DevBroker> dev_broker_;
  // Outlives the services, which run on it.
  std::unique_ptr<io::IoThreads> io_;
  Components components_;
  std::vector<std::string> hosted_names_;
  // In build order; drained and destroyed in reverse.
  std::vector<std::unique_ptr<HostedService>> services_;
  std::unique_ptr<grpc::Server> public_server_;
  std::unique_ptr<grpc::Server> internal_server_;
  std::unique_ptr<http::Server> metrics_server_;
  int public_port_ = 0;
  int internal_port_ = 0;
  absl::Duration drain_timeout_ = absl::Seconds(5);
  int64_t max_message_bytes_ = 4 << 20;
  std::vector<std::string> announce_;
  bool stopped_ = false;
  bool tracing_ = false;
  // Every service serves, and Shutdown has not begun (read by /ready on an
  // I/O thread).
  std::atomic<bool> serving_{false};
};

}  // namespace sluice::host

#include "apps/sluice/serve.h"

#include <csignal>
#include <cstdio>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "apps/sluice/serve_options.h"
#include "libs/host/service_host.h"
#include "libs/kafka/dev_broker.h"
#include "libs/obs/logging.h"
#include "libs/process/termination_signals.h"
#include "services/adapters/adapter_service.h"
#include "services/cache/cache_service.h"
#include "services/ingress/ingress_server.h"
#include "services/metering/metering_service.h"
#include "services/router/router_service.h"
#include "sluice/v1/scheduler.grpc.pb.h"
#include "sluice/v1/worker.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace sluice::app {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "sluice serve: %s\n", std::string(status.message()).c_str());
  return 1;
}

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  absl::StatusOr<sluice::v1::Config> parsed = ParseServeOptions(args);
  if (!parsed.ok()) return Fail(parsed.status());
  const sluice::v1::Config config = *std::move(parsed);
  obs::InitLogging(config.logging().level().empty() ? "info"
                                                     : config.logging().level());
  std::vector<std::string> services(config.services().begin(),
                                    config.services().end());
  if (services.empty()) services = AllServices();
  auto hosts = [&](absl::string_view name) {
    return std::find(services.begin(), services.end(), name) != services.end();
  };

  // Kafka: the configured cluster, else the in-process dev broker.
  std::string brokers = config.kafka().brokers();
  std::unique_ptr<kafka::DevBroker> dev_broker;
  if (brokers.empty() && (hosts("ingress") || hosts("metering"))) {
    absl::StatusOr<std::unique_ptr<kafka::DevBroker>> started =
        kafka::DevBroker::Start();
    if (!started.ok()) return Fail(started.status());
    dev_broker = *std::move(started);
    brokers = dev_broker->bootstrap_servers();
    std::printf("sluice: in-process Kafka dev broker at %s (not durable)\n",
                brokers.c_str());
  }

  absl::flat_hash_map<std::string, std::string> remotes;
  for (const auto& remote : config.remotes()) {
    remotes[remote.name()] = remote.address();
  }
  host::ServiceHost host(std::move(remotes));

  std::unique_ptr<adapters::AdapterService> adapter_service;
  std::unique_ptr<router::RouterService> router_service;
  std::unique_ptr<cache::CacheService> cache_service;
  std::unique_ptr<metering::MeteringService> metering_service;
  std::unique_ptr<ingress::IngressServer> ingress_server;
  if (hosts("adapters")) {
    auto created = adapters::AdapterService::Create(config, &host);
    if (!created.ok()) return Fail(created.status());
    adapter_service = *std::move(created);
    host.AddService("adapters", adapter_service.get());
  }
  if (hosts("cache")) {
    auto created = cache::CacheService::Create(config);
    if (!created.ok()) return Fail(created.status());
    cache_service = *std::move(created);
    host.AddService("cache", cache_service.get());
  }
  if (hosts("router")) {
    auto created = router::RouterService::Create(config, &host);
    if (!created.ok()) return Fail(created.status());
    router_service = *std::move(created);
    host.AddService("router", router_service.get());
  }
  if (hosts("metering")) {
    auto created = metering::MeteringService::Create(config, brokers);
    if (!created.ok()) return Fail(created.status());
    metering_service = *std::move(created);
    host.AddService("metering", metering_service.get());
  }
  if (hosts("ingress")) {
    auto created = ingress::IngressServer::Create(config, brokers, &host);
    if (!created.ok()) return Fail(created.status());
    ingress_server = *std::move(created);
    host.AddService("ingress", ingress_server->grpc_service());
  }
  // Scheduler and worker come with their own issues; until then
  // their generated base services answer UNIMPLEMENTED to every RPC.
  std::vector<std::unique_ptr<grpc::Service>> placeholders;
  auto placeholder = [&](const char* name, std::unique_ptr<grpc::Service> service) {
    if (!hosts(name)) return;
    host.AddService(name, service.get());
    placeholders.push_back(std::move(service));
  };
  placeholder("scheduler", std::make_unique<sluice::v1::Scheduler::CallbackService>());
  placeholder("worker", std::make_unique<sluice::v1::Worker::CallbackService>());

  std::string grpc_listen = config.server().grpc_listen().empty()
                                ? "127.0.0.1:0"
                                : config.server().grpc_listen();
  if (absl::Status started = host.Start(grpc_listen); !started.ok()) {
    return Fail(started);
  }
  std::string grpc_host = grpc_listen.substr(0, grpc_listen.rfind(':'));
  std::printf("sluice: services %s\n", absl::StrJoin(services, ",").c_str());
  std::printf("sluice: gRPC listening on %s:%d\n", grpc_host.c_str(),
              host.port());
  if (ingress_server != nullptr) {
    if (absl::Status started = ingress_server->StartHttp(); !started.ok()) {
      return Fail(started);
    }
    std::string http_listen = config.server().http_listen();
    std::string http_host = http_listen.substr(0, http_listen.rfind(':'));
    std::printf("sluice: HTTP listening on http://%s:%d\n", http_host.c_str(),
                ingress_server->http_port());
    std::printf(
        "sluice: try it:\n"
        "  curl -s http://%s:%d/v1/chat/completions \\\n"
        "    -H 'Authorization: Bearer sk-sluice-demo' \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        "    -d '{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"user\","
        "\"content\":\"Hello\"}]}'\n",
        http_host.c_str(), ingress_server->http_port());
  }
  std::printf("sluice: ready\n");
  std::fflush(stdout);

  process::WaitForTerminationSignal();
  spdlog::info("sluice: shutting down");
  if (ingress_server != nullptr) ingress_server->Shutdown();
  host.Shutdown();
  return 0;
}

void DisableMutexDeadlockDetection() {
  // Debian's Abseil is built without NDEBUG, so every Mutex lock records its
  // lock-order graph for deadlock detection (a debugging aid that showed up
  // as a few percent of CPU under load). sluice does not rely on it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int RunServiceMain(const char* service, int argc, char** argv) {
  process::BlockTerminationSignals();
  DisableMutexDeadlockDetection();
  std::vector<std::string> args = {"--services", service};
  args.insert(args.end(), argv + 1, argv + argc);
  return RunServe(args);
}

}  // namespace sluice::app

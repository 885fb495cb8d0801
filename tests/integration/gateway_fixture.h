// Starts a whole gateway for a test: either one sluice process hosting every
// service (the Kafka dev broker and the upstream simulator in the test
// process), or everything split: the dev broker (`sluice dev-kafka`), the
// simulator (`upstream-sim`) and one sluice process per service.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "tests/support/subprocess.h"
#include "tools/upstream-sim/simulator.h"

namespace sluice::testing {

inline constexpr char kDemoKey[] = "sk-sluice-demo";
// A second tenant ("acme") and the admin key of every test gateway.
inline constexpr char kAcmeKey[] = "sk-sluice-acme";
inline constexpr char kAdminKey[] = "sk-sluice-admin";
// The internal secret the split layout's processes share.
inline constexpr char kInternalSecret[] = "sluice-test-internal-secret";
// The environment variable the simulated providers' `api_key_env` names
// when GatewayOptions::provider_api_key is set.
inline constexpr char kProviderKeyEnv[] = "SLUICE_TEST_PROVIDER_KEY";

struct GatewayOptions {
  // Appended to the generated config (top-level keys it does not set, such
  // as `cache:`).
  std::string extra_yaml;
  // The simulator's time to first token.
  absl::Duration sim_ttft = absl::ZeroDuration();
  // The simulator's answers are as long as their max_tokens.
  bool sim_fill_to_max_tokens = false;
  // The simulator's time between tokens.
  absl::Duration sim_per_token = absl::ZeroDuration();
  // How long a stopping gateway waits for requests in flight.
  absl::Duration drain_timeout = absl::Seconds(5);
  // The sluice binary to run; empty: this build tree's.
  std::string sluice_binary;
  // Flow-style YAML for the acme tenant's `limits`, e.g. "{rpm: 10}".
  std::string acme_limits;
  // Flow-style YAML for `keys` (the key store); empty: a SQLite file in the
  // gateway's directory, shared by all its processes.
  std::string keys;
  // Flow-style YAML for the simulator provider's `limits`, e.g.
  // "{max_concurrency: 4}".
  std::string sim_limits;
  // Flow-style fields added to deepseek-chat's catalog entry, e.g.
  // "output_usd_per_mtok: 1.1".
  std::string deepseek_prices;
  // More catalog entries (flow-style YAML, one per element), e.g.
  // "{provider: sim, model: deepseek-reasoner, output_usd_per_mtok: 2}".
  std::vector<std::string> extra_models;
  // More tenants (flow-style YAML, one per element), e.g.
  // "{name: beta, api_key_sha256s: [<hash>]}".
  std::vector<std::string> extra_tenants;
  // A GGUF the worker serves as model "local" (provider "local"); empty:
  // the worker has no model and routes to it fail over.
  std::string worker_model;
  // With worker_model: this many worker processes of their own (2 slots
  // each) serve it, and the local provider picks among them by
  // `worker_routing` ("prefix" or "round_robin").
  int worker_processes = 0;
  std::string worker_routing;
  // How long a usage event waits in memory for the broker before it is
  // spooled to disk (kafka.usage_delivery_timeout); zero: the default.
  absl::Duration usage_delivery_timeout = absl::ZeroDuration();
  // The providers sim and sim-anthropic send this API key (read from
  // kProviderKeyEnv, which their `api_key_env` names and Start sets), and
  // the simulator refuses requests without it; empty: no key at all.
  std::string provider_api_key;
  // The config's logging.level.
  std::string log_level = "warn";
  // Every process's stderr (its logs) is read with its stdout, for
  // Gateway::Output(); otherwise it goes to the test's own stderr.
  bool capture_logs = false;
  // The HTTP API serves HTTPS (server.http_tls) with a self-signed
  // certificate made for the gateway (ca_file()); http_base() is https://.
  bool https = false;
};

// The config's `admission:` for limits shared in the Redis at `address`:
// failing closed with a generous timeout, so that a loaded test machine
// cannot admit unchecked requests (a 100ms deadline can pass there).
std::string SharedAdmissionYaml(const std::string& address);

class Gateway {
 public:
  enum class Layout { kOneProcess, kSplit };

  static absl::StatusOr<std::unique_ptr<Gateway>> Start(
      Layout layout, const GatewayOptions& options = {});
  ~Gateway();

  std::string http_base() const { return http_base_; }
  // The config every process of this gateway reads (`sluice keys` can be
  // pointed at it).
  const std::string& config_path() const { return config_path_; }
  // Public gRPC address (the Gateway) of the process hosting ingress.
  const std::string& ingress_grpc() const { return ingress_grpc_; }
  // Internal gRPC address of the process hosting the router (where the
  // router, and in one process every other service, answer).
  const std::string& internal_grpc() const { return internal_grpc_; }
  // The upstream simulator, for queueing faults (POST /sim/faults) and
  // its stats (GET /sim/stats).
  const std::string& sim_base() const { return sim_base_; }
  // Kafka bootstrap servers of the gateway's dev broker.
  const std::string& brokers() const { return brokers_; }
  // The dev broker's process (`sluice dev-kafka`: SIGUSR1 takes its
  // brokers down, SIGUSR2 up, SIGHUP fails a few requests).
  Subprocess& broker_process() { return *processes_[0]; }
  // The sluice process that hosts ingress (in one process, all of it).
  Subprocess& ingress_process() { return *processes_[ingress_index_]; }
  // Split layout: the /metrics URL of the process hosting `service`
  // ("metering", "router"), which serve it on a listener of their own;
  // empty otherwise.
  std::string metrics_url(const std::string& service) const {
    auto it = metrics_.find(service);
    return it == metrics_.end() ? "" : it->second;
  }
  // Chat requests the simulator has answered or refused.
  int64_t UpstreamRequests() const;
  // One-process layout: SIGKILLs the sluice process (nothing drained,
  // nothing flushed) and starts it again on the same config, broker and
  // databases; http_base() then names the new process.
  absl::Status KillAndRestart();
  // The same after a graceful stop (SIGTERM): the process must exit 0.
  absl::Status TerminateAndRestart();
  // Split layout: SIGKILLs the process of `service` ("router" (with the
  // scheduler), "adapters", "cache", "metering") and starts it again on
  // the same internal address, so its callers reach the new one.
  absl::Status KillAndRestartService(const std::string& service);
  // Split layout: SIGKILLs the (first) ingress process and starts it again
  // on the same HTTP address, so http_base() still names it.
  absl::Status KillAndRestartIngress();
  // Split layout: one more ingress process in front of the same router,
  // metering and cache (a replica); returns its HTTP base URL.
  absl::StatusOr<std::string> AddIngressReplica();
  // Split layout: replicas until there are `count` ingress processes; the
  // HTTP base URLs of all of them, the first one first.
  absl::StatusOr<std::vector<std::string>> IngressReplicas(int count);
  // The directory holding the config and every file the gateway writes
  // (databases, spools).
  const std::string& dir() const { return dir_; }
  // With GatewayOptions::https: the certificate its clients must trust.
  const std::string& ca_file() const { return ca_file_; }
  // Stops every process (ingress first), waiting for each to exit and for
  // the last of its output; the gateway serves no more.
  void Stop();
  // What every process printed so far (with capture_logs, its logs too),
  // each line prefixed with the pid of the process that printed it.
  std::string Output();

 private:
  absl::Status StopAndRestart(int signal);
  // Sends `signal` to process `process` and waits (30 s) for it to exit;
  // its exit code.
  absl::StatusOr<int> SignalAndWait(size_t process, int signal);
  struct Listeners;
  // Split layout: the process of `service`, its flags and internal address.
  struct SplitService {
    size_t process = 0;
    std::vector<std::string> flags;
    std::string internal_grpc;
  };
  void Remember(const std::string& service, std::vector<std::string> flags,
                const Listeners& listeners);
  Gateway() = default;
  struct Listeners {
    std::string public_grpc;    // empty when it hosts no public service
    std::string internal_grpc;  // empty when it hosts no internal one
    std::string metrics;        // its /metrics URL, when it serves one
  };
  // Starts `argv` with the output this gateway captures.
  absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(
      std::vector<std::string> argv) const;
  // Starts `sluice serve` with `flags`; returns where it listens.
  absl::StatusOr<Listeners> Serve(std::vector<std::string> flags);

  // Starts a helper process and returns what follows `prefix` on the line
  // it prints once ready.
  absl::StatusOr<std::string> StartHelper(std::vector<std::string> argv,
                                          absl::string_view prefix);

  std::string dir_;
  std::string ca_file_;
  std::string sluice_binary_;
  Subprocess::Capture capture_ = Subprocess::Capture::kStdout;
  std::string brokers_;
  std::string config_path_;
  std::unique_ptr<sim::Simulator> simulator_;
  std::vector<std::unique_ptr<Subprocess>> processes_;
  size_t ingress_index_ = 0;
  std::string http_base_;
  std::string ingress_grpc_;
  std::string internal_grpc_;
  std::string sim_base_;
  // Split layout: the /metrics URL of the metering and router processes.
  std::map<std::string, std::string> metrics_;
  // One-process layout: the flags it was started with.
  std::vector<std::string> one_process_flags_;
  // Split layout: an ingress replica's flags (--remote, --sqlite-path).
  std::vector<std::string> ingress_remotes_;
  std::map<std::string, SplitService> services_;
};

// Polls GET /v1/usage (as the demo tenant, or the tenant of `key`) until
// `requests` requests are counted, for up to `timeout`; the last answer (a
// test failure when it never gets there).
rapidjson::Document WaitForUsage(const Gateway& gateway, int requests,
                                 const std::string& key = kDemoKey,
                                 absl::Duration timeout = absl::Seconds(30));

}  // namespace sluice::testing

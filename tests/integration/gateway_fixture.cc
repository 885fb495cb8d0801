#include "tests/integration/gateway_fixture.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "libs/hash/sha256.h"
#include "tests/support/http_test_client.h"
#include "tests/support/self_signed_cert.h"

namespace sluice::testing {
namespace {

std::string ConfigYaml(int sim_port, const GatewayOptions& options,
                       const std::string& dir,
                       const std::vector<std::string>& workers,
                       const CertificateFiles* tls) {
  std::string pool;
  if (!workers.empty()) {
    pool = absl::StrCat("\n    workers: [", absl::StrJoin(workers, ", "),
                        "]\n    worker_routing: ",
                        options.worker_routing.empty() ? "prefix"
                                                       : options.worker_routing);
  }
  return absl::StrReplaceAll(R"yaml(
server:
  http_listen: 127.0.0.1:0
  grpc_listen: 127.0.0.1:0
  http_threads: 2
  drain_timeout: DRAINmsHTTP_TLS
kafka:
  usage_topic: sluice.usage
  usage_delivery_timeout: USAGE_TIMEOUTms
metering:
  consumer_group: sluice-metering
providers:
  - name: sim
    kind: openai
    base_url: http://127.0.0.1:SIM_PORT/v1
    timeouts: {connect: 2s, first_token: 10s, stall: 1s, total: 30s}
    limits: SIM_LIMITSKEY_ENV
  - name: sim-anthropic
    kind: anthropic
    base_url: http://127.0.0.1:SIM_PORT/v1
    timeouts: {connect: 2s, first_token: 10s, stall: 1s, total: 30s}KEY_ENV
  - name: local
    kind: worker
    timeouts: {total: 60s}WORKER_POOL
models:
  - {provider: sim, model: deepseek-chat, tokenizer: deepseek-llm, chat_template: deepseek3, context_window: 131072PRICES}
  - {provider: local, model: local, tokenizer: llama-bpe, chat_template: llama3, context_window: 1024}EXTRA_MODELS
routes:
  - {model: local, provider: local}
  - {model: deepseek-chat, provider: sim}
  - {model: deepseek-reasoner, provider: sim}
  - {model: claude-sonnet-4-5, provider: sim-anthropic}
  - model: chat-default
    provider: sim
    upstream_model: deepseek-chat
    tasks:
      - task: code_generation
        candidates: [{provider: sim, model: deepseek-coder}]
tenants:
  - name: demo
    api_key_sha256s: [DEMO_HASH]
  - name: acme
    api_key_sha256s: [ACME_HASH]
    limits: ACME_LIMITSEXTRA_TENANTS
admin:
  api_key_sha256s: [ADMIN_HASH]
keys: KEYS
logging:
  level: LOG_LEVEL
)yaml",
                             {{"SIM_PORT", std::to_string(sim_port)},
                              {"HTTP_TLS",
                               tls == nullptr
                                   ? ""
                                   : absl::StrCat("\n  http_tls: {cert_file: ",
                                                  tls->certificate,
                                                  ", key_file: ",
                                                  tls->private_key, "}")},
                              {"USAGE_TIMEOUT",
                               std::to_string(absl::ToInt64Milliseconds(
                                   options.usage_delivery_timeout))},
                              {"WORKER_POOL", pool},
                              {"KEY_ENV", options.provider_api_key.empty()
                                              ? ""
                                              : absl::StrCat(
                                                    "\n    api_key_env: ",
                                                    kProviderKeyEnv)},
                              {"LOG_LEVEL", options.log_level},
                              {"DRAIN", std::to_string(absl::ToInt64Milliseconds(
                                            options.drain_timeout))},
                              {"DEMO_HASH", hash::Sha256Hex(kDemoKey)},
                              {"ACME_HASH", hash::Sha256Hex(kAcmeKey)},
                              {"ADMIN_HASH", hash::Sha256Hex(kAdminKey)},
                              {"ACME_LIMITS", options.acme_limits.empty()
                                                  ? "{}"
                                                  : options.acme_limits},
                              {"SIM_LIMITS", options.sim_limits.empty()
                                                 ? "{}"
                                                 : options.sim_limits},
                              {"EXTRA_MODELS",
                               options.extra_models.empty()
                                   ? ""
                                   : absl::StrCat("\n  - ",
                                                  absl::StrJoin(
                                                      options.extra_models,
                                                      "\n  - "))},
                              {"EXTRA_TENANTS",
                               options.extra_tenants.empty()
                                   ? ""
                                   : absl::StrCat("\n  - ",
                                                  absl::StrJoin(
                                                      options.extra_tenants,
                                                      "\n  - "))},
                              {"PRICES", options.deepseek_prices.empty()
                                             ? ""
                                             : ", " + options.deepseek_prices},
                              {"KEYS", options.keys.empty()
                                           ? "{sqlite_path: " + dir +
                                                 "/keys.db}"
                                           : options.keys}}) +
         (options.worker_model.empty() || !workers.empty()
              ? ""
              : absl::StrCat("worker: {model_path: ", options.worker_model,
                             ", slots: 2, slot_context: 1024, threads: 2}\n")) +
         options.extra_yaml;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(
    Layout layout, const GatewayOptions& options) {
  std::unique_ptr<Gateway> gateway(new Gateway());
  char pattern[] = "/tmp/sluice-it.XXXXXX";
  if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp");
  gateway->dir_ = pattern;
  if (options.capture_logs) {
    gateway->capture_ = Subprocess::Capture::kStdoutAndStderr;
  }
  // Inherited by every process the gateway starts (the adapters read it).
  if (!options.provider_api_key.empty()) {
    setenv(kProviderKeyEnv, options.provider_api_key.c_str(), 1);
  }
  gateway->sluice_binary_ = options.sluice_binary.empty()
                                ? BuiltBinary("apps/sluice/sluice")
                                : options.sluice_binary;

  // The dev broker runs as its own process in both layouts: librdkafka's
  // mock cluster torn down inside the test process (one per test) was seen
  // to close sockets that were by then another's (the test's own HTTP
  // clients got "nothing" back, about one run in ten).
  auto brokers = gateway->StartHelper(
      {BuiltBinary("apps/sluice/sluice"), "dev-kafka"}, "BOOTSTRAP=");
  if (!brokers.ok()) return brokers.status();
  gateway->brokers_ = *brokers;
  int sim_port = 0;
  if (layout == Layout::kOneProcess) {
    sim::SimulatorOptions sim_options;
    sim_options.ttft = options.sim_ttft;
    sim_options.fill_to_max_tokens = options.sim_fill_to_max_tokens;
    sim_options.per_token = options.sim_per_token;
    sim_options.required_api_key = options.provider_api_key;
    auto simulator = sim::Simulator::Start(sim_options);
    if (!simulator.ok()) return simulator.status();
    gateway->simulator_ = *std::move(simulator);
    sim_port = gateway->simulator_->port();
  } else {
    std::vector<std::string> sim_argv = {
        BuiltBinary("tools/upstream-sim/upstream-sim"), "--listen",
        "127.0.0.1:0", "--latency-ttft-ms",
        std::to_string(absl::ToInt64Milliseconds(options.sim_ttft)),
        "--fill-to-max-tokens",
        options.sim_fill_to_max_tokens ? "true" : "false",
        "--latency-per-token-ms",
        std::to_string(absl::ToInt64Milliseconds(options.sim_per_token))};
    if (!options.provider_api_key.empty()) {
      sim_argv.insert(sim_argv.end(), {"--api-key", options.provider_api_key});
    }
    auto sim = gateway->StartHelper(std::move(sim_argv),
                                    "upstream-sim listening on 127.0.0.1:");
    if (!sim.ok()) return sim.status();
    if (!absl::SimpleAtoi(*sim, &sim_port)) {
      return absl::InternalError("upstream-sim printed no port");
    }
  }

  gateway->sim_base_ = absl::StrCat("http://127.0.0.1:", sim_port);
  // Worker processes of their own, with a config of their own: the
  // gateway's config names their addresses.
  std::vector<std::string> workers;
  if (options.worker_processes > 0) {
    setenv("SLUICE_INTERNAL_SECRET", kInternalSecret, 1);
    std::string worker_config = gateway->dir_ + "/worker.yaml";
    std::ofstream(worker_config) << absl::StrCat(
        "server: {internal_listen: 127.0.0.1:0}\n"
        "services: [worker]\n"
        "worker: {model_path: ", options.worker_model,
        ", slots: 2, slot_context: 1024, threads: 1}\n"
        "logging: {level: warn}\n");
    for (int i = 0; i < options.worker_processes; ++i) {
      auto process = gateway->Spawn(
          {gateway->sluice_binary_, "serve", "--config", worker_config});
      if (!process.ok()) return process.status();
      gateway->processes_.push_back(*std::move(process));
      auto line = gateway->processes_.back()->WaitForLine(
          "internal gRPC listening on ", absl::Seconds(30));
      if (!line.ok()) return line.status();
      workers.push_back(line->substr(line->rfind(' ') + 1));
    }
  }
  std::optional<CertificateFiles> tls;
  if (options.https) {
    absl::StatusOr<CertificateFiles> files =
        WriteSelfSignedCertificate(gateway->dir_);
    if (!files.ok()) return files.status();
    tls = *files;
    gateway->ca_file_ = tls->certificate;
  }
  gateway->config_path_ = gateway->dir_ + "/sluice.yaml";
  std::ofstream(gateway->config_path_)
      << ConfigYaml(sim_port, options, gateway->dir_, workers,
                    tls.has_value() ? &*tls : nullptr);
  std::string sqlite = gateway->dir_ + "/metering.db";

  if (layout == Layout::kOneProcess) {
    gateway->one_process_flags_ = {"--sqlite-path", sqlite};
    auto one = gateway->Serve(gateway->one_process_flags_);
    if (!one.ok()) return one.status();
    gateway->ingress_index_ = gateway->processes_.size() - 1;
    gateway->ingress_grpc_ = one->public_grpc;
    gateway->internal_grpc_ = one->internal_grpc;
  } else {
    // The processes share the internal secret (inherited from here).
    setenv("SLUICE_INTERNAL_SECRET", kInternalSecret, 1);
    std::vector<std::string> metering_flags = {
        "--services", "metering", "--sqlite-path", sqlite, "--metrics-listen",
        "127.0.0.1:0"};
    auto metering = gateway->Serve(metering_flags);
    if (!metering.ok()) return metering.status();
    gateway->Remember("metering", metering_flags, *metering);
    gateway->metrics_["metering"] = metering->metrics;
    // Every process that records spans sends them to metering (as a
    // deployment's shared config lists it among the remotes).
    const std::string metering_remote = "metering=" + metering->internal_grpc;
    std::vector<std::string> adapters_flags = {"--services", "adapters",
                                               "--remote", metering_remote};
    if (!options.worker_model.empty()) {
      auto worker = gateway->Serve({"--services", "worker"});
      if (!worker.ok()) return worker.status();
      adapters_flags.insert(adapters_flags.end(),
                            {"--remote", "worker=" + worker->internal_grpc});
    }
    auto adapters = gateway->Serve(adapters_flags);
    if (!adapters.ok()) return adapters.status();
    gateway->Remember("adapters", adapters_flags, *adapters);
    std::vector<std::string> cache_flags = {"--services", "cache"};
    auto cache = gateway->Serve(cache_flags);
    if (!cache.ok()) return cache.status();
    gateway->Remember("cache", cache_flags, *cache);
    std::vector<std::string> router_flags = {
        "--services", "router,scheduler", "--remote",
        "adapters=" + adapters->internal_grpc, "--remote",
        "cache=" + cache->internal_grpc, "--remote", metering_remote,
        "--metrics-listen", "127.0.0.1:0"};
    auto router = gateway->Serve(router_flags);
    if (!router.ok()) return router.status();
    gateway->Remember("router", router_flags, *router);
    gateway->metrics_["router"] = router->metrics;
    gateway->internal_grpc_ = router->internal_grpc;
    // (--sqlite-path puts ingress's job store beside metering's database,
    // in this gateway's directory, not in the test's working directory.)
    gateway->ingress_remotes_ = {
        "--remote", "router=" + router->internal_grpc,
        "--remote", "metering=" + metering->internal_grpc,
        "--remote", "cache=" + cache->internal_grpc,
        "--sqlite-path", sqlite};
    std::vector<std::string> flags = {"--services", "ingress"};
    flags.insert(flags.end(), gateway->ingress_remotes_.begin(),
                 gateway->ingress_remotes_.end());
    auto ingress = gateway->Serve(flags);
    if (!ingress.ok()) return ingress.status();
    gateway->ingress_index_ = gateway->processes_.size() - 1;
    gateway->ingress_grpc_ = ingress->public_grpc;
  }
  return gateway;
}

absl::StatusOr<int> Gateway::SignalAndWait(size_t process, int signal) {
  Subprocess& old = *processes_[process];
  ::kill(old.pid(), signal);
  return old.Wait(absl::Seconds(30));
}

absl::Status Gateway::KillAndRestart() { return StopAndRestart(SIGKILL); }

absl::Status Gateway::TerminateAndRestart() { return StopAndRestart(SIGTERM); }

absl::Status Gateway::StopAndRestart(int signal) {
  if (one_process_flags_.empty()) {
    return absl::FailedPreconditionError("restart: not a one-process gateway");
  }
  absl::StatusOr<int> code = SignalAndWait(ingress_index_, signal);
  if (!code.ok()) return code.status();
  if (signal == SIGTERM && *code != 0) {
    return absl::InternalError(
        absl::StrCat("sluice exited with ", *code, " after SIGTERM"));
  }
  auto one = Serve(one_process_flags_);
  if (!one.ok()) return one.status();
  ingress_index_ = processes_.size() - 1;
  ingress_grpc_ = one->public_grpc;
  internal_grpc_ = one->internal_grpc;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Subprocess>> Gateway::Spawn(
    std::vector<std::string> argv) const {
  return Subprocess::Start(std::move(argv), capture_);
}

absl::StatusOr<std::string> Gateway::StartHelper(std::vector<std::string> argv,
                                                absl::string_view prefix) {
  auto process = Spawn(std::move(argv));
  if (!process.ok()) return process.status();
  Subprocess& p = **process;
  processes_.push_back(*std::move(process));
  auto line = p.WaitForLine(prefix, absl::Seconds(30));
  if (!line.ok()) return line.status();
  return line->substr(line->find(std::string(prefix)) + prefix.size());
}

absl::StatusOr<Gateway::Listeners> Gateway::Serve(
    std::vector<std::string> flags) {
  std::vector<std::string> argv = {sluice_binary_, "serve",
                                   "--config", config_path_, "--kafka-brokers",
                                   brokers_};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto process = Spawn(argv);
  if (!process.ok()) return process.status();
  Subprocess& p = **process;
  processes_.push_back(*std::move(process));
  auto ready = p.WaitForLine("sluice: ready", absl::Seconds(30));
  if (!ready.ok()) return ready.status();
  // Every line before "ready" has been read by now.
  auto after = [&p](absl::string_view prefix) -> std::string {
    auto line = p.WaitForLine(prefix, absl::Milliseconds(1));
    return line.ok() ? line->substr(line->rfind(' ') + 1) : "";
  };
  Listeners listeners{after("public gRPC listening on "),
                      after("internal gRPC listening on "),
                      after("metrics listening on ")};
  std::string http = after("HTTP listening on ");
  if (!http.empty()) http_base_ = http;
  return listeners;
}

void Gateway::Remember(const std::string& service,
                       std::vector<std::string> flags,
                       const Listeners& listeners) {
  services_[service] = {processes_.size() - 1, std::move(flags),
                        listeners.internal_grpc};
}

absl::Status Gateway::KillAndRestartService(const std::string& service) {
  auto it = services_.find(service);
  if (it == services_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no process of its own hosts ", service));
  }
  SplitService& split = it->second;
  absl::StatusOr<int> code = SignalAndWait(split.process, SIGKILL);
  if (!code.ok()) return code.status();
  // On the same internal address: its callers keep theirs.
  std::vector<std::string> flags = split.flags;
  flags.insert(flags.end(), {"--internal-listen", split.internal_grpc});
  absl::StatusOr<Listeners> listeners = Serve(flags);
  if (!listeners.ok()) return listeners.status();
  split.process = processes_.size() - 1;
  return absl::OkStatus();
}

absl::Status Gateway::KillAndRestartIngress() {
  if (ingress_remotes_.empty()) {
    return absl::FailedPreconditionError("needs the split layout");
  }
  absl::StatusOr<int> code = SignalAndWait(ingress_index_, SIGKILL);
  if (!code.ok()) return code.status();
  std::string address = http_base_.substr(http_base_.find("//") + 2);
  std::vector<std::string> flags = {"--services", "ingress", "--http-listen",
                                    address};
  flags.insert(flags.end(), ingress_remotes_.begin(), ingress_remotes_.end());
  absl::StatusOr<Listeners> listeners = Serve(flags);
  if (!listeners.ok()) return listeners.status();
  ingress_index_ = processes_.size() - 1;
  ingress_grpc_ = listeners->public_grpc;
  return absl::OkStatus();
}

absl::StatusOr<std::string> Gateway::AddIngressReplica() {
  if (ingress_remotes_.empty()) {
    return absl::FailedPreconditionError("replicas need the split layout");
  }
  std::string first = http_base_;
  std::vector<std::string> flags = {"--services", "ingress"};
  flags.insert(flags.end(), ingress_remotes_.begin(), ingress_remotes_.end());
  absl::StatusOr<Listeners> listeners = Serve(flags);
  if (!listeners.ok()) return listeners.status();
  std::string replica = http_base_;
  http_base_ = first;
  return replica;
}

absl::StatusOr<std::vector<std::string>> Gateway::IngressReplicas(
    int count) {
  std::vector<std::string> bases = {http_base_};
  while (static_cast<int>(bases.size()) < count) {
    absl::StatusOr<std::string> replica = AddIngressReplica();
    if (!replica.ok()) return replica.status();
    bases.push_back(*replica);
  }
  return bases;
}

std::string SharedAdmissionYaml(const std::string& address) {
  return absl::StrCat("admission:\n  redis: ", address,
                      "\n  fail_closed: true\n  redis_timeout: 5s\n");
}

int64_t Gateway::UpstreamRequests() const {
  HttpAnswer stats = HttpCall("GET", sim_base_ + "/sim/stats");
  size_t at = stats.body.find("\"requests\":");
  if (stats.status != 200 || at == std::string::npos) return -1;
  int64_t requests = -1;
  absl::string_view rest = absl::string_view(stats.body).substr(at + 11);
  absl::SimpleAtoi(rest.substr(0, rest.find_first_of(",}")), &requests);
  return requests;
}

void Gateway::Stop() {
  // Reverse order of start: ingress first.
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) {
    (*it)->Terminate();
    (*it)->WaitForEndOfOutput(absl::Seconds(10)).IgnoreError();
  }
}

std::string Gateway::Output() {
  std::string out;
  for (const auto& process : processes_) {
    for (absl::string_view line :
         absl::StrSplit(process->Output(), '\n', absl::SkipEmpty())) {
      absl::StrAppend(&out, "[pid ", process->pid(), "] ", line, "\n");
    }
  }
  return out;
}

Gateway::~Gateway() {
  // Stop in reverse order of start: ingress first.
  while (!processes_.empty()) processes_.pop_back();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

rapidjson::Document WaitForUsage(const Gateway& gateway, int requests,
                                 const std::string& key,
                                 absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (absl::Now() < deadline) {
    HttpAnswer answer = HttpCall("GET", gateway.http_base() + "/v1/usage",
                                 {absl::StrCat("Authorization: Bearer ", key)});
    last = answer.body;
    if (answer.status == 200) {
      rapidjson::Document doc;
      doc.Parse(answer.body.c_str());
      int64_t total = 0;
      if (!doc.HasParseError() && doc.HasMember("data")) {
        for (const auto& row : doc["data"].GetArray()) {
          total += row["requests"].GetInt64();
        }
      }
      if (total >= requests) return doc;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ADD_FAILURE() << "usage never reached " << requests << " requests: " << last;
  rapidjson::Document empty;
  empty.Parse("{}");
  return empty;
}

}  // namespace sluice::testing

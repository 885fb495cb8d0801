// docker-compose.yml, deploy/prometheus.yml and every manifest in deploy/k8s
// against what the code expects: each container's `sluice serve` command
// line and mounted config go through the real flag parser and config
// loader; service names are the ones this binary hosts and reaches
// (apps/sluice AllServices); ports, probes, scrape targets, secrets and
// autoscalers must agree with the listeners the config opens.
#include "tests/deploy/deploy_files.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "apps/sluice/serve.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "libs/host/internal_auth.h"
#include "services/adapters/adapters.h"
#include "services/ingress/ingress_service.h"
#include "services/metering/metering.h"
#include "services/router/router.h"
#include "services/worker/worker.h"

namespace sluice::deploy_test {
namespace {

struct Files {
  std::string source;
  absl::StatusOr<ComposeFile> compose = absl::UnknownError("not read");
  absl::StatusOr<K8sFiles> k8s = absl::UnknownError("not read");
};

const Files& Read() {
  static const Files* files = [] {
    auto* f = new Files();
    const char* source = std::getenv("SLUICE_SOURCE_DIR");
    f->source = source == nullptr ? "" : source;
    std::string scratch =
        absl::StrCat(std::filesystem::temp_directory_path().string(),
                     "/deploy_files_test-", getpid());
    std::filesystem::create_directories(scratch);
    f->compose = ReadCompose(f->source);
    f->k8s = ReadK8s(f->source, scratch);
    std::filesystem::remove_all(scratch);  // read as the pods were parsed
    return f;
  }();
  return *files;
}

class DeployFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Read().source.empty()) << "run through ctest";
    ASSERT_TRUE(Read().compose.ok()) << Read().compose.status();
    ASSERT_TRUE(Read().k8s.ok()) << Read().k8s.status();
    compose_ = &*Read().compose;
    k8s_ = &*Read().k8s;
  }
  // Compose's processes, then k8s's.
  std::vector<const SluiceProcess*> All() const {
    std::vector<const SluiceProcess*> all;
    for (const auto& p : compose_->processes) all.push_back(&p);
    for (const auto& p : k8s_->processes) all.push_back(&p);
    return all;
  }
  const ComposeFile* compose_ = nullptr;
  const K8sFiles* k8s_ = nullptr;
};

const host::HostDefinition& Binary() {
  static const host::HostDefinition* definition =
      new host::HostDefinition(app::AllServices());
  return *definition;
}

bool Hostable(const std::string& name) {
  for (const auto& s : Binary().services) {
    if (s.name == name) return true;
  }
  return false;
}

// Services with a gRPC client: the ones other processes call remotely,
// which the internal listener serves.
bool Reachable(const std::string& name) {
  for (const auto& c : Binary().clients) {
    if (c.name == name) return true;
  }
  return false;
}

bool Hosts(const SluiceProcess& p, const std::string& service) {
  if (!p.config.ok()) return false;
  for (const std::string& s : p.config->services()) {
    if (s == service) return true;
  }
  return false;
}

// What the process listens on: "http", "grpc" (ingress), "internal" (a
// service others reach), "metrics" → port; an error for a listener the
// other containers cannot reach (loopback, port 0).
absl::StatusOr<std::map<std::string, int>> Listeners(const SluiceProcess& p) {
  if (!p.config.ok()) return p.config.status();
  const sluice::v1::ServerConfig& server = p.config->server();
  std::vector<std::pair<std::string, std::string>> wanted;
  if (!server.metrics_listen().empty()) {
    wanted.emplace_back("metrics", server.metrics_listen());
  }
  if (Hosts(p, ingress::kServiceName)) {
    wanted.emplace_back("http", server.http_listen());
    wanted.emplace_back("grpc", server.grpc_listen());
  }
  for (const std::string& s : p.config->services()) {
    if (Reachable(s)) {
      wanted.emplace_back("internal", server.internal_listen());
      break;
    }
  }
  std::map<std::string, int> out;
  for (const auto& [what, address] : wanted) {
    absl::StatusOr<int> port = ListenPort(address);
    if (!port.ok()) return port.status();
    if (*port == 0 || absl::StartsWith(address, "127.") ||
        absl::StartsWith(address, "localhost:") ||
        absl::StartsWith(address, "[::1]")) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " listens on ", address, ": other containers cannot reach it"));
    }
    out[what] = *port;
  }
  return out;
}

int MetricsPort(const SluiceProcess& p) {
  absl::StatusOr<std::map<std::string, int>> l = Listeners(p);
  return l.ok() && l->contains("metrics") ? l->at("metrics") : -1;
}

const SluiceProcess* ComposeProcess(const ComposeFile& compose,
                                    const std::string& name) {
  for (const auto& p : compose.processes) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// The workload (Deployment or StatefulSet) a Service selects; null when
// none or several.
const K8sObject* Selected(const K8sFiles& k8s, const K8sObject& service) {
  const YAML::Node selector = At(service.node, {"spec", "selector"});
  const K8sObject* found = nullptr;
  for (const K8sObject& w : k8s.objects) {
    if (w.kind != "Deployment" && w.kind != "StatefulSet") continue;
    const YAML::Node labels =
        At(w.node, {"spec", "template", "metadata", "labels"});
    bool all = selector.IsMap() && selector.size() > 0;
    for (const auto& kv : selector) {
      all = all && At(labels, {kv.first.Scalar()}) &&
            At(labels, {kv.first.Scalar()}).Scalar() == kv.second.Scalar();
    }
    if (!all) continue;
    if (found != nullptr) return nullptr;
    found = &w;
  }
  return found;
}

// A container port given by number or by name; -1 when it names none.
int ResolvePort(const YAML::Node& container, const YAML::Node& port) {
  int number = 0;
  if (absl::SimpleAtoi(port.Scalar(), &number)) return number;
  for (const YAML::Node& p : At(container, {"ports"})) {
    if (At(p, {"name"}).as<std::string>("") == port.Scalar()) {
      return At(p, {"containerPort"}).as<int>(-1);
    }
  }
  return -1;
}

const SluiceProcess* K8sProcess(const K8sFiles& k8s, const std::string& name) {
  for (const auto& p : k8s.processes) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// The host and port of "host:port" (a Service, a compose service).
std::pair<std::string, int> HostPort(absl::string_view address) {
  size_t colon = address.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return {std::string(address), -1};
  }
  return {std::string(address.substr(0, colon)), port};
}

bool LooksLikeKey(absl::string_view value) {
  static const std::regex* kKnown = new std::regex(
      "(\\b(sk-|sk_|AKIA|ghp_|xox[abp]-)[A-Za-z0-9_\\-]{12,})|-----BEGIN");
  static const std::regex* kOpaque =
      new std::regex("(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\\-+/=.]{16,}");
  const std::string v(value);
  return std::regex_search(v, *kKnown) || std::regex_match(v, *kOpaque);
}

TEST_F(DeployFilesTest, ConfigFilesLoadWithTheRealLoaderAndShipNoKey) {
  const std::string path = Read().source + "/deploy/sluice.yaml";
  absl::StatusOr<sluice::v1::Config> file = LoadConfigIn(path, {});
  ASSERT_TRUE(file.ok()) << file.status();
  const K8sObject* map = k8s_->Find("ConfigMap", "sluice-config");
  ASSERT_NE(map, nullptr) << "deploy/k8s has no ConfigMap sluice-config";
  ASSERT_TRUE(At(map->node, {"data", "sluice.yaml"}))
      << "no data key sluice.yaml";
  for (const SluiceProcess* p : All()) {
    ASSERT_TRUE(p->config.ok()) << p->where << ": " << p->config.status();
  }
  // What every k8s pod loads is deploy/sluice.yaml.
  for (const SluiceProcess& p : k8s_->processes) {
    absl::StatusOr<sluice::v1::Config> from_map =
        LoadConfigIn(path, p.env);  // the file, in the pod's environment
    ASSERT_TRUE(from_map.ok());
    sluice::v1::Config mounted = *p.config;
    mounted.clear_services();
    mounted.clear_remotes();
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(mounted, *from_map))
        << p.where << ": the ConfigMap's sluice.yaml differs from "
        << "deploy/sluice.yaml (regenerate it: see configmap.yaml)";
  }
  for (const SluiceProcess* p : All()) {
    for (const auto& tenant : p->config->tenants()) {
      EXPECT_EQ(tenant.api_key_sha256s_size(), 0)
          << p->where << ": tenant " << tenant.name() << " ships a key";
    }
    EXPECT_EQ(p->config->admin().api_key_sha256s_size(), 0) << p->where;
  }
}

TEST_F(DeployFilesTest, EachContainerHostsServicesThisBinaryCanHost) {
  std::set<std::string> hosted_by_compose, hosted_by_k8s;
  for (const SluiceProcess* p : All()) {
    ASSERT_TRUE(p->config.ok()) << p->where << ": " << p->config.status();
    EXPECT_GT(p->config->services_size(), 0)
        << p->where << ": --services missing (it would host everything)";
    for (const std::string& s : p->config->services()) {
      EXPECT_TRUE(Hostable(s))
          << p->where << ": `sluice serve` cannot host " << s;
      (p->in_k8s ? hosted_by_k8s : hosted_by_compose).insert(s);
    }
  }
  // Every service runs somewhere, in both deployments.
  for (const auto& s : Binary().services) {
    EXPECT_TRUE(hosted_by_compose.contains(s.name))
        << "no compose container hosts " << s.name;
    EXPECT_TRUE(hosted_by_k8s.contains(s.name))
        << "no k8s Deployment hosts " << s.name;
  }
}

TEST_F(DeployFilesTest, RemotesPointAtTheInternalListenerOfTheirHost) {
  for (const SluiceProcess* p : All()) {
    ASSERT_TRUE(p->config.ok()) << p->where << ": " << p->config.status();
    for (const auto& remote : p->config->remotes()) {
      const std::string what = absl::StrCat(
          p->where, ": --remote ", remote.name(), "=", remote.address());
      EXPECT_TRUE(Reachable(remote.name()))
          << what << ": `sluice serve` has no client of " << remote.name();
      EXPECT_FALSE(Hosts(*p, remote.name())) << what << ": hosted here too";
      auto [host, port] = HostPort(remote.address());
      ASSERT_GT(port, 0) << what << ": not host:port";
      const SluiceProcess* target = nullptr;
      if (!p->in_k8s) {
        target = ComposeProcess(*compose_, host);
        ASSERT_NE(target, nullptr)
            << what << ": no sluice compose service " << host;
      } else {
        const K8sObject* service = k8s_->Find("Service", host);
        ASSERT_NE(service, nullptr) << what << ": no Service " << host;
        const K8sObject* workload = Selected(*k8s_, *service);
        ASSERT_NE(workload, nullptr)
            << what << ": Service " << host << " selects no single workload";
        target = K8sProcess(*k8s_, workload->name);
        ASSERT_NE(target, nullptr)
            << what << ": " << workload->name << " does not run sluice";
        int target_port = -1;
        for (const YAML::Node& sp : At(service->node, {"spec", "ports"})) {
          if (At(sp, {"port"}).as<int>(-1) != port) continue;
          target_port = ResolvePort(
              target->container, At(sp, {"targetPort"}) ? At(sp, {"targetPort"})
                                                        : At(sp, {"port"}));
        }
        ASSERT_GT(target_port, 0)
            << what << ": Service " << host << " has no port " << port;
        port = target_port;  // what the pod must listen on
      }
      EXPECT_TRUE(Hosts(*target, remote.name()))
          << what << ": " << target->where << " does not host "
          << remote.name();
      absl::StatusOr<std::map<std::string, int>> listeners = Listeners(*target);
      ASSERT_TRUE(listeners.ok())
          << target->where << ": " << listeners.status();
      EXPECT_TRUE(listeners->contains("internal") &&
                  listeners->at("internal") == port)
          << what << ": " << target->where << "'s internal listener is not on "
          << port;
    }
  }
}

TEST_F(DeployFilesTest, ContainerPortsAreTheListenersOfTheConfig) {
  for (const SluiceProcess* p : All()) {
    absl::StatusOr<std::map<std::string, int>> listeners = Listeners(*p);
    ASSERT_TRUE(listeners.ok()) << p->where << ": " << listeners.status();
    EXPECT_TRUE(listeners->contains("metrics"))
        << p->where << ": no server.metrics_listen (/metrics, /ready)";
    std::set<int> listening;
    for (const auto& [what, port] : *listeners) listening.insert(port);
    for (const auto& [port, name] : p->declared_ports) {
      EXPECT_TRUE(listening.contains(port))
          << p->where << ": declares port " << port
          << ", which the config does not listen on";
    }
    if (p->in_k8s) {  // k8s: every listener is declared
      for (const auto& [what, port] : *listeners) {
        EXPECT_TRUE(p->declared_ports.contains(port))
            << p->where << ": the " << what << " listener's port " << port
            << " is not a containerPort";
      }
    }
  }
}

TEST_F(DeployFilesTest, SecretsAndKeysReachTheProcessesThatNeedThem) {
  for (const SluiceProcess* p : All()) {
    ASSERT_TRUE(p->config.ok()) << p->where << ": " << p->config.status();
    std::set<std::string> needed;
    const std::string& secret_env = p->config->server().internal_secret_env();
    needed.insert(secret_env.empty() ? std::string(host::kDefaultSecretEnv)
                                     : secret_env);
    if (Hosts(*p, adapters::kServiceName)) {
      for (const auto& provider : p->config->providers()) {
        if (!provider.api_key_env().empty()) {
          needed.insert(provider.api_key_env());
        }
        for (const auto& e : provider.api_key_envs()) needed.insert(e);
      }
    }
    // libpq takes the password from PGPASSWORD when the DSN has none.
    std::vector<std::string> dsns;
    if (Hosts(*p, metering::kServiceName)) {
      dsns.push_back(p->config->metering().postgres_dsn());
    }
    if (Hosts(*p, ingress::kServiceName)) {
      dsns.push_back(p->config->keys().postgres_dsn());
      dsns.push_back(p->config->jobs().postgres_dsn());
    }
    for (const std::string& dsn : dsns) {
      if (!dsn.empty() && !absl::StrContains(dsn, "password")) {
        needed.insert("PGPASSWORD");
      }
    }
    for (const std::string& name : needed) {
      auto it = p->env.find(name);
      ASSERT_NE(it, p->env.end()) << p->where << ": " << name << " not set";
      EXPECT_FALSE(it->second.literal)
          << p->where << ": " << name
          << " is written in the file; take it from the environment / a Secret";
    }
    for (const auto& [name, var] : p->env) {
      if (var.secret.empty()) continue;
      const K8sObject* secret = k8s_->Find("Secret", var.secret);
      ASSERT_NE(secret, nullptr)
          << p->where << ": " << name << " refers to no Secret " << var.secret;
      EXPECT_TRUE(At(secret->node, {"stringData", var.secret_key}) ||
                  At(secret->node, {"data", var.secret_key}))
          << p->where << ": Secret " << var.secret << " has no key "
          << var.secret_key;
    }
  }
}

TEST_F(DeployFilesTest, NoFileShipsAKey) {
  for (const K8sObject* secret : k8s_->OfKind("Secret")) {
    for (const char* field : {"stringData", "data"}) {
      for (const auto& kv : At(secret->node, {field})) {
        std::string value = kv.second.as<std::string>("");
        if (std::string(field) == "data") {
          ASSERT_TRUE(absl::Base64Unescape(value, &value)) << secret->name;
        }
        EXPECT_FALSE(LooksLikeKey(value))
            << secret->file << ": Secret " << secret->name << " holds a key in "
            << kv.first.Scalar();
      }
    }
  }
  for (const SluiceProcess* p : All()) {
    for (const auto& [name, var] : p->env) {
      if (var.literal) {
        EXPECT_FALSE(LooksLikeKey(var.value)) << p->where << ": " << name;
      }
    }
  }
}

TEST_F(DeployFilesTest, PrometheusScrapesEveryProcessOnItsMetricsPort) {
  // Compose: deploy/prometheus.yml, mounted into the prometheus service.
  ASSERT_TRUE(At(compose_->root, {"services", "prometheus"}));
  bool mounted = false;
  for (const YAML::Node& v :
       At(compose_->root, {"services", "prometheus", "volumes"})) {
    mounted =
        mounted || absl::StartsWith(v.Scalar(), "./deploy/prometheus.yml:");
  }
  EXPECT_TRUE(mounted) << "compose's prometheus does not mount "
                       << "deploy/prometheus.yml";
  YAML::Node prometheus;
  ASSERT_NO_THROW(prometheus =
                      YAML::LoadFile(Read().source + "/deploy/prometheus.yml"));
  std::set<std::pair<std::string, int>> targets;
  for (const YAML::Node& job : At(prometheus, {"scrape_configs"})) {
    for (const YAML::Node& s : At(job, {"static_configs"})) {
      for (const YAML::Node& t : At(s, {"targets"})) {
        targets.insert(HostPort(t.Scalar()));
      }
    }
    for (const YAML::Node& d : At(job, {"dns_sd_configs"})) {
      for (const YAML::Node& n : At(d, {"names"})) {
        targets.emplace(n.Scalar(), At(d, {"port"}).as<int>(-1));
      }
    }
  }
  for (const SluiceProcess& p : compose_->processes) {
    EXPECT_TRUE(targets.contains({p.name, MetricsPort(p)}))
        << "deploy/prometheus.yml does not scrape " << p.name << ":"
        << MetricsPort(p);
  }
  for (const auto& [host, port] : targets) {
    if (host == "localhost") continue;  // Prometheus itself
    const SluiceProcess* p = ComposeProcess(*compose_, host);
    ASSERT_NE(p, nullptr) << "deploy/prometheus.yml scrapes " << host
                          << ", no sluice compose service";
    EXPECT_EQ(port, MetricsPort(*p))
        << "deploy/prometheus.yml scrapes " << host << " on " << port;
  }
  // k8s: the annotations Prometheus's pod discovery reads.
  for (const SluiceProcess& p : k8s_->processes) {
    const YAML::Node a =
        At(p.node, {"spec", "template", "metadata", "annotations"});
    EXPECT_EQ(At(a, {"prometheus.io/scrape"}).as<std::string>(""), "true")
        << p.where;
    EXPECT_EQ(At(a, {"prometheus.io/port"}).as<std::string>(""),
              absl::StrCat(MetricsPort(p)))
        << p.where;
    EXPECT_EQ(At(a, {"prometheus.io/path"}).as<std::string>("/metrics"),
              "/metrics")
        << p.where;
  }
}

TEST_F(DeployFilesTest, ReadinessAsksReadyOnAPortThatServesIt) {
  for (const SluiceProcess* p : All()) {
    absl::StatusOr<std::map<std::string, int>> listeners = Listeners(*p);
    ASSERT_TRUE(listeners.ok()) << p->where << ": " << listeners.status();
    // The metrics listener's /ready (libs/host), and ingress's API's.
    std::set<int> serving_ready;
    for (const char* what : {"metrics", "http"}) {
      if (listeners->contains(what)) serving_ready.insert(listeners->at(what));
    }
    if (p->in_k8s) {
      const YAML::Node get = At(p->container, {"readinessProbe", "httpGet"});
      ASSERT_TRUE(get) << p->where << ": no readinessProbe.httpGet";
      EXPECT_EQ(At(get, {"path"}).as<std::string>(""), "/ready") << p->where;
      int port = ResolvePort(p->container, At(get, {"port"}));
      EXPECT_TRUE(serving_ready.contains(port))
          << p->where << ": readiness probed on port " << port
          << ", which serves no /ready";
    } else {
      std::string test = absl::StrJoin(
          At(p->node, {"healthcheck", "test"})
              .as<std::vector<std::string>>(std::vector<std::string>()),
          " ");
      std::smatch m;
      ASSERT_TRUE(std::regex_search(test, m, std::regex(":([0-9]+)/ready\\b")))
          << p->where << ": the healthcheck does not ask /ready: " << test;
      EXPECT_TRUE(serving_ready.contains(std::stoi(m[1].str())))
          << p->where << ": /ready asked on " << m[1] << ", which serves none";
    }
  }
}

TEST_F(DeployFilesTest, AutoscalersTargetDeploymentsOfTheScalableServices) {
  std::set<std::string> scaled;
  for (const K8sObject* hpa : k8s_->OfKind("HorizontalPodAutoscaler")) {
    const YAML::Node ref = At(hpa->node, {"spec", "scaleTargetRef"});
    const std::string name = At(ref, {"name"}).as<std::string>("");
    EXPECT_EQ(At(ref, {"kind"}).as<std::string>(""), "Deployment") << hpa->file;
    const SluiceProcess* p = K8sProcess(*k8s_, name);
    ASSERT_NE(p, nullptr) << hpa->file << ": HPA " << hpa->name
                          << " targets no sluice Deployment " << name;
    scaled.insert(name);
    EXPECT_LE(At(hpa->node, {"spec", "minReplicas"}).as<int>(1),
              At(hpa->node, {"spec", "maxReplicas"}).as<int>(0))
        << hpa->file;
    for (const YAML::Node& m : At(hpa->node, {"spec", "metrics"})) {
      const std::string resource =
          At(m, {"resource", "name"}).as<std::string>("");
      if (resource.empty()) continue;
      EXPECT_TRUE(At(p->container, {"resources", "requests", resource}))
          << hpa->file << ": scales on " << resource << " utilization but "
          << name << " requests no " << resource;
    }
  }
  for (const char* service : {ingress::kServiceName, router::kServiceName,
                              adapters::kServiceName, worker::kServiceName}) {
    bool found = false;
    for (const SluiceProcess& p : k8s_->processes) {
      if (Hosts(p, service)) found = found || scaled.contains(p.name);
    }
    EXPECT_TRUE(found) << "no HPA scales the Deployment hosting " << service;
  }
}

TEST_F(DeployFilesTest, TheWorkerRunsOnGpuNodes) {
  bool found = false;
  for (const SluiceProcess& p : k8s_->processes) {
    if (!Hosts(p, worker::kServiceName)) continue;
    found = true;
    bool gpu_selector = false;
    for (const auto& kv :
         At(p.node, {"spec", "template", "spec", "nodeSelector"})) {
      gpu_selector =
          gpu_selector || absl::StartsWith(kv.first.Scalar(), "nvidia.com/gpu");
    }
    EXPECT_TRUE(gpu_selector) << p.where << ": no nvidia.com/gpu nodeSelector";
    EXPECT_GE(
        At(p.container, {"resources", "limits", "nvidia.com/gpu"}).as<int>(0),
        1)
        << p.where << ": no nvidia.com/gpu limit";
  }
  EXPECT_TRUE(found) << "no Deployment hosts the worker";
}

TEST_F(DeployFilesTest, IngressReplicasShareKeysAndTheJobsStore) {
  // Ingress runs several replicas (and autoscales): a SQLite file would
  // give each its own keys, batches and job results.
  for (const SluiceProcess* p : All()) {
    ASSERT_TRUE(p->config.ok()) << p->where << ": " << p->config.status();
    if (!Hosts(*p, ingress::kServiceName)) continue;
    EXPECT_FALSE(p->config->keys().postgres_dsn().empty()) << p->where;
    EXPECT_FALSE(p->config->jobs().postgres_dsn().empty()) << p->where;
  }
}

TEST_F(DeployFilesTest, SharedStoresAreServicesOfTheDeployment) {
  for (const SluiceProcess* p : All()) {
    ASSERT_TRUE(p->config.ok()) << p->where << ": " << p->config.status();
    const sluice::v1::Config& c = *p->config;
    std::vector<std::string> addresses;
    for (absl::string_view b :
         absl::StrSplit(c.kafka().brokers(), ',', absl::SkipEmpty())) {
      addresses.emplace_back(b);
    }
    for (const std::string& redis :
         {c.admission().redis(), c.cache().redis(), c.scheduler().redis()}) {
      if (!redis.empty()) addresses.push_back(redis);
    }
    for (const std::string& dsn : {c.metering().postgres_dsn(), c.keys().postgres_dsn(),
                                   c.jobs().postgres_dsn()}) {
      std::string host, port = "5432";
      for (absl::string_view part :
           absl::StrSplit(dsn, ' ', absl::SkipEmpty())) {
        if (absl::ConsumePrefix(&part, "host=")) host = std::string(part);
        if (absl::ConsumePrefix(&part, "port=")) port = std::string(part);
      }
      if (!host.empty()) addresses.push_back(absl::StrCat(host, ":", port));
    }
    EXPECT_FALSE(addresses.empty()) << p->where << ": no Kafka, Redis, SQL";
    for (const std::string& address : addresses) {
      auto [host, port] = HostPort(address);
      if (!p->in_k8s) {
        EXPECT_TRUE(compose_->services.contains(host))
            << p->where << ": " << address << " is no compose service";
        continue;
      }
      const K8sObject* service = k8s_->Find("Service", host);
      ASSERT_NE(service, nullptr) << p->where << ": no Service for " << address;
      bool has_port = false;
      for (const YAML::Node& sp : At(service->node, {"spec", "ports"})) {
        has_port = has_port || At(sp, {"port"}).as<int>(-1) == port;
      }
      EXPECT_TRUE(has_port)
          << p->where << ": Service " << host << " has no port " << port;
    }
    if (!p->in_k8s) {
      const YAML::Node depends_on = At(p->node, {"depends_on"});
      for (const auto& dep : depends_on) {
        const std::string name =
            depends_on.IsMap() ? dep.first.Scalar() : dep.Scalar();
        EXPECT_TRUE(compose_->services.contains(name))
            << p->where << ": depends on no service " << name;
      }
    }
  }
}

TEST_F(DeployFilesTest, ServicesSelectAWorkloadAndItsPorts) {
  for (const K8sObject* service : k8s_->OfKind("Service")) {
    const K8sObject* workload = Selected(*k8s_, *service);
    ASSERT_NE(workload, nullptr)
        << service->file << ": Service " << service->name
        << " selects no single Deployment or StatefulSet";
    for (const YAML::Node& sp : At(service->node, {"spec", "ports"})) {
      const YAML::Node target =
          At(sp, {"targetPort"}) ? At(sp, {"targetPort"}) : At(sp, {"port"});
      bool found = false;
      for (const YAML::Node& c :
           At(workload->node, {"spec", "template", "spec", "containers"})) {
        int port = ResolvePort(c, target);
        for (const YAML::Node& cp : At(c, {"ports"})) {
          found = found || At(cp, {"containerPort"}).as<int>(-1) == port;
        }
      }
      EXPECT_TRUE(found) << service->file << ": Service " << service->name
                         << "'s targetPort " << target.Scalar()
                         << " is no containerPort of " << workload->name;
    }
  }
  // Every pod's ConfigMap and Secret exist.
  for (const K8sObject& w : k8s_->objects) {
    for (const YAML::Node& v :
         At(w.node, {"spec", "template", "spec", "volumes"})) {
      if (At(v, {"configMap"})) {
        EXPECT_NE(
            k8s_->Find("ConfigMap", At(v, {"configMap", "name"}).Scalar()),
            nullptr)
            << w.file << ": " << w.name << " mounts a missing ConfigMap";
      }
    }
  }
}

TEST_F(DeployFilesTest, TheKustomizationListsEveryManifestButTheSecrets) {
  const K8sObject* kustomization = nullptr;
  for (const K8sObject& o : k8s_->objects) {
    if (o.kind == "Kustomization") kustomization = &o;
  }
  ASSERT_NE(kustomization, nullptr);
  std::set<std::string> listed;
  for (const YAML::Node& r : At(kustomization->node, {"resources"})) {
    listed.insert(r.Scalar());
  }
  std::set<std::string> expected;
  for (const std::string& file : k8s_->files) {
    if (file != "kustomization.yaml" && file != "secrets.yaml") {
      expected.insert(file);
    }
  }
  EXPECT_EQ(listed, expected);
}

}  // namespace
}  // namespace sluice::deploy_test

// What docker-compose.yml and deploy/k8s say about each sluice process,
// read the way the process itself reads it: its command line through
// `sluice serve`'s own flag parser, its config file (the mounted
// deploy/sluice.yaml, or the ConfigMap's copy) through the real loader, in
// the environment the container gets. For deploy_files_test.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sluice/v1/config.pb.h"

namespace sluice::deploy_test {

// An environment variable of a container.
struct EnvVar {
  // As the container sees it: compose's ${VAR:-default} gives the default,
  // a value from the host environment or a Secret a placeholder.
  std::string value;
  // Compose: written in the file rather than taken from the environment.
  bool literal = false;
  // k8s: the Secret and key it comes from ("" when none).
  std::string secret;
  std::string secret_key;
};

// One container running `sluice serve`.
struct SluiceProcess {
  std::string where;  // for messages: "docker-compose.yml: services.router"
  std::string name;   // the compose service or the k8s Deployment
  std::vector<std::string> serve_args;  // after `sluice serve`
  std::map<std::string, EnvVar> env;
  // Ports the container declares (compose: `expose` and the container side
  // of `ports`; k8s: containerPort), with their names (k8s).
  std::map<int, std::string> declared_ports;
  // The effective config (file, then flags), or why it did not load.
  absl::StatusOr<sluice::v1::Config> config =
      absl::UnknownError("not read yet");
  bool in_k8s = false;   // else in docker-compose.yml
  YAML::Node node;       // the compose service, or the k8s Deployment
  YAML::Node container;  // k8s: the sluice container
};

struct ComposeFile {
  YAML::Node root;  // with merge keys (<<) applied
  std::set<std::string> services;
  std::vector<SluiceProcess> processes;
};

// docker-compose.yml in `source_dir`.
absl::StatusOr<ComposeFile> ReadCompose(const std::string& source_dir);

struct K8sObject {
  std::string file;  // deploy/k8s/NAME.yaml
  std::string kind;
  std::string name;
  YAML::Node node;
};

struct K8sFiles {
  std::vector<std::string> files;  // every *.yaml in deploy/k8s
  std::vector<K8sObject> objects;
  std::vector<SluiceProcess> processes;  // Deployments running sluice

  const K8sObject* Find(absl::string_view kind, absl::string_view name) const;
  std::vector<const K8sObject*> OfKind(absl::string_view kind) const;
};

// Every manifest in `source_dir`/deploy/k8s. `scratch_dir` receives the
// ConfigMaps' files for the loader.
absl::StatusOr<K8sFiles> ReadK8s(const std::string& source_dir,
                                 const std::string& scratch_dir);

// node[keys[0]][keys[1]]...: where a key is missing, an undefined node
// (false, empty, as<T>(fallback) gives the fallback) rather than yaml-cpp's
// exception.
YAML::Node At(const YAML::Node& node,
              std::initializer_list<absl::string_view> keys);

// The port of a listen address ("0.0.0.0:8080" → 8080).
absl::StatusOr<int> ListenPort(absl::string_view address);

// The environment variables `config_text` takes with ${VAR}, and those of
// them without a default.
std::set<std::string> EnvReferences(absl::string_view config_text,
                                    bool only_required);

// Loads `path` with the real config loader in the environment `env`
// (variables the file references and `env` lacks are unset meanwhile).
absl::StatusOr<sluice::v1::Config> LoadConfigIn(
    const std::string& path, const std::map<std::string, EnvVar>& env);

}  // namespace sluice::deploy_test

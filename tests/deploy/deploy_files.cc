// Reads docker-compose.yml and deploy/k8s into SluiceProcesses (see
// deploy_files.h).
#include "tests/deploy/deploy_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/config/config_loader.h"
#include "libs/host/host_options.h"

namespace sluice::deploy_test {
namespace {

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Compose's merge keys (`<<: *anchor`), which yaml-cpp leaves as keys: the
// anchor's entries, then the map's own over them.
YAML::Node Merged(const YAML::Node& node) {
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const YAML::Node& item : node) out.push_back(Merged(item));
    return out;
  }
  if (!node.IsMap()) return node;
  std::vector<std::pair<std::string, YAML::Node>> entries;
  auto put = [&entries](const std::string& key, const YAML::Node& value) {
    for (auto& [k, v] : entries) {
      if (k == key) {
        v.reset(value);
        return;
      }
    }
    entries.emplace_back(key, value);
  };
  if (const YAML::Node base = At(node, {"<<"})) {
    std::vector<YAML::Node> bases;
    if (base.IsSequence()) {
      for (const YAML::Node& b : base) bases.push_back(b);
    } else {
      bases.push_back(base);
    }
    for (const YAML::Node& b : bases) {
      for (const auto& kv : Merged(b)) put(kv.first.Scalar(), kv.second);
    }
  }
  for (const auto& kv : node) {
    if (kv.first.Scalar() == "<<") continue;
    put(kv.first.Scalar(), Merged(kv.second));
  }
  YAML::Node out(YAML::NodeType::Map);
  for (auto& [key, value] : entries) out[key] = value;
  return out;
}

std::vector<std::string> Strings(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    for (absl::string_view part :
         absl::StrSplit(node.Scalar(), ' ', absl::SkipEmpty())) {
      out.emplace_back(part);
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node) out.push_back(item.Scalar());
  }
  return out;
}

// A compose value as the container sees it: `${VAR:-default}` gives the
// default, any other `${...}` (required or plain) a placeholder.
EnvVar ComposeValue(const std::string& name, const YAML::Node& value) {
  EnvVar var;
  if (!value || value.IsNull()) {  // passed through from the environment
    var.value = absl::StrCat("placeholder-", name);
    return var;
  }
  const std::string& text = value.Scalar();
  size_t start = text.find("${");
  if (start == std::string::npos) {
    var.value = text;
    var.literal = true;
    return var;
  }
  size_t end = text.find('}', start);
  std::string inner = text.substr(start + 2, end - start - 2);
  size_t name_end = inner.find_first_not_of(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
  absl::string_view op = absl::string_view(inner).substr(
      name_end == std::string::npos ? inner.size() : name_end);
  if (absl::ConsumePrefix(&op, ":-") || absl::ConsumePrefix(&op, "-")) {
    var.value = std::string(op);
  } else {
    var.value = absl::StrCat("placeholder-", name);
  }
  return var;
}

// Sets the variables of `env` among `names` and unsets the others, until
// destroyed.
class ScopedEnv {
 public:
  ScopedEnv(const std::set<std::string>& names,
            const std::map<std::string, EnvVar>& env) {
    for (const std::string& name : names) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old == nullptr
                                    ? std::nullopt
                                    : std::optional(std::string(old)));
      auto it = env.find(name);
      if (it != env.end()) {
        setenv(name.c_str(), it->second.value.c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value.has_value()) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// The index of `--config`'s value in `args`; nullopt when none.
std::optional<size_t> ConfigArg(std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) return i + 1;
    if (absl::StartsWith(args[i], "--config=")) {
      args[i] = "--config";
      args.insert(args.begin() + i + 1, args[i].substr(9));
      return i + 1;
    }
  }
  return std::nullopt;
}

// Runs `sluice serve`'s flag parser on `process` with its config file at
// `local_path` (the file the container mounts at the --config path).
void ParseIn(SluiceProcess& process, const std::string& local_path) {
  std::vector<std::string> args = process.serve_args;
  std::optional<size_t> config = ConfigArg(args);
  if (!config.has_value()) {
    process.config = absl::InvalidArgumentError("no --config");
    return;
  }
  args[*config] = local_path;
  absl::StatusOr<std::string> text = ReadText(local_path);
  if (!text.ok()) {
    process.config = text.status();
    return;
  }
  ScopedEnv env(EnvReferences(*text, /*only_required=*/false), process.env);
  process.config = host::ParseServeOptions(args);
}

// `sluice serve` arguments of a command line; an error when it is another.
absl::StatusOr<std::vector<std::string>> ServeArgs(
    const std::vector<std::string>& argv) {
  if (argv.size() < 2 || argv[0] != "sluice" || argv[1] != "serve") {
    return absl::InvalidArgumentError("the command is not `sluice serve`");
  }
  return std::vector<std::string>(argv.begin() + 2, argv.end());
}

}  // namespace

YAML::Node At(const YAML::Node& node,
              std::initializer_list<absl::string_view> keys) {
  YAML::Node at = node;
  for (absl::string_view key : keys) {
    if (!at || !at.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& parent = at;
    YAML::Node next = parent[std::string(key)];
    if (!next) return YAML::Node(YAML::NodeType::Undefined);
    at.reset(next);  // (assignment would rewrite the node `at` shares)
  }
  return at;
}

absl::StatusOr<int> ListenPort(absl::string_view address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not host:port: \"", address, "\""));
  }
  return port;
}

std::set<std::string> EnvReferences(absl::string_view text,
                                    bool only_required) {
  std::set<std::string> names;
  for (size_t at = text.find("${"); at != absl::string_view::npos;
       at = text.find("${", at + 2)) {
    size_t end = text.find('}', at);
    if (end == absl::string_view::npos) break;
    absl::string_view inner = text.substr(at + 2, end - at - 2);
    size_t sep = inner.find(":-");
    if (only_required && sep != absl::string_view::npos) continue;
    names.emplace(inner.substr(0, sep));
  }
  return names;
}

absl::StatusOr<sluice::v1::Config> LoadConfigIn(
    const std::string& path, const std::map<std::string, EnvVar>& env) {
  absl::StatusOr<std::string> text = ReadText(path);
  if (!text.ok()) return text.status();
  ScopedEnv scoped(EnvReferences(*text, /*only_required=*/false), env);
  return config::LoadConfigFile(path);
}

absl::StatusOr<ComposeFile> ReadCompose(const std::string& source_dir) {
  ComposeFile compose;
  try {
    compose.root =
        Merged(YAML::LoadFile(absl::StrCat(source_dir, "/docker-compose.yml")));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("docker-compose.yml: ", e.what()));
  }
  for (const auto& kv : At(compose.root, {"services"})) {
    const std::string name = kv.first.Scalar();
    const YAML::Node& service = kv.second;
    compose.services.insert(name);
    const std::string image =
        At(service, {"image"}) ? At(service, {"image"}).Scalar() : "";
    if (!absl::StartsWith(image, "sluice") && !At(service, {"build"})) continue;
    SluiceProcess process;
    process.where = absl::StrCat("docker-compose.yml: services.", name);
    process.name = name;
    process.node = service;
    absl::StatusOr<std::vector<std::string>> args =
        ServeArgs(Strings(At(service, {"command"})));
    if (!args.ok())
      return absl::Status(
          args.status().code(),
          absl::StrCat(process.where, ": ", args.status().message()));
    process.serve_args = *std::move(args);
    if (const YAML::Node env = At(service, {"environment"}); env.IsMap()) {
      for (const auto& e : env) {
        process.env[e.first.Scalar()] =
            ComposeValue(e.first.Scalar(), e.second);
      }
    } else if (env.IsSequence()) {
      for (const YAML::Node& e : env) {
        std::pair<std::string, std::string> parts =
            absl::StrSplit(e.Scalar(), absl::MaxSplits('=', 1));
        process.env[parts.first] =
            absl::StrContains(e.Scalar(), '=')
                ? ComposeValue(parts.first, YAML::Node(parts.second))
                : ComposeValue(parts.first, YAML::Node());
      }
    }
    for (const std::string& port : Strings(At(service, {"expose"}))) {
      int number = 0;
      if (absl::SimpleAtoi(port, &number)) process.declared_ports[number] = "";
    }
    for (const std::string& mapping : Strings(At(service, {"ports"}))) {
      // [HOST:]PUBLISHED:TARGET[/PROTOCOL] or TARGET.
      absl::string_view target = mapping;
      target = target.substr(0, target.find('/'));
      if (size_t colon = target.rfind(':'); colon != target.npos) {
        target.remove_prefix(colon + 1);
      }
      int number = 0;
      if (absl::SimpleAtoi(target, &number))
        process.declared_ports[number] = "";
    }
    // The config file: the volume mounted at --config's path.
    std::vector<std::string> args_copy = process.serve_args;
    std::optional<size_t> config = ConfigArg(args_copy);
    std::string local;
    for (const std::string& volume : Strings(At(service, {"volumes"}))) {
      std::vector<std::string> parts = absl::StrSplit(volume, ':');
      if (parts.size() >= 2 && config.has_value() &&
          parts[1] == args_copy[*config]) {
        local = absl::StartsWith(parts[0], "/")
                    ? parts[0]
                    : absl::StrCat(source_dir, "/", parts[0]);
      }
    }
    if (local.empty()) {
      process.config = absl::NotFoundError("its --config file is not mounted");
    } else {
      ParseIn(process, local);
    }
    compose.processes.push_back(std::move(process));
  }
  return compose;
}

const K8sObject* K8sFiles::Find(absl::string_view kind,
                                absl::string_view name) const {
  for (const K8sObject& object : objects) {
    if (object.kind == kind && object.name == name) return &object;
  }
  return nullptr;
}

std::vector<const K8sObject*> K8sFiles::OfKind(absl::string_view kind) const {
  std::vector<const K8sObject*> out;
  for (const K8sObject& object : objects) {
    if (object.kind == kind) out.push_back(&object);
  }
  return out;
}

absl::StatusOr<K8sFiles> ReadK8s(const std::string& source_dir,
                                 const std::string& scratch_dir) {
  K8sFiles k8s;
  const std::string dir = absl::StrCat(source_dir, "/deploy/k8s");
  if (!std::filesystem::is_directory(dir)) {
    return absl::NotFoundError(absl::StrCat(dir, " is not a directory"));
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") {
      k8s.files.push_back(entry.path().filename().string());
    }
  }
  std::sort(k8s.files.begin(), k8s.files.end());
  for (const std::string& file : k8s.files) {
    try {
      for (const YAML::Node& doc :
           YAML::LoadAllFromFile(absl::StrCat(dir, "/", file))) {
        if (!doc.IsMap()) continue;
        K8sObject object{file, At(doc, {"kind"}).as<std::string>(""),
                         At(doc, {"metadata", "name"}).as<std::string>(""),
                         doc};
        k8s.objects.push_back(std::move(object));
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(file, ": ", e.what()));
    }
  }
  for (const K8sObject* deployment : k8s.OfKind("Deployment")) {
    const YAML::Node pod = At(deployment->node, {"spec", "template", "spec"});
    for (const YAML::Node& container : At(pod, {"containers"})) {
      std::vector<std::string> argv = Strings(At(container, {"command"}));
      for (const std::string& arg : Strings(At(container, {"args"}))) {
        argv.push_back(arg);
      }
      if (argv.empty() || argv[0] != "sluice") continue;
      SluiceProcess process;
      process.where =
          absl::StrCat(deployment->file, ": Deployment ", deployment->name);
      process.name = deployment->name;
      process.node = deployment->node;
      process.container = container;
      process.in_k8s = true;
      absl::StatusOr<std::vector<std::string>> args = ServeArgs(argv);
      if (!args.ok()) {
        return absl::Status(
            args.status().code(),
            absl::StrCat(process.where, ": ", args.status().message()));
      }
      process.serve_args = *std::move(args);
      for (const YAML::Node& e : At(container, {"env"})) {
        EnvVar var;
        const std::string name = At(e, {"name"}).Scalar();
        if (At(e, {"value"})) {
          var.value = At(e, {"value"}).Scalar();
          var.literal = true;
        } else if (const YAML::Node ref =
                       At(e, {"valueFrom", "secretKeyRef"})) {
          var.secret = At(ref, {"name"}).as<std::string>("");
          var.secret_key = At(ref, {"key"}).as<std::string>("");
          var.value = absl::StrCat("placeholder-", name);
        }
        process.env[name] = var;
      }
      for (const YAML::Node& from : At(container, {"envFrom"})) {
        const std::string secret =
            At(from, {"secretRef", "name"}).as<std::string>("");
        const K8sObject* object = k8s.Find("Secret", secret);
        if (object == nullptr) continue;
        for (const char* field : {"data", "stringData"}) {
          for (const auto& kv : At(object->node, {field})) {
            process.env[kv.first.Scalar()] = {
                absl::StrCat("placeholder-", kv.first.Scalar()), false, secret,
                kv.first.Scalar()};
          }
        }
      }
      for (const YAML::Node& port : At(container, {"ports"})) {
        process.declared_ports[At(port, {"containerPort"}).as<int>(0)] =
            At(port, {"name"}).as<std::string>("");
      }
      // The config file: a ConfigMap's key mounted at --config's path.
      std::vector<std::string> args_copy = process.serve_args;
      std::optional<size_t> config = ConfigArg(args_copy);
      std::string local;
      for (const YAML::Node& mount : At(container, {"volumeMounts"})) {
        if (!config.has_value()) break;
        const std::string mount_path =
            At(mount, {"mountPath"}).as<std::string>("");
        const std::string& wanted = args_copy[*config];
        std::string key;
        if (At(mount, {"subPath"}) && mount_path == wanted) {
          key = At(mount, {"subPath"}).Scalar();
        } else if (absl::StartsWith(wanted, mount_path + "/")) {
          key = wanted.substr(mount_path.size() + 1);
        } else {
          continue;
        }
        for (const YAML::Node& volume : At(pod, {"volumes"})) {
          if (At(volume, {"name"}).as<std::string>("") !=
                  At(mount, {"name"}).Scalar() ||
              !At(volume, {"configMap"})) {
            continue;
          }
          const K8sObject* map =
              k8s.Find("ConfigMap",
                       At(volume, {"configMap", "name"}).as<std::string>(""));
          if (map == nullptr || !At(map->node, {"data", key})) continue;
          local = absl::StrCat(scratch_dir, "/", deployment->name, "-", key);
          std::ofstream(local) << At(map->node, {"data", key}).Scalar();
        }
      }
      if (local.empty()) {
        process.config = absl::NotFoundError(
            "its --config file is not a mounted ConfigMap key");
      } else {
        ParseIn(process, local);
      }
      k8s.processes.push_back(std::move(process));
    }
  }
  return k8s;
}

}  // namespace sluice::deploy_test

#include "libs/config/config_loader.h"

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "libs/config/yaml_to_proto.h"

namespace sluice::config {

absl::StatusOr<sluice::v1::Config> ParseConfig(absl::string_view yaml_text,
                                               absl::string_view source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source_name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  sluice::v1::Config config;
  if (absl::Status s = YamlToMessage(root, &config, source_name); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateConfig(config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", s.message()));
  }
  return config;
}

absl::StatusOr<sluice::v1::Config> LoadConfigFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str(), path);
}

absl::Status ValidateConfig(const sluice::v1::Config& config) {
  static const absl::flat_hash_set<std::string> kServices = {
      "ingress", "router", "adapters", "cache", "scheduler", "worker", "metering"};
  auto invalid = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(parts...));
  };
  for (int i = 0; i < config.services_size(); ++i) {
    if (!kServices.contains(config.services(i))) {
      return invalid("services[", i, "]: unknown service \"", config.services(i),
                     "\" (expected one of ingress, router, adapters, cache, "
                     "scheduler, worker, metering)");
    }
  }
  absl::flat_hash_set<std::string> providers;
  for (int i = 0; i < config.providers_size(); ++i) {
    const auto& p = config.providers(i);
    if (p.name().empty()) return invalid("providers[", i, "].name: required");
    if (p.kind() == sluice::v1::PROVIDER_KIND_UNSPECIFIED) {
      return invalid("providers[", i, "].kind: required");
    }
    if (p.kind() != sluice::v1::PROVIDER_KIND_WORKER && p.base_url().empty()) {
      return invalid("providers[", i, "].base_url: required");
    }
    if (!providers.insert(p.name()).second) {
      return invalid("providers[", i, "].name: duplicate provider \"", p.name(), "\"");
    }
  }
  absl::flat_hash_set<std::string> models;
  for (int i = 0; i < config.routes_size(); ++i) {
    const auto& r = config.routes(i);
    if (r.model().empty()) return invalid("routes[", i, "].model: required");
    if (!providers.contains(r.provider())) {
      return invalid("routes[", i, "].provider: unknown provider \"", r.provider(), "\"");
    }
    if (!models.insert(r.model()).second) {
      return invalid("routes[", i, "].model: duplicate route for \"", r.model(), "\"");
    }
  }
  for (int i = 0; i < config.remotes_size(); ++i) {
    const auto& r = config.remotes(i);
    if (!kServices.contains(r.name())) {
      return invalid("remotes[", i, "].name: unknown service \"", r.name(), "\"");
    }
    if (r.address().empty()) return invalid("remotes[", i, "].address: required");
  }
  for (int i = 0; i < config.tenants_size(); ++i) {
    const auto& t = config.tenants(i);
    if (t.name().empty()) return invalid("tenants[", i, "].name: required");
    for (int k = 0; k < t.api_key_sha256s_size(); ++k) {
      if (t.api_key_sha256s(k).size() != 64) {
        return invalid("tenants[", i, "].api_key_sha256s[", k,
                       "]: expected 64 hex digits (SHA-256 of the key)");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace sluice::config

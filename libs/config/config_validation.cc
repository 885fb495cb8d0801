// Cross-field checks of sluice.v1.Config (see config_validation.h).
#include "libs/config/config_validation.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sluice::config {
namespace {

constexpr const char* kServices[] = {"ingress",   "router", "adapters", "cache",
                                     "scheduler", "worker", "metering"};

bool IsService(absl::string_view name) {
  for (const char* service : kServices) {
    if (name == service) return true;
  }
  return false;
}

bool IsSha256Hex(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

template <typename... Parts>
std::optional<ConfigIssue> Issue(std::string path, const Parts&... problem) {
  return ConfigIssue{std::move(path), absl::StrCat(problem...)};
}

std::optional<ConfigIssue> CheckServices(const sluice::v1::Config& config) {
  for (int i = 0; i < config.services_size(); ++i) {
    if (!IsService(config.services(i))) {
      return Issue(absl::StrCat("services[", i, "]"), "unknown service \"",
                   config.services(i),
                   "\" (expected one of ingress, router, adapters, cache, "
                   "scheduler, worker, metering)");
    }
  }
  for (int i = 0; i < config.remotes_size(); ++i) {
    const sluice::v1::RemoteService& remote = config.remotes(i);
    std::string path = absl::StrCat("remotes[", i, "]");
    if (remote.name().empty()) return Issue(path + ".name", "required");
    if (!IsService(remote.name())) {
      return Issue(path + ".name", "unknown service \"", remote.name(), "\"");
    }
    if (remote.address().empty()) return Issue(path + ".address", "required");
  }
  return std::nullopt;
}

std::optional<ConfigIssue> CheckProvidersAndRoutes(
    const sluice::v1::Config& config) {
  absl::flat_hash_set<std::string> providers;
  for (int i = 0; i < config.providers_size(); ++i) {
    const sluice::v1::ProviderConfig& p = config.providers(i);
    std::string path = absl::StrCat("providers[", i, "]");
    if (p.name().empty()) return Issue(path + ".name", "required");
    if (p.kind() == sluice::v1::PROVIDER_KIND_UNSPECIFIED) {
      return Issue(path + ".kind", "required");
    }
    if (p.kind() != sluice::v1::PROVIDER_KIND_WORKER && p.base_url().empty()) {
      return Issue(path + ".base_url", "required");
    }
    if (!providers.insert(p.name()).second) {
      return Issue(path + ".name", "duplicate provider \"", p.name(), "\"");
    }
  }
  absl::flat_hash_set<std::string> models;
  for (int i = 0; i < config.routes_size(); ++i) {
    const sluice::v1::RouteConfig& r = config.routes(i);
    std::string path = absl::StrCat("routes[", i, "]");
    if (r.model().empty()) return Issue(path + ".model", "required");
    if (r.provider().empty()) return Issue(path + ".provider", "required");
    if (!providers.contains(r.provider())) {
      return Issue(path + ".provider", "unknown provider \"", r.provider(),
                   "\"");
    }
    if (!models.insert(r.model()).second) {
      return Issue(path + ".model", "duplicate route for \"", r.model(), "\"");
    }
  }
  return std::nullopt;
}

std::optional<ConfigIssue> CheckTenants(const sluice::v1::Config& config) {
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < config.tenants_size(); ++i) {
    const sluice::v1::TenantConfig& t = config.tenants(i);
    std::string path = absl::StrCat("tenants[", i, "]");
    if (t.name().empty()) return Issue(path + ".name", "required");
    if (!names.insert(t.name()).second) {
      return Issue(path + ".name", "duplicate tenant \"", t.name(), "\"");
    }
    for (int k = 0; k < t.api_key_sha256s_size(); ++k) {
      if (!IsSha256Hex(t.api_key_sha256s(k))) {
        return Issue(absl::StrCat(path, ".api_key_sha256s[", k, "]"),
                     "expected 64 hex digits (SHA-256 of the key)");
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ConfigIssue> FindConfigIssue(const sluice::v1::Config& config) {
  if (auto issue = CheckServices(config)) return issue;
  if (auto issue = CheckProvidersAndRoutes(config)) return issue;
  return CheckTenants(config);
}

absl::Status ValidateConfig(const sluice::v1::Config& config) {
  std::optional<ConfigIssue> issue = FindConfigIssue(config);
  if (!issue) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(issue->path, ": ", issue->problem));
}

}  // namespace sluice::config

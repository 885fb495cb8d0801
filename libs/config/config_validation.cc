// Cross-field checks of sluice.v1.Config (see config_validation.h).
#include "libs/config/config_validation.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/config/time_of_day.h"

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
  auto check_candidates =
      [&providers](const std::string& path,
                   const google::protobuf::RepeatedPtrField<
                       sluice::v1::RouteCandidate>& candidates)
      -> std::optional<ConfigIssue> {
    for (int c = 0; c < candidates.size(); ++c) {
      std::string at = absl::StrCat(path, ".candidates[", c, "]");
      if (candidates[c].provider().empty()) {
        return Issue(at + ".provider", "required");
      }
      if (!providers.contains(candidates[c].provider())) {
        return Issue(at + ".provider", "unknown provider \"",
                     candidates[c].provider(), "\"");
      }
      if (candidates[c].model().empty()) return Issue(at + ".model", "required");
      if (candidates[c].weight() < 0) {
        return Issue(at + ".weight", "must not be negative");
      }
    }
    return std::nullopt;
  };
  absl::flat_hash_set<std::string> models;  // "tenant\0model"
  absl::flat_hash_set<std::string> public_models;
  for (int i = 0; i < config.routes_size(); ++i) {
    const sluice::v1::RouteConfig& r = config.routes(i);
    std::string path = absl::StrCat("routes[", i, "]");
    if (r.model().empty()) return Issue(path + ".model", "required");
    if (r.provider().empty() && r.candidates().empty()) {
      return Issue(path + ".provider",
                   "required (or list the route's candidates)");
    }
    if (!r.provider().empty() && !providers.contains(r.provider())) {
      return Issue(path + ".provider", "unknown provider \"", r.provider(),
                   "\"");
    }
    if (auto issue = check_candidates(path, r.candidates())) return issue;
    for (int t = 0; t < r.tasks_size(); ++t) {
      std::string at = absl::StrCat(path, ".tasks[", t, "]");
      if (r.tasks(t).task().empty()) return Issue(at + ".task", "required");
      if (r.tasks(t).candidates().empty()) {
        return Issue(at + ".candidates", "required");
      }
      if (auto issue = check_candidates(at, r.tasks(t).candidates())) {
        return issue;
      }
    }
    if (!models.insert(absl::StrCat(r.tenant(), std::string(1, '\0'), r.model()))
             .second) {
      return Issue(path + ".model", "duplicate route for \"", r.model(), "\"",
                   r.tenant().empty() ? "" : absl::StrCat(" (tenant ", r.tenant(), ")"));
    }
    public_models.insert(r.model());
  }
  for (int i = 0; i < config.router().aliases_size(); ++i) {
    const sluice::v1::ModelAlias& alias = config.router().aliases(i);
    std::string path = absl::StrCat("router.aliases[", i, "]");
    if (alias.alias().empty()) return Issue(path + ".alias", "required");
    if (public_models.contains(alias.alias())) {
      return Issue(path + ".alias", "\"", alias.alias(),
                   "\" is already a route's model");
    }
    if (!public_models.contains(alias.model())) {
      return Issue(path + ".model", "no route for \"", alias.model(), "\"");
    }
  }
  for (int i = 0; i < config.router().task_rules_size(); ++i) {
    if (config.router().task_rules(i).task().empty()) {
      return Issue(absl::StrCat("router.task_rules[", i, "].task"), "required");
    }
  }
  for (int i = 0; i < config.models_size(); ++i) {
    const sluice::v1::ModelSpec& m = config.models(i);
    std::string path = absl::StrCat("models[", i, "]");
    if (!providers.contains(m.provider())) {
      return Issue(path + ".provider", "unknown provider \"", m.provider(),
                   "\"");
    }
    if (m.model().empty()) return Issue(path + ".model", "required");
    if (m.input_usd_per_mtok() < 0 || m.output_usd_per_mtok() < 0 ||
        m.cached_input_usd_per_mtok() < 0 || m.reasoning_usd_per_mtok() < 0) {
      return Issue(path, "prices must not be negative");
    }
    if (auto issue = FindPriceWindowIssue(m)) {
      return Issue(absl::StrCat(path, ".", issue->path), issue->problem);
    }
  }
  return std::nullopt;
}

constexpr double kMaxBudgetUsd = 1e12;

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
    const sluice::v1::TenantLimits& limits = t.limits();
    if (limits.rpm() < 0 || limits.tpm() < 0 ||
        limits.max_concurrent_streams() < 0) {
      return Issue(path + ".limits", "limits must not be negative");
    }
    // Budgets are kept in micro-USD in 64 bits.
    if (!(limits.budget_usd() >= 0 && limits.budget_usd() <= kMaxBudgetUsd)) {
      return Issue(path + ".limits.budget_usd",
                   "must be between 0 and 1e12 (USD)");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ConfigIssue> FindPriceWindowIssue(
    const sluice::v1::ModelSpec& spec) {
  for (int w = 0; w < spec.price_windows_size(); ++w) {
    const sluice::v1::PriceWindow& window = spec.price_windows(w);
    std::string path = absl::StrCat("price_windows[", w, "]");
    absl::StatusOr<int> start = ParseTimeOfDay(window.start());
    if (!start.ok()) return Issue(path + ".start", start.status().message());
    absl::StatusOr<int> end = ParseTimeOfDay(window.end());
    if (!end.ok()) return Issue(path + ".end", end.status().message());
    if (*start == *end) {
      return Issue(path + ".end", "equals start (\"", window.start(),
                   "\"): a window must not be empty or the whole day");
    }
    // !(x >= 0) also catches NaN.
    if (!(window.input_usd_per_mtok() >= 0)) {
      return Issue(path + ".input_usd_per_mtok", "must not be negative");
    }
    if (!(window.output_usd_per_mtok() >= 0)) {
      return Issue(path + ".output_usd_per_mtok", "must not be negative");
    }
    if (!(window.cached_input_usd_per_mtok() >= 0)) {
      return Issue(path + ".cached_input_usd_per_mtok", "must not be negative");
    }
    if (!(window.reasoning_usd_per_mtok() >= 0)) {
      return Issue(path + ".reasoning_usd_per_mtok", "must not be negative");
    }
  }
  return std::nullopt;
}

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

#include "libs/host/host_options.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/config/config_loader.h"

namespace sluice::host {

absl::StatusOr<sluice::v1::Config> ParseServeOptions(
    const std::vector<std::string>& args) {
  std::string config_path;
  std::vector<std::pair<std::string, std::string>> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (!absl::StartsWith(name, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", name, "\""));
    }
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
    }
    if (name == "--config") {
      config_path = value;
    } else {
      flags.emplace_back(name, value);
    }
  }
  sluice::v1::Config config;
  if (config_path.empty()) {
    config = config::DefaultConfig();
    ApplyProviderKeys(config);
  } else {
    absl::StatusOr<sluice::v1::Config> loaded =
        config::LoadConfigFile(config_path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  for (const auto& [name, value] : flags) {
    if (name == "--services") {
      config.clear_services();
      for (absl::string_view s : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        config.add_services(std::string(s));
      }
    } else if (name == "--http-listen") {
      config.mutable_server()->set_http_listen(value);
    } else if (name == "--grpc-listen") {
      config.mutable_server()->set_grpc_listen(value);
    } else if (name == "--internal-listen") {
      config.mutable_server()->set_internal_listen(value);
    } else if (name == "--metrics-listen") {
      config.mutable_server()->set_metrics_listen(value);
    } else if (name == "--remote") {
      std::pair<std::string, std::string> parts =
          absl::StrSplit(value, absl::MaxSplits('=', 1));
      if (parts.second.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--remote expects NAME=HOST:PORT, got \"", value, "\""));
      }
      sluice::v1::RemoteService* remote = config.add_remotes();
      remote->set_name(parts.first);
      remote->set_address(parts.second);
    } else if (name == "--kafka-brokers") {
      config.mutable_kafka()->set_brokers(value);
    } else if (name == "--worker-model") {
      config.mutable_worker()->set_model_path(value);
    } else if (name == "--sqlite-path") {
      config.mutable_metering()->set_sqlite_path(value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    }
  }
  if (absl::Status valid = config::ValidateConfig(config); !valid.ok()) {
    return valid;
  }
  return config;
}

std::vector<std::string> ApplyProviderKeys(sluice::v1::Config& config) {
  // Which public model names each keyed provider takes over.
  struct Takeover {
    const char* provider;
    const char* model_prefix;
  };
  static constexpr Takeover kTakeovers[] = {{"deepseek", "deepseek-"},
                                            {"openai", "gpt-"},
                                            {"anthropic", "claude-"}};
  std::vector<std::string> switched;
  for (const Takeover& takeover : kTakeovers) {
    for (const auto& provider : config.providers()) {
      if (provider.name() != takeover.provider ||
          provider.api_key_env().empty() ||
          std::getenv(provider.api_key_env().c_str()) == nullptr) {
        continue;
      }
      for (auto& route : *config.mutable_routes()) {
        if (!absl::StartsWith(route.model(), takeover.model_prefix)) continue;
        route.set_provider(provider.name());
        for (auto& task : *route.mutable_tasks()) {
          for (auto& candidate : *task.mutable_candidates()) {
            candidate.set_provider(provider.name());
          }
        }
      }
      switched.push_back(provider.name());
    }
  }
  return switched;
}

}  // namespace sluice::host

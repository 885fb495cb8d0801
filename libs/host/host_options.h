// Command-line options of `sluice serve` and of each service's own binary,
// applied on top of the config file (or the embedded defaults).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sluice/v1/config.pb.h"

namespace sluice::host {

// Parses `serve` flags and returns the effective config:
//   --config FILE          YAML config (default: embedded defaults)
//   --services a,b         services hosted here (default: all)
//   --http-listen H:P      --grpc-listen H:P (public)
//   --internal-listen H:P  internal services
//   --metrics-listen H:P   /metrics, /health, /ready on a listener of their own
//   --remote NAME=H:P      where a service not hosted here lives (repeatable)
//   --kafka-brokers LIST   empty: in-process dev broker
//   --sqlite-path FILE     metering store
absl::StatusOr<sluice::v1::Config> ParseServeOptions(
    const std::vector<std::string>& args);

// With the embedded defaults, routes go to the demo simulator; a provider
// whose API key is in the environment takes over its models instead.
// Returns the providers switched on.
std::vector<std::string> ApplyProviderKeys(sluice::v1::Config& config);

}  // namespace sluice::host

// The embedded defaults of `sluice serve`: everything on loopback, the
// in-process Kafka dev broker, SQLite metering, and the upstream simulator
// (which `./dev up` starts on port 8090) as the demo provider. A provider
// whose API key is set in the environment takes over its models (see
// apps/sluice/serve_options.cc).
#include <cstdlib>

#include "libs/config/config_loader.h"

namespace sluice::config {
namespace {

constexpr char kDefaultYaml[] = R"yaml(
server:
  http_listen: 127.0.0.1:8080
  grpc_listen: 127.0.0.1:0
  http_threads: 2
kafka:
  brokers: ""
  usage_topic: sluice.usage
metering:
  sqlite_path: sluice-metering.db
  consumer_group: sluice-metering
providers:
  - name: sim
    kind: openai
    base_url: http://127.0.0.1:8090/v1
    timeouts: {connect: 5s, first_token: 60s, stall: 30s, total: 600s}
  - name: deepseek
    kind: openai
    base_url: https://api.deepseek.com/v1
    api_key_env: DEEPSEEK_API_KEY
    timeouts: {connect: 5s, first_token: 60s, stall: 30s, total: 600s}
  - name: openai
    kind: openai
    base_url: https://api.openai.com/v1
    api_key_env: OPENAI_API_KEY
    timeouts: {connect: 5s, first_token: 60s, stall: 30s, total: 600s}
routes:
  - {model: deepseek-chat, provider: sim}
  - {model: deepseek-reasoner, provider: sim}
  - {model: gpt-4o-mini, provider: sim}
tenants:
  - name: demo
    # SHA-256 of the demo key sk-sluice-demo
    api_key_sha256s: [1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213]
logging:
  level: info
)yaml";

}  // namespace

sluice::v1::Config DefaultConfig() {
  absl::StatusOr<sluice::v1::Config> config =
      ParseConfig(kDefaultYaml, "<embedded defaults>");
  // The embedded YAML is checked by config_test; a failure here is a bug.
  if (!config.ok()) std::abort();
  return *std::move(config);
}

}  // namespace sluice::config

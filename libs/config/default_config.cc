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
  - name: sim-anthropic
    kind: anthropic
    base_url: http://127.0.0.1:8090/v1
    timeouts: {connect: 5s, first_token: 60s, stall: 30s, total: 600s}
  # The self-hosted llama.cpp worker (`--worker-model FILE`; `./dev up`
  # generates a small random-weight model for it).
  - name: local
    kind: worker
    timeouts: {first_token: 60s, total: 600s}
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
  - name: anthropic
    kind: anthropic
    base_url: https://api.anthropic.com/v1
    api_key_env: ANTHROPIC_API_KEY
    timeouts: {connect: 5s, first_token: 60s, stall: 30s, total: 600s}
# Prices (USD per million tokens; cache-miss input), context windows and the
# vocabularies that count their tokens. Prices churn: check them.
models:
  - {provider: local, model: local, context_window: 2048, tokenizer: llama-bpe, chat_template: llama3}
  - {provider: sim, model: deepseek-chat, input_usd_per_mtok: 0.28, cached_input_usd_per_mtok: 0.028, output_usd_per_mtok: 0.42, context_window: 131072, tokenizer: deepseek-llm, chat_template: deepseek3, supports_tools: true}
  - {provider: sim, model: deepseek-reasoner, input_usd_per_mtok: 0.28, cached_input_usd_per_mtok: 0.028, output_usd_per_mtok: 0.42, context_window: 131072, tokenizer: deepseek-llm, chat_template: deepseek3, supports_tools: true}
  - {provider: sim, model: gpt-4o-mini, input_usd_per_mtok: 0.15, cached_input_usd_per_mtok: 0.075, output_usd_per_mtok: 0.6, context_window: 128000, tokenizer: llama-bpe, supports_tools: true}
  - {provider: sim-anthropic, model: claude-sonnet-4-5, input_usd_per_mtok: 3, cached_input_usd_per_mtok: 0.3, output_usd_per_mtok: 15, context_window: 200000, tokenizer: llama-bpe, supports_tools: true}
  - {provider: deepseek, model: deepseek-chat, input_usd_per_mtok: 0.28, cached_input_usd_per_mtok: 0.028, output_usd_per_mtok: 0.42, context_window: 131072, tokenizer: deepseek-llm, chat_template: deepseek3, supports_tools: true}
  - {provider: deepseek, model: deepseek-reasoner, input_usd_per_mtok: 0.28, cached_input_usd_per_mtok: 0.028, output_usd_per_mtok: 0.42, context_window: 131072, tokenizer: deepseek-llm, chat_template: deepseek3, supports_tools: true}
  - {provider: openai, model: gpt-4o-mini, input_usd_per_mtok: 0.15, cached_input_usd_per_mtok: 0.075, output_usd_per_mtok: 0.6, context_window: 128000, tokenizer: llama-bpe, supports_tools: true}
  - {provider: anthropic, model: claude-sonnet-4-5, input_usd_per_mtok: 3, cached_input_usd_per_mtok: 0.3, output_usd_per_mtok: 15, context_window: 200000, tokenizer: llama-bpe, supports_tools: true}
routes:
  - model: deepseek-chat
    provider: sim
    # Hard reasoning goes to the thinking model of the same provider.
    tasks:
      - task: complex_reasoning
        candidates: [{provider: sim, model: deepseek-reasoner}]
  - {model: deepseek-reasoner, provider: sim}
  - {model: local, provider: local}
  - {model: gpt-4o-mini, provider: sim}
  - {model: claude-sonnet-4-5, provider: sim-anthropic}
router:
  aliases: [{alias: chat-default, model: deepseek-chat}]
tenants:
  - name: demo
    # SHA-256 of the demo key sk-sluice-demo
    api_key_sha256s: [1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213]
worker:
  model_name: local
  slots: 4
  cache_slots: 4
  slot_context: 2048
  step_tokens: 256
  step_target: 250ms
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

// A request's sampling parameters and the llama.cpp sampler chain they make.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/worker/engine/llama_handles.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::worker {

struct SamplingParams {
  // 0: greedy.
  float temperature = 1.0f;
  float top_p = 1.0f;
  int top_k = 0;  // 0: off
  float min_p = 0.0f;
  // Unset: a seed of the engine's choosing (the answer is not reproducible).
  std::optional<uint32_t> seed;
  int max_tokens = 256;
  std::vector<std::string> stops;
  std::vector<std::pair<llama_token, float>> logit_bias;
};

// From an OpenAI-shaped request: temperature, top_p, seed, stop,
// max_completion_tokens / max_tokens, and from its extra fields (as vLLM
// takes them) top_k, min_p and logit_bias ({"token id": bias}, -100 bans).
// `default_max_tokens` applies when the request names none.
absl::StatusOr<SamplingParams> SamplingFromRequest(
    const sluice::v1::ChatRequest& request, int n_vocab, int default_max_tokens);

// The chain: logit bias, top-k, top-p, min-p, temperature, then a seeded
// draw; greedy at temperature 0.
SamplerPtr MakeSampler(const SamplingParams& params, int n_vocab);

}  // namespace sluice::worker

#include "services/worker/engine/sampling.h"

#include <cstdlib>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"

namespace sluice::worker {
namespace {

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

// top_k, min_p and logit_bias travel in the request's extra fields.
absl::Status ReadExtras(const std::string& extra_json, int n_vocab,
                        SamplingParams& params) {
  if (extra_json.empty()) return absl::OkStatus();
  rapidjson::Document doc;
  doc.Parse(extra_json.data(), extra_json.size());
  if (doc.HasParseError() || !doc.IsObject()) return absl::OkStatus();
  if (auto it = doc.FindMember("top_k"); it != doc.MemberEnd()) {
    if (!it->value.IsInt()) return Invalid("top_k must be an integer");
    params.top_k = it->value.GetInt() < 0 ? 0 : it->value.GetInt();
  }
  if (auto it = doc.FindMember("min_p"); it != doc.MemberEnd()) {
    if (!it->value.IsNumber() || it->value.GetDouble() < 0 ||
        it->value.GetDouble() > 1) {
      return Invalid("min_p must be a number between 0 and 1");
    }
    params.min_p = static_cast<float>(it->value.GetDouble());
  }
  if (auto it = doc.FindMember("logit_bias");
      it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsObject()) return Invalid("logit_bias must be an object");
    for (const auto& entry : it->value.GetObject()) {
      int token = 0;
      if (!absl::SimpleAtoi(entry.name.GetString(), &token) || token < 0 ||
          token >= n_vocab) {
        return Invalid(absl::StrCat("logit_bias: '", entry.name.GetString(),
                                    "' is not a token id of this model"));
      }
      if (!entry.value.IsNumber() || entry.value.GetDouble() < -100 ||
          entry.value.GetDouble() > 100) {
        return Invalid("logit_bias values must lie between -100 and 100");
      }
      // -100 bans the token outright, as OpenAI documents.
      float bias = entry.value.GetDouble() <= -100
                       ? -INFINITY
                       : static_cast<float>(entry.value.GetDouble());
      params.logit_bias.emplace_back(token, bias);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SamplingParams> SamplingFromRequest(
    const sluice::v1::ChatRequest& request, int n_vocab,
    int default_max_tokens) {
  SamplingParams params;
  if (request.has_temperature()) {
    if (request.temperature() < 0 || request.temperature() > 2) {
      return Invalid("temperature must lie between 0 and 2");
    }
    params.temperature = static_cast<float>(request.temperature());
  }
  if (request.has_top_p()) {
    if (request.top_p() <= 0 || request.top_p() > 1) {
      return Invalid("top_p must lie in (0, 1]");
    }
    params.top_p = static_cast<float>(request.top_p());
  }
  if (request.has_seed()) params.seed = static_cast<uint32_t>(request.seed());
  params.max_tokens = default_max_tokens;
  if (request.has_max_completion_tokens()) {
    params.max_tokens = request.max_completion_tokens();
  } else if (request.has_max_tokens()) {
    params.max_tokens = request.max_tokens();
  }
  if (params.max_tokens < 1) return Invalid("max_tokens must be at least 1");
  for (const std::string& stop : request.stops()) {
    if (!stop.empty()) params.stops.push_back(stop);
  }
  if (absl::Status s = ReadExtras(request.extra_json(), n_vocab, params);
      !s.ok()) {
    return s;
  }
  return params;
}

SamplerPtr MakeSampler(const SamplingParams& params, int n_vocab) {
  llama_sampler_chain_params chain_params = llama_sampler_chain_default_params();
  chain_params.no_perf = true;
  SamplerPtr chain(llama_sampler_chain_init(chain_params));
  if (!params.logit_bias.empty()) {
    std::vector<llama_logit_bias> biases;
    for (const auto& [token, bias] : params.logit_bias) {
      biases.push_back({token, bias});
    }
    llama_sampler_chain_add(
        chain.get(),
        llama_sampler_init_logit_bias(n_vocab, static_cast<int32_t>(biases.size()),
                                      biases.data()));
  }
  if (params.temperature <= 0) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
    return chain;
  }
  if (params.top_k > 0) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(params.top_k));
  }
  if (params.top_p < 1) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(params.top_p, 1));
  }
  if (params.min_p > 0) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_min_p(params.min_p, 1));
  }
  llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(params.temperature));
  uint32_t seed = params.seed.has_value() ? *params.seed : std::random_device{}();
  llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(seed));
  return chain;
}

}  // namespace sluice::worker

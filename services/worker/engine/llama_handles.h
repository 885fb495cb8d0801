// Owning handles for llama.cpp's C objects, and its one-time setup.
#pragma once

#include <memory>

#include "llama.h"

namespace sluice::worker {

struct ModelDeleter {
  void operator()(llama_model* model) const { llama_model_free(model); }
};
struct ContextDeleter {
  void operator()(llama_context* context) const { llama_free(context); }
};
struct SamplerDeleter {
  void operator()(llama_sampler* sampler) const { llama_sampler_free(sampler); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

// llama_backend_init once per process, with llama.cpp's chatter limited to
// errors.
void InitLlamaOnce();

}  // namespace sluice::worker

// A deterministic random-weight model for tests: a llama-architecture GGUF
// with a real vocabulary and chat template from the pinned llama.cpp bundle,
// dims chosen from a parameter budget, weights drawn from a seeded PRNG. The
// same options give the same bytes, so tests and benches can make one on the
// fly instead of downloading weights.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::worker {

struct TestModelOptions {
  std::string out_path;
  int64_t params = 2'000'000;  // target parameter count, including embeddings
  uint64_t seed = 1;
  // ggml-vocab-NAME.gguf in the bundle's models directory, or a path to a
  // .gguf whose tokenizer.* keys are copied.
  std::string vocab = "llama-bpe";
  // templates/NAME.jinja in the bundle, or a path to a .jinja file; "" = the
  // model has no chat template (any in the vocabulary file is dropped).
  std::string chat_template = "meta-llama-Llama-3.1-8B-Instruct";
  bool f16 = false;  // weights F16 instead of F32 (norms stay F32)
  int context_length = 4096;
};

// The shape of a test model. Output projection is tied to the embeddings.
struct TestModelDims {
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t params = 0;  // every weight, the embeddings counted once
};

// The dims rule. Widths are multiples of 16 up to 256, then of 32 up to
// 8192; head_dim is 64 for multiples of 64 from 256, else 32 for multiples
// of 32, else 16; n_head_kv is n_head/4 from 8 heads (when 4 divides),
// n_head/2 for an even count, else n_head; n_ff is 8/3·n_embd rounded to a
// multiple of 32 (at least 32); depth keeps n_embd/128 ≤ n_layer ≤
// n_embd/48, at least 2. Of the shapes within 2% of `params` the one whose
// n_embd/n_layer is nearest 64 wins; if none is, the nearest count (ties:
// the narrower).
// A large vocabulary makes small models all embedding: n_vocab·16 is the
// floor (2.05M for 128k tokens), and below about 40·n_vocab the counts
// step by 16·n_vocab, so a target between steps can miss by more than 15%.
TestModelDims ChooseTestModelDims(int64_t params, int64_t n_vocab);

// Reads the vocabulary's size and applies the dims rule to options.params.
absl::StatusOr<TestModelDims> PlanTestModel(const TestModelOptions& options);

// Writes the model to options.out_path (through a temporary file beside it,
// renamed into place).
absl::Status WriteTestModel(const TestModelOptions& options);

// The model of `options` (out_path ignored) in the cache beside llama.cpp's
// build ($SLUICE_CACHE or ~/.cache/sluice, test-models/), written once: tests
// and benches share it. Returns its path.
absl::StatusOr<std::string> CachedTestModel(TestModelOptions options);

}  // namespace sluice::worker

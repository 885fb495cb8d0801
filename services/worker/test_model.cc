#include "services/worker/test_model.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ggml.h"
#include "gguf.h"

namespace sluice::worker {
namespace {

// Bumped whenever the same options would give other bytes (cached files
// carry it in their names).
constexpr int kTestModelVersion = 2;
constexpr int64_t kMaxEmbd = 8192;
constexpr int64_t kMaxLayers = 512;  // LLAMA_MAX_LAYERS
constexpr int64_t kMaxParams = 20'000'000'000;
constexpr char kTokensKey[] = "tokenizer.ggml.tokens";
constexpr char kTemplateKey[] = "tokenizer.chat_template";

struct GgufFree {
  void operator()(gguf_context* ctx) const { gguf_free(ctx); }
};
struct GgmlFree {
  void operator()(ggml_context* ctx) const { ggml_free(ctx); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufFree>;
using GgmlPtr = std::unique_ptr<ggml_context, GgmlFree>;

// splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, good avalanche.
uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Standard normal samples by Box-Muller over splitmix64, one stream per
// tensor so that each tensor's values depend on the seed and its name only.
class NormalStream {
 public:
  NormalStream(uint64_t seed, const std::string& name) {
    uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
    for (unsigned char c : name) hash = (hash ^ c) * 0x100000001b3ULL;
    state_ = seed;
    state_ = SplitMix64(state_) ^ hash;
  }

  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    constexpr double kUnit = 1.0 / 9007199254740992.0;  // 2^-53
    double u1 = static_cast<double>((SplitMix64(state_) >> 11) + 1) * kUnit;
    double u2 = static_cast<double>(SplitMix64(state_) >> 11) * kUnit;
    double radius = std::sqrt(-2.0 * std::log(u1));
    double angle = 2.0 * M_PI * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  uint64_t state_ = 0;
  double spare_ = 0;
  bool has_spare_ = false;
};

int64_t LayerParams(int64_t n_embd, int64_t n_kv_dim, int64_t n_ff) {
  return 2 * n_embd               // attn_norm, ffn_norm
         + 2 * n_embd * n_embd    // attn_q, attn_output
         + 2 * n_embd * n_kv_dim  // attn_k, attn_v
         + 3 * n_embd * n_ff;     // ffn_gate, ffn_up, ffn_down
}

TestModelDims ShapeFor(int64_t n_vocab, int64_t n_embd, int64_t n_layer) {
  TestModelDims dims;
  dims.n_vocab = n_vocab;
  dims.n_embd = n_embd;
  dims.n_layer = n_layer;
  dims.head_dim = (n_embd >= 256 && n_embd % 64 == 0) ? 64
                  : n_embd % 32 == 0                  ? 32
                                                      : 16;
  dims.n_head = n_embd / dims.head_dim;
  if (dims.n_head >= 8 && dims.n_head % 4 == 0) {
    dims.n_head_kv = dims.n_head / 4;
  } else if (dims.n_head % 2 == 0) {
    dims.n_head_kv = dims.n_head / 2;
  } else {
    dims.n_head_kv = dims.n_head;
  }
  int64_t n_ff = (8 * n_embd / 3 + 16) / 32 * 32;
  dims.n_ff = n_ff < 32 ? 32 : n_ff;
  dims.params = n_vocab * n_embd + n_embd  // token_embd, output_norm
                + n_layer * LayerParams(n_embd, dims.n_head_kv * dims.head_dim,
                                        dims.n_ff);
  return dims;
}

// A name, or a path when it names a file of that kind.
std::string ResolvePath(const std::string& name, const char* dir,
                        const char* prefix, const char* suffix) {
  if (absl::StrContains(name, '/') || absl::EndsWith(name, suffix)) return name;
  return absl::StrCat(dir, "/", prefix, name, suffix);
}

absl::StatusOr<GgufPtr> OpenVocab(const std::string& vocab) {
  std::string path =
      ResolvePath(vocab, SLUICE_LLAMA_MODELS_DIR, "ggml-vocab-", ".gguf");
  gguf_init_params params = {/*no_alloc=*/true, /*ctx=*/nullptr};
  GgufPtr ctx(gguf_init_from_file(path.c_str(), params));
  if (ctx == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read vocabulary ", path));
  }
  int64_t tokens = gguf_find_key(ctx.get(), kTokensKey);
  if (tokens < 0 || gguf_get_kv_type(ctx.get(), tokens) != GGUF_TYPE_ARRAY ||
      gguf_get_arr_n(ctx.get(), tokens) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " has no ", kTokensKey));
  }
  return ctx;
}

absl::StatusOr<std::string> ReadTemplate(const std::string& name) {
  std::string path =
      ResolvePath(name, SLUICE_LLAMA_TEMPLATES_DIR, "", ".jinja");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read template ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status CheckOptions(const TestModelOptions& options) {
  if (options.out_path.empty()) {
    return absl::InvalidArgumentError("no output path");
  }
  if (options.params <= 0 || options.params > kMaxParams) {
    return absl::InvalidArgumentError(
        absl::StrCat("params must be in [1, ", kMaxParams, "]"));
  }
  if (options.context_length <= 0) {
    return absl::InvalidArgumentError("context_length must be positive");
  }
  return absl::OkStatus();
}

// One tensor in the shape that llama.cpp's loader for arch llama expects
// (src/models/llama.cpp, load_arch_tensors). No output.weight: the loader
// ties the output projection to token_embd when it is absent.
struct TensorSpec {
  std::string name;
  int64_t ne0 = 0, ne1 = 1;  // ggml order: ne0 is the row length
  bool norm = false;         // RMS-norm weights: F32 ones
};

std::vector<TensorSpec> TensorTable(const TestModelDims& d) {
  const int64_t kv_dim = d.n_head_kv * d.head_dim;
  std::vector<TensorSpec> table = {{"token_embd.weight", d.n_embd, d.n_vocab},
                                   {"output_norm.weight", d.n_embd, 1, true}};
  for (int64_t i = 0; i < d.n_layer; ++i) {
    std::string blk = absl::StrCat("blk.", i, ".");
    table.push_back({blk + "attn_norm.weight", d.n_embd, 1, true});
    table.push_back({blk + "attn_q.weight", d.n_embd, d.n_embd});
    table.push_back({blk + "attn_k.weight", d.n_embd, kv_dim});
    table.push_back({blk + "attn_v.weight", d.n_embd, kv_dim});
    table.push_back({blk + "attn_output.weight", d.n_embd, d.n_embd});
    table.push_back({blk + "ffn_norm.weight", d.n_embd, 1, true});
    table.push_back({blk + "ffn_gate.weight", d.n_embd, d.n_ff});
    table.push_back({blk + "ffn_up.weight", d.n_embd, d.n_ff});
    table.push_back({blk + "ffn_down.weight", d.n_ff, d.n_embd});
  }
  return table;
}

void SetHyperparameters(gguf_context* out, const TestModelOptions& options,
                        const TestModelDims& d) {
  gguf_set_val_str(out, "general.architecture", "llama");
  std::string vocab_name = options.vocab.substr(options.vocab.rfind('/') + 1);
  gguf_set_val_str(out, "general.name",
                   absl::StrCat("sluice-test-", vocab_name).c_str());
  // LLAMA_FTYPE_ALL_F32 or LLAMA_FTYPE_MOSTLY_F16.
  gguf_set_val_u32(out, "general.file_type", options.f16 ? 1 : 0);
  gguf_set_val_u32(out, "llama.context_length", options.context_length);
  gguf_set_val_u32(out, "llama.embedding_length", d.n_embd);
  gguf_set_val_u32(out, "llama.block_count", d.n_layer);
  gguf_set_val_u32(out, "llama.feed_forward_length", d.n_ff);
  gguf_set_val_u32(out, "llama.attention.head_count", d.n_head);
  gguf_set_val_u32(out, "llama.attention.head_count_kv", d.n_head_kv);
  gguf_set_val_f32(out, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_u32(out, "llama.rope.dimension_count", d.head_dim);
  gguf_set_val_f32(out, "llama.rope.freq_base", 10000.0f);
  gguf_set_val_u32(out, "llama.vocab_size", d.n_vocab);
}

// Copies every tokenizer.* key of the vocabulary file into out.
void CopyTokenizer(gguf_context* out, const gguf_context* vocab) {
  GgufPtr tokenizer(gguf_init_empty());
  gguf_set_kv(tokenizer.get(), vocab);
  for (int64_t i = gguf_get_n_kv(tokenizer.get()) - 1; i >= 0; --i) {
    std::string key = gguf_get_key(tokenizer.get(), i);
    if (!absl::StartsWith(key, "tokenizer.")) {
      gguf_remove_key(tokenizer.get(), key.c_str());
    }
  }
  gguf_set_kv(out, tokenizer.get());
}

// Appends one tensor's values, padded to the file's alignment.
bool WriteTensorData(FILE* file, const TensorSpec& spec, ggml_type type,
                     uint64_t seed, size_t alignment) {
  const int64_t n = spec.ne0 * spec.ne1;
  constexpr int64_t kChunk = 1 << 16;
  std::vector<float> values;
  std::vector<ggml_fp16_t> halves;
  NormalStream normal(seed, spec.name);
  // Small embeddings and fan-in scaled matrices: the layers, not the
  // embedding, make the residual stream, so the next token depends on the
  // context. (With 0.02 everywhere the embedding stays in charge, and the
  // tied output projection picks the last token again, forever.)
  const double std_dev = spec.name == "token_embd.weight"
                             ? 0.02
                             : 1.0 / std::sqrt(static_cast<double>(spec.ne0));
  for (int64_t done = 0; done < n; done += kChunk) {
    const int64_t count = std::min(kChunk, n - done);
    values.resize(count);
    for (float& v : values) {
      v = spec.norm ? 1.0f : static_cast<float>(std_dev * normal.Next());
    }
    size_t written;
    if (type == GGML_TYPE_F16) {
      halves.resize(count);
      ggml_fp32_to_fp16_row(values.data(), halves.data(), count);
      written = std::fwrite(halves.data(), sizeof(ggml_fp16_t), count, file);
    } else {
      written = std::fwrite(values.data(), sizeof(float), count, file);
    }
    if (written != static_cast<size_t>(count)) return false;
  }
  const size_t nbytes = n * ggml_type_size(type);
  const size_t padding = GGML_PAD(nbytes, alignment) - nbytes;
  static const char kZeros[64] = {};
  return padding <= sizeof(kZeros) &&
         std::fwrite(kZeros, 1, padding, file) == padding;
}

}  // namespace

TestModelDims ChooseTestModelDims(int64_t params, int64_t n_vocab) {
  TestModelDims nearest, shapeliest;
  int64_t nearest_error = -1;
  int64_t shape_max = 0, shape_min = 0;  // n_embd vs 64·n_layer, as a ratio
  const int64_t tolerance = params / 50;
  for (int64_t n_embd = 16; n_embd <= kMaxEmbd;
       n_embd += n_embd < 256 ? 16 : 32) {
    const int64_t min_layers = std::max<int64_t>(2, (n_embd + 127) / 128);
    const int64_t max_layers =
        std::min(kMaxLayers, std::max<int64_t>(2, n_embd / 48));
    for (int64_t n_layer = min_layers; n_layer <= max_layers; ++n_layer) {
      TestModelDims dims = ShapeFor(n_vocab, n_embd, n_layer);
      const int64_t error = std::llabs(dims.params - params);
      if (nearest_error < 0 || error < nearest_error) {
        nearest = dims;
        nearest_error = error;
      }
      const int64_t high = std::max(n_embd, 64 * n_layer);
      const int64_t low = std::min(n_embd, 64 * n_layer);
      if (error <= tolerance &&
          (shape_max == 0 || high * shape_min < shape_max * low)) {
        shapeliest = dims;
        shape_max = high;
        shape_min = low;
      }
    }
    // Counts only grow with width: once the shallowest shape overshoots by
    // more than the tolerance and the best error, wider ones cannot win.
    const int64_t overshoot =
        ShapeFor(n_vocab, n_embd, min_layers).params - params;
    if (overshoot > std::max(tolerance, nearest_error)) break;
  }
  return shape_max != 0 ? shapeliest : nearest;
}

absl::StatusOr<TestModelDims> PlanTestModel(const TestModelOptions& options) {
  if (absl::Status ok = CheckOptions(options); !ok.ok()) return ok;
  absl::StatusOr<GgufPtr> vocab = OpenVocab(options.vocab);
  if (!vocab.ok()) return vocab.status();
  const int64_t n_vocab =
      gguf_get_arr_n(vocab->get(), gguf_find_key(vocab->get(), kTokensKey));
  return ChooseTestModelDims(options.params, n_vocab);
}

absl::Status WriteTestModel(const TestModelOptions& options) {
  if (absl::Status ok = CheckOptions(options); !ok.ok()) return ok;
  absl::StatusOr<GgufPtr> vocab = OpenVocab(options.vocab);
  if (!vocab.ok()) return vocab.status();
  const int64_t n_vocab =
      gguf_get_arr_n(vocab->get(), gguf_find_key(vocab->get(), kTokensKey));
  const TestModelDims dims = ChooseTestModelDims(options.params, n_vocab);

  GgufPtr out(gguf_init_empty());
  SetHyperparameters(out.get(), options, dims);
  CopyTokenizer(out.get(), vocab->get());
  if (options.chat_template.empty()) {
    gguf_remove_key(out.get(), kTemplateKey);
  } else {
    absl::StatusOr<std::string> text = ReadTemplate(options.chat_template);
    if (!text.ok()) return text.status();
    gguf_set_val_str(out.get(), kTemplateKey, text->c_str());
  }

  // Tensor metadata only (no_alloc): the data is streamed after the header.
  const std::vector<TensorSpec> table = TensorTable(dims);
  const ggml_type weight_type = options.f16 ? GGML_TYPE_F16 : GGML_TYPE_F32;
  ggml_init_params meta = {(table.size() + 1) * ggml_tensor_overhead(),
                           /*mem_buffer=*/nullptr, /*no_alloc=*/true};
  GgmlPtr tensors(ggml_init(meta));
  if (tensors == nullptr) return absl::InternalError("ggml_init failed");
  for (const TensorSpec& spec : table) {
    ggml_tensor* t = ggml_new_tensor_2d(tensors.get(),
                                        spec.norm ? GGML_TYPE_F32 : weight_type,
                                        spec.ne0, spec.ne1);
    ggml_set_name(t, spec.name.c_str());
    gguf_add_tensor(out.get(), t);
  }

  // Per process: tests running side by side may write the same model.
  const std::string temp_path =
      absl::StrCat(options.out_path, ".tmp.", static_cast<long>(::getpid()));
  if (!gguf_write_to_file(out.get(), temp_path.c_str(), /*only_meta=*/true)) {
    return absl::UnavailableError(absl::StrCat("cannot write ", temp_path));
  }
  FILE* file = std::fopen(temp_path.c_str(), "ab");
  bool written = file != nullptr;
  const size_t alignment = gguf_get_alignment(out.get());
  for (size_t i = 0; written && i < table.size(); ++i) {
    written =
        WriteTensorData(file, table[i], gguf_get_tensor_type(out.get(), i),
                        options.seed, alignment);
  }
  if (file != nullptr && std::fclose(file) != 0) written = false;
  if (!written ||
      std::rename(temp_path.c_str(), options.out_path.c_str()) != 0) {
    std::remove(temp_path.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot write ", options.out_path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CachedTestModel(TestModelOptions options) {
  const char* cache = std::getenv("SLUICE_CACHE");
  const char* home = std::getenv("HOME");
  std::string dir = cache != nullptr ? std::string(cache)
                    : home != nullptr ? absl::StrCat(home, "/.cache/sluice")
                                      : std::string("/tmp/sluice-cache");
  dir += "/test-models";
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  std::string vocab = options.vocab.substr(options.vocab.rfind('/') + 1);
  std::string tmpl = options.chat_template.substr(options.chat_template.rfind('/') + 1);
  options.out_path = absl::StrCat(dir, "/", vocab, "-", tmpl.empty() ? "none" : tmpl,
                                  "-", options.params, "-s", options.seed,
                                  options.f16 ? "-f16" : "", "-v", kTestModelVersion,
                                  ".gguf");
  if (std::filesystem::exists(options.out_path)) return options.out_path;
  absl::Status written = WriteTestModel(options);
  if (!written.ok()) return written;
  return options.out_path;
}

}  // namespace sluice::worker

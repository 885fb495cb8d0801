#include "apps/sluice/make_test_model_command.h"

#include <sys/stat.h>

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#ifdef SLUICE_HAVE_LLAMA
#include "services/worker/test_model.h"
#endif

namespace sluice::app {
namespace {

constexpr char kUsage[] =
    "usage: sluice make-test-model --out FILE [--params N] [--seed S]\n"
    "                              [--vocab NAME] [--template NAME|none]\n"
    "                              [--f16]\n"
    "  N may end in K, M or B; NAME picks ggml-vocab-NAME.gguf and\n"
    "  templates/NAME.jinja from the llama.cpp bundle (or give a path)\n";

int Fail(const std::string& problem) {
  std::fprintf(stderr, "sluice make-test-model: %s\n", problem.c_str());
  return 1;
}

int Usage(const std::string& problem) {
  std::fprintf(stderr, "sluice make-test-model: %s\n%s", problem.c_str(),
               kUsage);
  return 2;
}

#ifdef SLUICE_HAVE_LLAMA
// "2000000", "2M", "1.5B".
bool ParseCount(absl::string_view text, int64_t* count) {
  double scale = 1;
  if (!text.empty()) {
    switch (absl::ascii_toupper(text.back())) {
      case 'K':
        scale = 1e3;
        break;
      case 'M':
        scale = 1e6;
        break;
      case 'B':
      case 'G':
        scale = 1e9;
        break;
      default:
        break;
    }
  }
  if (scale == 1) return absl::SimpleAtoi(text, count);
  double value = 0;
  if (!absl::SimpleAtod(text.substr(0, text.size() - 1), &value) ||
      !(value > 0) || value * scale > 1e15) {
    return false;
  }
  *count = static_cast<int64_t>(value * scale + 0.5);
  return true;
}
#endif

}  // namespace

int RunMakeTestModel(const std::vector<std::string>& args) {
#ifndef SLUICE_HAVE_LLAMA
  (void)args;
  return Fail("this sluice was built without llama.cpp (SLUICE_LLAMA_PREFIX)");
#else
  worker::TestModelOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (flag == "--f16") {
      options.f16 = true;
      continue;
    }
    if (size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Usage(absl::StrCat(flag, " needs a value"));
    }
    if (flag == "--out") {
      options.out_path = value;
    } else if (flag == "--params") {
      if (!ParseCount(value, &options.params)) {
        return Usage(
            absl::StrCat("--params expects a count, got \"", value, "\""));
      }
    } else if (flag == "--seed") {
      if (!absl::SimpleAtoi(value, &options.seed)) {
        return Usage(absl::StrCat("--seed expects an unsigned integer, got \"",
                                  value, "\""));
      }
    } else if (flag == "--vocab") {
      options.vocab = value;
    } else if (flag == "--template") {
      options.chat_template = value == "none" ? "" : value;
    } else {
      return Usage(absl::StrCat("unknown flag ", flag));
    }
  }
  if (options.out_path.empty()) return Usage("--out is required");

  absl::StatusOr<worker::TestModelDims> dims = worker::PlanTestModel(options);
  if (!dims.ok()) return Fail(std::string(dims.status().message()));
  if (absl::Status written = worker::WriteTestModel(options); !written.ok()) {
    return Fail(std::string(written.message()));
  }
  struct stat file;
  const long long bytes =
      stat(options.out_path.c_str(), &file) == 0 ? file.st_size : -1;
  std::printf(
      "%s: %lld params (n_vocab=%lld n_embd=%lld n_layer=%lld n_head=%lld "
      "n_head_kv=%lld head_dim=%lld n_ff=%lld), %s, seed %llu, %lld bytes\n",
      options.out_path.c_str(), static_cast<long long>(dims->params),
      static_cast<long long>(dims->n_vocab),
      static_cast<long long>(dims->n_embd),
      static_cast<long long>(dims->n_layer),
      static_cast<long long>(dims->n_head),
      static_cast<long long>(dims->n_head_kv),
      static_cast<long long>(dims->head_dim),
      static_cast<long long>(dims->n_ff), options.f16 ? "f16" : "f32",
      static_cast<unsigned long long>(options.seed), bytes);
  return 0;
#endif
}

}  // namespace sluice::app

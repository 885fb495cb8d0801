#include "services/worker/engine/llama_handles.h"

#include <cstdio>
#include <mutex>

namespace sluice::worker {
namespace {

void ErrorsOnly(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

}  // namespace

void InitLlamaOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(ErrorsOnly, nullptr);
    llama_backend_init();
  });
}

}  // namespace sluice::worker

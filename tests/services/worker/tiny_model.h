// The small random-weight model the worker's unit tests share, written
// once into the test-model cache.
#pragma once

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "services/worker/test_model.h"

namespace sluice::worker {

inline const std::string& TinyModelPath() {
  static const std::string* path = [] {
    TestModelOptions options;
    options.params = 3'000'000;
    options.seed = 42;
    absl::StatusOr<std::string> cached = CachedTestModel(options);
    if (!cached.ok()) {
      ADD_FAILURE() << cached.status();
      std::abort();
    }
    return new std::string(*cached);
  }();
  return *path;
}

}  // namespace sluice::worker

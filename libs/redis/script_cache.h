// Lua scripts by text: each one's SHA-1 (computed once) and whether Redis is
// known to have it loaded, so Eval sends EVALSHA when it can and the whole
// script only when it must. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace sluice::redis {

struct LuaScript {
  LuaScript(std::string text, std::string sha1)
      : text(std::move(text)), sha1(std::move(sha1)) {}

  const std::string text;
  const std::string sha1;  // lowercase hex, as SCRIPT LOAD returns it
  std::atomic<bool> loaded{false};
};

class ScriptCache {
 public:
  // The script's entry, created (not loaded) on first use; shared, so that
  // callbacks can hold it without copying the text.
  std::shared_ptr<LuaScript> Lookup(const std::string& text);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<LuaScript>> scripts_
      ABSL_GUARDED_BY(mu_);
};

// Lowercase hex SHA-1 of `text`.
std::string Sha1Hex(const std::string& text);

}  // namespace sluice::redis

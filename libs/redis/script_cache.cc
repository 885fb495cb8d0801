#include "libs/redis/script_cache.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"

namespace sluice::redis {

std::string Sha1Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

std::shared_ptr<LuaScript> ScriptCache::Lookup(const std::string& text) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = scripts_.find(text);
    if (it != scripts_.end()) return it->second;
  }
  auto script = std::make_shared<LuaScript>(text, Sha1Hex(text));
  absl::MutexLock lock(&mu_);
  return scripts_.try_emplace(text, std::move(script)).first->second;
}

}  // namespace sluice::redis

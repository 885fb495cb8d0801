// The API keys of one provider, rotated round-robin: a key answered with 429
// rests until its Retry-After while the others serve. Key values never leave
// this class except as the header a request sends; errors and logs name keys
// by index only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/upstream/http_client.h"
#include "sluice/v1/config.pb.h"

namespace sluice::adapters {

class ApiKeyRing {
 public:
  struct Key {
    int index = 0;
    std::string value;
  };

  explicit ApiKeyRing(std::vector<std::string> keys);

  // Reads the variables the config names once: ApiKeysFromEnv.
  static std::shared_ptr<ApiKeyRing> FromEnv(
      const sluice::v1::ProviderConfig& config);

  size_t size() const { return keys_.size(); }

  // The next key round-robin among those not resting at `now`; when all
  // rest, the one whose rest ends first. nullopt when there are no keys.
  // Thread-safe.
  std::optional<Key> Pick(absl::Time now);

  // Keeps key `index` out of rotation until `until` (a later rest wins over
  // an earlier one). Thread-safe; an unknown index is ignored.
  void Rest(int index, absl::Time until);

  // Rests key `index` after a 429 whose Retry-After header is
  // `retry_after`: until now + Retry-After, or now + 1 s when it has none.
  void RestAfterRateLimit(int index, absl::string_view retry_after,
                          absl::Time now);

 private:
  const std::vector<std::string> keys_;
  absl::Mutex mu_;
  std::vector<absl::Time> rest_until_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

using ApiKeyRingPtr = std::shared_ptr<ApiKeyRing>;

// The keys of the variables `config` names: api_key_env first, then
// api_key_envs, skipping unset, empty and repeated keys.
std::vector<std::string> ApiKeysFromEnv(
    const sluice::v1::ProviderConfig& config);

// An HttpCallbacks::on_head that rests `key` (the one a call used, if any)
// when the answer is a 429.
std::function<void(const upstream::HttpResponseHead&)> RestKeyOn429(
    ApiKeyRingPtr keys, const std::optional<ApiKeyRing::Key>& key);

}  // namespace sluice::adapters

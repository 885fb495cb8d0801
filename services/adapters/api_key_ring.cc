// Round-robin API keys with rests after 429s; see api_key_ring.h.
#include "services/adapters/api_key_ring.h"

#include <algorithm>
#include <cstdlib>

#include "libs/upstream/retry_after.h"

namespace sluice::adapters {

ApiKeyRing::ApiKeyRing(std::vector<std::string> keys)
    : keys_(std::move(keys)), rest_until_(keys_.size(), absl::InfinitePast()) {}

std::shared_ptr<ApiKeyRing> ApiKeyRing::FromEnv(
    const sluice::v1::ProviderConfig& config) {
  return std::make_shared<ApiKeyRing>(ApiKeysFromEnv(config));
}

std::vector<std::string> ApiKeysFromEnv(
    const sluice::v1::ProviderConfig& config) {
  std::vector<std::string> names;
  if (!config.api_key_env().empty()) names.push_back(config.api_key_env());
  names.insert(names.end(), config.api_key_envs().begin(),
               config.api_key_envs().end());
  std::vector<std::string> keys;
  for (const std::string& name : names) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') continue;
    if (std::find(keys.begin(), keys.end(), value) != keys.end()) continue;
    keys.emplace_back(value);
  }
  return keys;
}

std::optional<ApiKeyRing::Key> ApiKeyRing::Pick(absl::Time now) {
  if (keys_.empty()) return std::nullopt;
  absl::MutexLock lock(&mu_);
  size_t chosen = next_ % keys_.size();
  bool found = false;
  for (size_t k = 0; k < keys_.size(); ++k) {
    size_t i = (next_ + k) % keys_.size();
    if (rest_until_[i] <= now) {
      chosen = i;
      found = true;
      break;
    }
  }
  if (!found) {
    chosen = static_cast<size_t>(
        std::min_element(rest_until_.begin(), rest_until_.end()) -
        rest_until_.begin());
  }
  next_ = chosen + 1;
  return Key{static_cast<int>(chosen), keys_[chosen]};
}

void ApiKeyRing::Rest(int index, absl::Time until) {
  if (index < 0 || static_cast<size_t>(index) >= keys_.size()) return;
  absl::MutexLock lock(&mu_);
  rest_until_[index] = std::max(rest_until_[index], until);
}

void ApiKeyRing::RestAfterRateLimit(int index, absl::string_view retry_after,
                                    absl::Time now) {
  Rest(index, now + upstream::ParseRetryAfter(retry_after, now)
                        .value_or(absl::Seconds(1)));
}

std::function<void(const upstream::HttpResponseHead&)> RestKeyOn429(
    ApiKeyRingPtr keys, const std::optional<ApiKeyRing::Key>& key) {
  return [keys = std::move(keys),
          index = key ? key->index : -1](const upstream::HttpResponseHead& h) {
    if (h.status == 429) {
      keys->RestAfterRateLimit(index, h.Header("retry-after"), absl::Now());
    }
  };
}

}  // namespace sluice::adapters

#include "services/ingress/api_key_auth.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "libs/hash/sha256.h"
#include "libs/keystore/key_secret.h"
#include "libs/status/errors.h"

namespace sluice::ingress {

bool Caller::MayUse(absl::string_view model) const {
  return policy.models.empty() ||
         std::find(policy.models.begin(), policy.models.end(), model) !=
             policy.models.end();
}

ApiKeyAuth::ApiKeyAuth(const sluice::v1::Config& config,
                       keystore::KeyStore* keys)
    : keys_(keys) {
  for (const auto& tenant : config.tenants()) {
    for (const auto& hash : tenant.api_key_sha256s()) {
      tenant_by_hash_[absl::AsciiStrToLower(hash)] = tenant.name();
    }
  }
}

absl::StatusOr<Caller> ApiKeyAuth::Authenticate(
    absl::string_view authorization) const {
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.empty()) {
    return status::Unauthenticated(
        "You didn't provide an API key. Provide it in the Authorization "
        "header as 'Bearer YOUR_KEY'.");
  }
  if (!absl::StartsWithIgnoreCase(authorization, "bearer ")) {
    return status::Unauthenticated(
        "The Authorization header must be 'Bearer YOUR_KEY'.");
  }
  absl::string_view key = absl::StripAsciiWhitespace(authorization.substr(7));
  std::string hash = hash::Sha256Hex(key);
  if (auto it = tenant_by_hash_.find(hash); it != tenant_by_hash_.end()) {
    return Caller{it->second, hash.substr(0, 12), {}, false};
  }
  if (keys_ != nullptr && keystore::LooksLikeKeySecret(key)) {
    absl::StatusOr<keystore::KeyRecord> record = keys_->FindBySecret(key);
    if (record.ok()) {
      return Caller{record->tenant, record->id, record->policy, true};
    }
    if (!absl::IsNotFound(record.status())) {
      return absl::UnavailableError("API keys cannot be checked right now");
    }
  }
  return status::Unauthenticated("Incorrect API key provided.");
}

}  // namespace sluice::ingress

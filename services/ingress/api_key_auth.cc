#include "services/ingress/api_key_auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "libs/hash/sha256.h"
#include "libs/status/errors.h"

namespace sluice::ingress {

ApiKeyAuth::ApiKeyAuth(const sluice::v1::Config& config) {
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
  auto it = tenant_by_hash_.find(hash);
  if (it == tenant_by_hash_.end()) {
    return status::Unauthenticated("Incorrect API key provided.");
  }
  return Caller{it->second, hash.substr(0, 12)};
}

}  // namespace sluice::ingress

#include "services/ingress/api_key_auth.h"

#include <openssl/evp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "libs/status/errors.h"

namespace sluice::ingress {

ApiKeyAuth::ApiKeyAuth(const sluice::v1::Config& config) {
  for (const auto& tenant : config.tenants()) {
    for (const auto& hash : tenant.api_key_sha256s()) {
      tenant_by_hash_[absl::AsciiStrToLower(hash)] = tenant.name();
    }
  }
}

std::string ApiKeyAuth::Sha256Hex(absl::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
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
  std::string hash = Sha256Hex(key);
  auto it = tenant_by_hash_.find(hash);
  if (it == tenant_by_hash_.end()) {
    return status::Unauthenticated("Incorrect API key provided.");
  }
  return Caller{it->second, hash.substr(0, 12)};
}

}  // namespace sluice::ingress

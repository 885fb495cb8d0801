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

namespace {

// The key in an `Authorization: Bearer KEY` header.
absl::StatusOr<absl::string_view> BearerKey(absl::string_view authorization) {
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
  return absl::StripAsciiWhitespace(authorization.substr(7));
}

}  // namespace

ApiKeyAuth::ApiKeyAuth(const sluice::v1::Config& config,
                       keystore::KeyStore* keys)
    : keys_(keys) {
  for (const auto& tenant : config.tenants()) {
    for (const auto& hash : tenant.api_key_sha256s()) {
      tenant_by_hash_[absl::AsciiStrToLower(hash)] = tenant.name();
    }
  }
}

absl::StatusOr<std::string> ApiKeyAuth::KeyHashOf(
    absl::string_view authorization) {
  absl::StatusOr<absl::string_view> key = BearerKey(authorization);
  if (!key.ok()) return key.status();
  return hash::Sha256Hex(*key);
}

absl::StatusOr<Caller> ApiKeyAuth::Authenticate(
    absl::string_view authorization) const {
  std::optional<absl::StatusOr<Caller>> known = Find(authorization, kAsk);
  return *std::move(known);
}

std::optional<absl::StatusOr<Caller>> ApiKeyAuth::AuthenticateInMemory(
    absl::string_view authorization) const {
  return Find(authorization, kMemoryOnly);
}

absl::StatusOr<Caller> ApiKeyAuth::AuthenticateKeyHash(
    absl::string_view sha256_hex) const {
  std::optional<absl::StatusOr<Caller>> known = FindHash(sha256_hex, kAsk);
  return *std::move(known);
}

std::optional<absl::StatusOr<Caller>> ApiKeyAuth::AuthenticateKeyHashInMemory(
    absl::string_view sha256_hex) const {
  return FindHash(sha256_hex, kMemoryOnly);
}

std::optional<absl::StatusOr<Caller>> ApiKeyAuth::Find(
    absl::string_view authorization, StoreUse store) const {
  absl::StatusOr<absl::string_view> key = BearerKey(authorization);
  if (!key.ok()) return key.status();
  // Only a key shaped like a virtual key's secret is worth a store lookup.
  return FindCaller(hash::Sha256Hex(*key),
                    keystore::LooksLikeKeySecret(*key) ? store : kNever,
                    "Incorrect API key provided.");
}

std::optional<absl::StatusOr<Caller>> ApiKeyAuth::FindHash(
    absl::string_view sha256_hex, StoreUse store) const {
  constexpr absl::string_view kUnknown =
      "The API key this work was submitted with has been revoked or is "
      "unknown.";
  // Config hashes are matched whatever their case, so this one is too.
  std::string hash = absl::AsciiStrToLower(sha256_hex);
  if (!keystore::LooksLikeKeyHash(hash)) {
    return status::Unauthenticated(std::string(kUnknown));
  }
  return FindCaller(hash, store, kUnknown);
}

std::optional<absl::StatusOr<Caller>> ApiKeyAuth::FindCaller(
    const std::string& sha256_hex, StoreUse store,
    absl::string_view unknown_message) const {
  if (auto it = tenant_by_hash_.find(sha256_hex); it != tenant_by_hash_.end()) {
    return Caller{it->second, sha256_hex.substr(0, 12), {}, false};
  }
  if (keys_ != nullptr && store != kNever) {
    std::optional<absl::StatusOr<keystore::KeyRecord>> record =
        keys_->FindByHashInMemory(sha256_hex);
    if (!record.has_value()) {
      if (store == kMemoryOnly) return std::nullopt;
      record = keys_->FindByHash(sha256_hex);
    }
    if (record->ok()) {
      return Caller{(*record)->tenant, (*record)->id, (*record)->policy, true};
    }
    if (!absl::IsNotFound(record->status())) {
      return absl::UnavailableError("API keys cannot be checked right now");
    }
  }
  return status::Unauthenticated(std::string(unknown_message));
}

}  // namespace sluice::ingress

#include "libs/keystore/key_secret.h"

#include <openssl/rand.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "libs/hash/sha256.h"

namespace sluice::keystore {
namespace {

constexpr int kSecretChars = 32;
constexpr char kUrlSafe[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void RandomBytes(unsigned char* out, int n) {
  // RAND_bytes fails only if the CSPRNG cannot be seeded; a key made from a
  // weaker source would be worse than stopping.
  if (RAND_bytes(out, n) != 1) {
    std::fprintf(stderr, "keystore: RAND_bytes failed\n");
    std::abort();
  }
}

bool IsUrlSafe(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string NewKeySecret() {
  unsigned char bytes[kSecretChars];
  RandomBytes(bytes, kSecretChars);
  std::string secret(kSecretPrefix);
  // 64 symbols: the low 6 bits of a uniform byte are uniform.
  for (unsigned char b : bytes) secret.push_back(kUrlSafe[b & 63]);
  return secret;
}

std::string NewKeyId() {
  unsigned char bytes[6];
  RandomBytes(bytes, sizeof(bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "key_";
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  return id;
}

bool LooksLikeKeySecret(absl::string_view secret) {
  if (secret.size() != kSecretPrefix.size() + kSecretChars) return false;
  if (secret.substr(0, kSecretPrefix.size()) != kSecretPrefix) return false;
  for (char c : secret.substr(kSecretPrefix.size())) {
    if (!IsUrlSafe(c)) return false;
  }
  return true;
}

bool LooksLikeKeyHash(absl::string_view sha256_hex) {
  if (sha256_hex.size() != 64) return false;
  for (char c : sha256_hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status ValidateNewKey(const std::string& tenant,
                            const KeyPolicy& policy) {
  if (tenant.empty()) return absl::InvalidArgumentError("tenant is required");
  if (policy.rpm < 0 || policy.tpm < 0 || policy.budget_micro_usd < 0) {
    return absl::InvalidArgumentError(
        "rpm, tpm and budget must not be negative");
  }
  for (const std::string& model : policy.models) {
    if (model.empty()) {
      return absl::InvalidArgumentError("model names must not be empty");
    }
  }
  return absl::OkStatus();
}

NewKey MakeNewKey(const std::string& tenant, const std::string& name,
                  const KeyPolicy& policy, absl::Time now) {
  NewKey key;
  key.secret = NewKeySecret();
  key.record.id = NewKeyId();
  key.record.tenant = tenant;
  key.record.name = name;
  key.record.last4 = key.secret.substr(key.secret.size() - 4);
  key.record.policy = policy;
  key.record.created = absl::FromUnixMicros(absl::ToUnixMicros(now));
  key.record.secret_sha256 = hash::Sha256Hex(key.secret);
  return key;
}

}  // namespace sluice::keystore

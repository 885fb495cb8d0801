// Key secrets and ids from OpenSSL's CSPRNG, and the record a new key starts
// with; shared by every KeyStore implementation.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/keystore/key_store.h"

namespace sluice::keystore {

inline constexpr absl::string_view kSecretPrefix = "sk-sluice-";

// "sk-sluice-" + 32 characters of [A-Za-z0-9_-].
std::string NewKeySecret();
// "key_" + 12 lower-case hex characters.
std::string NewKeyId();
// Whether `secret` has the shape NewKeySecret makes (cheap pre-check before
// a database lookup).
bool LooksLikeKeySecret(absl::string_view secret);
// Whether `sha256_hex` has the shape of a stored key hash: 64 lower-case hex
// characters (what hash::Sha256Hex gives).
bool LooksLikeKeyHash(absl::string_view sha256_hex);

// Checks the arguments of KeyStore::Create.
absl::Status ValidateNewKey(const std::string& tenant, const KeyPolicy& policy);

// A fresh key for `tenant`: new id and secret, created at `now` (whole
// microseconds, as stores keep it).
NewKey MakeNewKey(const std::string& tenant, const std::string& name,
                  const KeyPolicy& policy, absl::Time now);

}  // namespace sluice::keystore

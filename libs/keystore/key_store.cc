// KeyStore's one non-virtual method: lookups by secret, for every store.
#include "libs/keystore/key_store.h"

#include "libs/hash/sha256.h"
#include "libs/keystore/key_secret.h"

namespace sluice::keystore {

absl::StatusOr<KeyRecord> KeyStore::FindBySecret(absl::string_view secret) {
  // Made-up keys cost no hash and no lookup; the message never echoes them.
  if (!LooksLikeKeySecret(secret)) {
    return absl::NotFoundError("unknown or revoked API key");
  }
  return FindByHash(hash::Sha256Hex(secret));
}

}  // namespace sluice::keystore

// Maps an API key (from `Authorization: Bearer ...`, or by its hash for
// work sluice runs later under the key) to its tenant and policy. Keys come
// from two places: the config's tenants (hashes only, no policy of their own)
// and the key store (virtual keys made through /admin/keys or `sluice keys`,
// each with a policy). Only hashes are ever stored; the key itself is never
// kept or logged.
#pragma once

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/keystore/key_store.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

struct Caller {
  std::string tenant;
  // A short, non-secret id of the key: a virtual key's id ("key_..."), or
  // for a config key the first 12 hex digits of its hash.
  std::string key_id;
  // A virtual key's policy; config keys have an empty one (no limits of
  // their own, every model).
  keystore::KeyPolicy policy;
  bool virtual_key = false;

  bool MayUse(absl::string_view model) const;
};

class ApiKeyAuth {
 public:
  // `keys` may be null (config keys only); it must outlive this and be
  // fast on the request path (a CachedKeyStore).
  ApiKeyAuth(const sluice::v1::Config& config, keystore::KeyStore* keys);

  // UNAUTHENTICATED (OpenAI code invalid_api_key) when the header is
  // missing, malformed or names no active key; UNAVAILABLE when the key
  // store cannot be asked. May block on the key store's database: request
  // threads call AuthenticateInMemory first.
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization) const;
  // Authenticate's answer when it needs no database (config keys, keys the
  // cache holds, keys no lookup may be spent on), without blocking; nullopt
  // when the key store must be asked: Authenticate then, off the I/O and
  // RPC threads (KeyLookups).
  std::optional<absl::StatusOr<Caller>> AuthenticateInMemory(
      absl::string_view authorization) const;

  // The key whose SHA-256 (lower-case hex, as KeyHashOf gives) is
  // `sha256_hex`, as it stands now: for work sluice runs later under a key
  // whose secret it never kept (batch lines). UNAUTHENTICATED
  // (invalid_api_key) when no active key has that hash (revoked since, or
  // never known); UNAVAILABLE when the key store cannot be asked.
  absl::StatusOr<Caller> AuthenticateKeyHash(
      absl::string_view sha256_hex) const;
  // AuthenticateKeyHash from memory, as AuthenticateInMemory.
  std::optional<absl::StatusOr<Caller>> AuthenticateKeyHashInMemory(
      absl::string_view sha256_hex) const;

  // The lower-case SHA-256 hex of the key in an `Authorization: Bearer ...`
  // header, whether or not any key has it; UNAUTHENTICATED
  // (invalid_api_key) when the header is missing or malformed.
  static absl::StatusOr<std::string> KeyHashOf(absl::string_view authorization);

 private:
  // How far a lookup may go: config keys only, the key cache's memory too,
  // or the key store's database too.
  enum StoreUse { kNever, kMemoryOnly, kAsk };
  // The caller for a bearer header or a key hash; nullopt only for
  // kMemoryOnly when the database would have to be asked.
  std::optional<absl::StatusOr<Caller>> Find(absl::string_view authorization,
                                             StoreUse store) const;
  std::optional<absl::StatusOr<Caller>> FindHash(absl::string_view sha256_hex,
                                                 StoreUse store) const;
  // The caller for a lower-case key hash: config keys, then the key store
  // as far as `store` lets.
  std::optional<absl::StatusOr<Caller>> FindCaller(
      const std::string& sha256_hex, StoreUse store,
      absl::string_view unknown_message) const;

  absl::flat_hash_map<std::string, std::string> tenant_by_hash_;
  keystore::KeyStore* keys_;
};

}  // namespace sluice::ingress

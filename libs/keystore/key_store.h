// Virtual API keys: the records a key store keeps and the KeyStore
// interface. A key's secret ("sk-sluice-" + 32 url-safe characters) is shown
// once, at creation; stores keep only its SHA-256 hex.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sluice::keystore {

// What a key may do. Zero limits mean "no limit"; no models means all.
struct KeyPolicy {
  std::vector<std::string> models;
  int64_t rpm = 0;
  int64_t tpm = 0;
  int64_t budget_micro_usd = 0;
  int priority = 0;
  std::string cache;  // cache policy name
};

// A key as stored: everything but the secret. `id` ("key_" + 12 hex) is
// public; `last4` are the secret's last four characters, for display.
struct KeyRecord {
  std::string id;
  std::string tenant;
  std::string name;
  std::string last4;
  KeyPolicy policy;
  absl::Time created;
  std::optional<absl::Time> revoked;  // nullopt while active
  // Hex SHA-256 of the secret, as stored (the secret itself never is):
  // lets a cache index every key without asking the database per lookup.
  std::string secret_sha256;
  // The store's change sequence at the key's latest change (its creation
  // or revocation): increasing in commit order, 0 for keys stored before
  // sequences existed.
  int64_t change_seq = 0;
};

// Create's answer: the record and the secret, returned once, never stored.
struct NewKey {
  KeyRecord record;
  std::string secret;
};

// Thread-safe. Calls block on the database: callers run them off the
// request path or put a CachedKeyStore in front.
class KeyStore {
 public:
  virtual ~KeyStore() = default;

  virtual absl::StatusOr<NewKey> Create(const std::string& tenant,
                                        const std::string& name,
                                        const KeyPolicy& policy) = 0;
  // The active key whose stored hash (lower-case SHA-256 hex of the secret)
  // is `sha256_hex`; NOT_FOUND for unknown or revoked keys and for anything
  // not shaped like such a hash. Lets sluice act later under a key whose
  // secret it never kept (batch lines run long after their request).
  virtual absl::StatusOr<KeyRecord> FindByHash(
      absl::string_view sha256_hex) = 0;
  // FindByHash's answer when it needs no database (a caching store answers
  // from memory), without blocking; nullopt when the database must be asked:
  // call FindByHash then, on a thread that may block. Plain stores always
  // answer nullopt.
  virtual std::optional<absl::StatusOr<KeyRecord>> FindByHashInMemory(
      absl::string_view sha256_hex) {
    return std::nullopt;
  }
  // FindByHash of the secret's hash; a secret not shaped like one that
  // NewKeySecret makes is NOT_FOUND without a lookup.
  absl::StatusOr<KeyRecord> FindBySecret(absl::string_view secret);
  // Marks the key revoked (idempotent); NOT_FOUND if the id is unknown.
  virtual absl::Status Revoke(const std::string& id) = 0;
  // The tenant's keys, revoked ones included; an empty tenant lists all.
  virtual absl::StatusOr<std::vector<KeyRecord>> List(
      const std::string& tenant) = 0;
  // Keys created or revoked after change `change_seq` (0: every key with a
  // sequence), in change order, for replicas that cache keys and poll. The
  // sequence is the store's, in commit order, never a process's clock: a
  // replica that asks after the highest it has seen misses nothing,
  // whatever its clock says.
  virtual absl::StatusOr<std::vector<KeyRecord>> ChangedAfter(
      int64_t change_seq) = 0;
};

using KeyStorePtr = std::unique_ptr<KeyStore>;

// Opens (creating if needed) a SQLite database and its schema; ":memory:"
// gives a private in-memory store.
absl::StatusOr<KeyStorePtr> OpenSqliteKeyStore(const std::string& path);

// Connects to PostgreSQL (a libpq DSN) and creates the schema if missing, in
// the connection's search_path (select a schema with
// "options='-c search_path=NAME'").
absl::StatusOr<KeyStorePtr> OpenPostgresKeyStore(const std::string& dsn);

}  // namespace sluice::keystore

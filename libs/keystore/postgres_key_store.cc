// KeyStore on PostgreSQL: one libpq connection, serialized by a mutex, reset
// when it breaks; every statement's answer is waited for a bounded time.
// Every value travels as a query parameter.
#include <libpq-fe.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/hash/sha256.h"
#include "libs/keystore/key_columns.h"
#include "libs/keystore/key_secret.h"
#include "libs/keystore/key_store.h"
#include "libs/pq/pq_handles.h"
#include "libs/pq/pq_session.h"

namespace sluice::keystore {
namespace {

// The advisory lock keeps replicas that start together from racing on
// CREATE TABLE IF NOT EXISTS (which is not atomic in PostgreSQL).
constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('sluice_keys_schema'));
CREATE TABLE IF NOT EXISTS sluice_keys (
  id TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  last4 TEXT NOT NULL,
  models TEXT NOT NULL,
  rpm BIGINT NOT NULL,
  tpm BIGINT NOT NULL,
  budget_micro_usd BIGINT NOT NULL,
  priority INTEGER NOT NULL,
  cache_policy TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  revoked_at_us BIGINT,
  changed_at_us BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS sluice_keys_tenant ON sluice_keys (tenant);
ALTER TABLE sluice_keys ADD COLUMN IF NOT EXISTS change_seq BIGINT NOT NULL
  DEFAULT 0;
CREATE SEQUENCE IF NOT EXISTS sluice_keys_change_seq;
CREATE INDEX IF NOT EXISTS sluice_keys_by_change_seq ON sluice_keys
  (change_seq);
COMMIT;
)sql";

using pq::Conn;
using pq::Result;

// Key statements are single-row lookups and writes: a server that takes
// seconds over one is as good as down, and the caller (a lookup thread, the
// poller, an admin call) should hear so instead of waiting on.
constexpr char kSessionSettings[] = "SET statement_timeout = 2000";
constexpr absl::Duration kStatementTimeout = absl::Seconds(3);

int64_t Int64At(PGresult* r, int row, int col) {
  int64_t v = 0;
  (void)absl::SimpleAtoi(PQgetvalue(r, row, col), &v);
  return v;
}

absl::StatusOr<KeyRecord> ReadRecord(PGresult* r, int row) {
  KeyRecord k;
  k.id = PQgetvalue(r, row, 0);
  k.tenant = PQgetvalue(r, row, 1);
  k.name = PQgetvalue(r, row, 2);
  k.last4 = PQgetvalue(r, row, 3);
  absl::StatusOr<std::vector<std::string>> models =
      DecodeModels(PQgetvalue(r, row, 4));
  if (!models.ok()) return models.status();
  k.policy.models = *std::move(models);
  k.policy.rpm = Int64At(r, row, 5);
  k.policy.tpm = Int64At(r, row, 6);
  k.policy.budget_micro_usd = Int64At(r, row, 7);
  k.policy.priority = static_cast<int>(Int64At(r, row, 8));
  k.policy.cache = PQgetvalue(r, row, 9);
  k.created = FromMicros(Int64At(r, row, 10));
  if (!PQgetisnull(r, row, 11)) k.revoked = FromMicros(Int64At(r, row, 11));
  k.secret_sha256 = PQgetvalue(r, row, 12);
  k.change_seq = Int64At(r, row, 13);
  return k;
}

absl::StatusOr<std::vector<KeyRecord>> ReadAll(PGresult* r) {
  std::vector<KeyRecord> out;
  for (int row = 0; row < PQntuples(r); ++row) {
    absl::StatusOr<KeyRecord> k = ReadRecord(r, row);
    if (!k.ok()) return k.status();
    out.push_back(*std::move(k));
  }
  return out;
}

class PostgresKeyStore : public KeyStore {
 public:
  explicit PostgresKeyStore(Conn conn) : conn_(std::move(conn)) {}

  // KeyStore
  absl::StatusOr<NewKey> Create(const std::string& tenant,
                                const std::string& name,
                                const KeyPolicy& policy) override {
    if (absl::Status s = ValidateNewKey(tenant, policy); !s.ok()) return s;
    NewKey key = MakeNewKey(tenant, name, policy, absl::Now());
    KeyRecord& r = key.record;
    absl::MutexLock lock(&mu_);
    absl::Status written = InWriteTransaction([&]() -> absl::Status {
      absl::StatusOr<Result> res = ExecLocked(
          absl::StrCat("INSERT INTO sluice_keys (", kKeyColumns,
                       ", key_hash, changed_at_us, change_seq) VALUES "
                       "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, "
                       "$12, $11, nextval('sluice_keys_change_seq')) "
                       "RETURNING change_seq"),
          {r.id, r.tenant, r.name, r.last4, EncodeModels(r.policy.models),
           absl::StrCat(r.policy.rpm), absl::StrCat(r.policy.tpm),
           absl::StrCat(r.policy.budget_micro_usd),
           absl::StrCat(r.policy.priority), r.policy.cache,
           absl::StrCat(ToMicros(r.created)), hash::Sha256Hex(key.secret)},
          "insert key");
      if (!res.ok()) return res.status();
      r.change_seq = Int64At(res->get(), 0, 0);
      return absl::OkStatus();
    });
    if (!written.ok()) return written;
    return key;
  }

  absl::StatusOr<KeyRecord> FindByHash(absl::string_view sha256_hex) override {
    if (!LooksLikeKeyHash(sha256_hex)) return UnknownKey();
    absl::StatusOr<Result> res =
        Exec(absl::StrCat("SELECT ", kKeyColumnsRead,
                          " FROM sluice_keys WHERE key_hash = $1 AND "
                          "revoked_at_us IS NULL"),
             {std::string(sha256_hex)}, "find key");
    if (!res.ok()) return res.status();
    if (PQntuples(res->get()) == 0) return UnknownKey();
    return ReadRecord(res->get(), 0);
  }

  absl::Status Revoke(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    return InWriteTransaction([&]() -> absl::Status {
      // A second revoke keeps the first revocation (time and change).
      absl::StatusOr<Result> res = ExecLocked(
          "UPDATE sluice_keys SET revoked_at_us = $2::bigint, changed_at_us = "
          "$2::bigint, change_seq = nextval('sluice_keys_change_seq') WHERE "
          "id = $1 AND revoked_at_us IS NULL",
          {id, absl::StrCat(ToMicros(absl::Now()))}, "revoke key");
      if (!res.ok()) return res.status();
      if (std::string(PQcmdTuples(res->get())) != "0") return absl::OkStatus();
      absl::StatusOr<Result> known = ExecLocked(
          "SELECT 1 FROM sluice_keys WHERE id = $1", {id}, "find key");
      if (!known.ok()) return known.status();
      if (PQntuples(known->get()) == 0) {
        return absl::NotFoundError(absl::StrCat("no key with id ", id));
      }
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::vector<KeyRecord>> List(
      const std::string& tenant) override {
    absl::StatusOr<Result> res =
        Exec(absl::StrCat(
                 "SELECT ", kKeyColumnsRead,
                 " FROM sluice_keys WHERE $1::text = '' OR tenant = $1::text "
                 "ORDER BY created_at_us, id"),
             {tenant}, "list keys");
    if (!res.ok()) return res.status();
    return ReadAll(res->get());
  }

  absl::StatusOr<std::vector<KeyRecord>> ChangedAfter(
      int64_t change_seq) override {
    absl::StatusOr<Result> res =
        Exec(absl::StrCat("SELECT ", kKeyColumnsRead,
                          " FROM sluice_keys WHERE change_seq > $1::bigint "
                          "ORDER BY change_seq"),
             {absl::StrCat(change_seq)}, "changed keys");
    if (!res.ok()) return res.status();
    return ReadAll(res->get());
  }

 private:
  static absl::Status UnknownKey() {
    return absl::NotFoundError("unknown or revoked API key");
  }

  // Runs one parameterized statement (text parameters and results), waiting
  // at most kStatementTimeout for its answer.
  absl::StatusOr<Result> Exec(const std::string& sql,
                              const std::vector<std::string>& params,
                              absl::string_view what) {
    absl::MutexLock lock(&mu_);
    return ExecLocked(sql, params, what);
  }

  absl::StatusOr<Result> ExecLocked(const std::string& sql,
                                    const std::vector<std::string>& params,
                                    absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    pq::Parameters parameters;
    for (const std::string& p : params) parameters.Text(p);
    // The server's message names the failing constraint or column, never
    // the parameter values we send (the secret is only ever hashed).
    return pq::ExecParams(conn_.get(), sql, parameters, kSessionSettings,
                          "keystore postgres", what, /*binary_result=*/false,
                          kStatementTimeout);
  }

  // Runs `write` in a transaction that holds the table's write lock: key
  // writers (of every replica) take their change sequence one at a time,
  // so sequences commit in order and a reader that has seen one has seen
  // every smaller one. Plain reads are not blocked.
  absl::Status InWriteTransaction(absl::FunctionRef<absl::Status()> write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::Status status = ExecLocked("BEGIN", {}, "begin").status();
    if (!status.ok()) return status;
    status = ExecLocked("LOCK TABLE sluice_keys IN SHARE ROW EXCLUSIVE MODE",
                        {}, "lock keys")
                 .status();
    if (status.ok()) status = write();
    if (status.ok()) status = ExecLocked("COMMIT", {}, "commit").status();
    if (!status.ok()) ExecLocked("ROLLBACK", {}, "rollback").IgnoreError();
    return status;
  }

  absl::Mutex mu_;
  const Conn conn_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<KeyStorePtr> OpenPostgresKeyStore(const std::string& dsn) {
  // libpq's message does not repeat the DSN's password.
  absl::StatusOr<Conn> conn = pq::Connect(dsn, kSessionSettings, "keystore");
  if (!conn.ok()) return conn.status();
  Result res(PQexec(conn->get(), kSchema));
  if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return absl::UnavailableError(absl::StrCat("keystore postgres: schema: ",
                                               PQerrorMessage(conn->get())));
  }
  return std::make_unique<PostgresKeyStore>(*std::move(conn));
}

}  // namespace sluice::keystore

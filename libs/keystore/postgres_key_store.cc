// KeyStore on PostgreSQL: one libpq connection, serialized by a mutex, reset
// when it breaks. Every value travels as a query parameter.
#include <libpq-fe.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/hash/sha256.h"
#include "libs/keystore/key_columns.h"
#include "libs/keystore/key_secret.h"
#include "libs/keystore/key_store.h"
#include "libs/pq/pq_handles.h"

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
CREATE INDEX IF NOT EXISTS sluice_keys_changed ON sluice_keys (changed_at_us);
COMMIT;
)sql";

using pq::Conn;
using pq::Result;

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
    const KeyRecord& r = key.record;
    absl::StatusOr<Result> res = Exec(
        absl::StrCat("INSERT INTO sluice_keys (", kKeyColumns,
                     ", key_hash, changed_at_us) VALUES "
                     "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, "
                     "$12, $11)"),
        {r.id, r.tenant, r.name, r.last4, EncodeModels(r.policy.models),
         absl::StrCat(r.policy.rpm), absl::StrCat(r.policy.tpm),
         absl::StrCat(r.policy.budget_micro_usd),
         absl::StrCat(r.policy.priority), r.policy.cache,
         absl::StrCat(ToMicros(r.created)), hash::Sha256Hex(key.secret)},
        "insert key");
    if (!res.ok()) return res.status();
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
    // A second revoke keeps the first revocation time.
    absl::StatusOr<Result> res = Exec(
        "UPDATE sluice_keys SET changed_at_us = CASE WHEN revoked_at_us IS "
        "NULL THEN $2::bigint ELSE changed_at_us END, revoked_at_us = "
        "COALESCE(revoked_at_us, $2::bigint) WHERE id = $1",
        {id, absl::StrCat(ToMicros(absl::Now()))}, "revoke key");
    if (!res.ok()) return res.status();
    if (std::string(PQcmdTuples(res->get())) == "0") {
      return absl::NotFoundError(absl::StrCat("no key with id ", id));
    }
    return absl::OkStatus();
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

  absl::StatusOr<std::vector<KeyRecord>> ChangedSince(
      absl::Time since) override {
    int64_t us = since == absl::InfinitePast() ? INT64_MIN : ToMicros(since);
    absl::StatusOr<Result> res =
        Exec(absl::StrCat("SELECT ", kKeyColumnsRead,
                          " FROM sluice_keys WHERE changed_at_us >= $1::bigint "
                          "ORDER BY changed_at_us"),
             {absl::StrCat(us)}, "changed keys");
    if (!res.ok()) return res.status();
    return ReadAll(res->get());
  }

 private:
  static absl::Status UnknownKey() {
    return absl::NotFoundError("unknown or revoked API key");
  }

  // Runs one parameterized statement (text parameters and results).
  absl::StatusOr<Result> Exec(const std::string& sql,
                              const std::vector<std::string>& params,
                              absl::string_view what) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    absl::MutexLock lock(&mu_);
    if (PQstatus(conn_.get()) != CONNECTION_OK) PQreset(conn_.get());
    Result res(PQexecParams(conn_.get(), sql.c_str(),
                            static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      // The server's message names the failing constraint or column, never
      // the parameter values we send (the secret is only ever hashed).
      return absl::UnavailableError(absl::StrCat(
          "keystore postgres: ", what, ": ", PQerrorMessage(conn_.get())));
    }
    return res;
  }

  absl::Mutex mu_;
  const Conn conn_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<KeyStorePtr> OpenPostgresKeyStore(const std::string& dsn) {
  Conn conn(PQconnectdb(dsn.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    // The message comes from libpq and does not repeat the DSN's password.
    return absl::UnavailableError(
        absl::StrCat("keystore postgres: connect: ",
                     conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  // Server notices ("relation already exists, skipping") would go to
  // stderr; nothing in them needs acting on.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  Result res(PQexec(conn.get(), kSchema));
  if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return absl::UnavailableError(absl::StrCat("keystore postgres: schema: ",
                                               PQerrorMessage(conn.get())));
  }
  return std::make_unique<PostgresKeyStore>(std::move(conn));
}

}  // namespace sluice::keystore

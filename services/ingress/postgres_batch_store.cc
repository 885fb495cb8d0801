// BatchStore on PostgreSQL (jobs.postgres_dsn), shared by every ingress
// replica: the same tables and guarantees as the SQLite store, and claims
// with a lease on the server's clock, so that one replica at a time runs a
// batch and another resumes it when that one is gone. One libpq
// connection, serialized by a mutex, reset when it breaks; every
// statement's answer is waited for a bounded time. Every value travels as
// a query parameter (file content as binary bytea).
#include <libpq-fe.h>

#include <algorithm>
#include <functional>
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
#include "libs/pq/pq_handles.h"
#include "libs/pq/pq_session.h"
#include "services/ingress/batch_store.h"

namespace sluice::ingress {
namespace {

// The advisory lock keeps replicas that start together from racing on
// CREATE TABLE IF NOT EXISTS (which is not atomic in PostgreSQL). Times
// are Unix seconds (what OpenAI's objects show), null for "never"; a
// claim's lease is the server's time.
constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('sluice_batches_schema'));
CREATE TABLE IF NOT EXISTS sluice_batch_files (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  purpose TEXT NOT NULL,
  filename TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  content BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS sluice_batch_files_by_tenant
  ON sluice_batch_files (tenant, seq);
CREATE TABLE IF NOT EXISTS sluice_batches (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  key_sha256 TEXT NOT NULL,
  input_file_id TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  completion_window TEXT NOT NULL,
  metadata TEXT NOT NULL,
  status TEXT NOT NULL,
  errors TEXT NOT NULL,
  output_file_id TEXT NOT NULL,
  error_file_id TEXT NOT NULL,
  created_at BIGINT, expires_at BIGINT, in_progress_at BIGINT,
  finalizing_at BIGINT, completed_at BIGINT, failed_at BIGINT,
  expired_at BIGINT, cancelling_at BIGINT, cancelled_at BIGINT,
  run_after BIGINT, run_now BOOLEAN NOT NULL,
  total BIGINT NOT NULL DEFAULT 0,
  completed BIGINT NOT NULL DEFAULT 0,
  failed BIGINT NOT NULL DEFAULT 0,
  prompt_tokens BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  cached_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  cost_micro_usd BIGINT NOT NULL DEFAULT 0,
  cost_at_submission_micro_usd BIGINT NOT NULL DEFAULT 0,
  owner TEXT NOT NULL DEFAULT '',
  lease_until TIMESTAMPTZ);
CREATE INDEX IF NOT EXISTS sluice_batches_by_tenant
  ON sluice_batches (tenant, seq);
CREATE TABLE IF NOT EXISTS sluice_batch_lines (
  batch_id TEXT NOT NULL,
  line_no BIGINT NOT NULL,
  custom_id TEXT NOT NULL,
  body TEXT NOT NULL,
  finished BOOLEAN NOT NULL DEFAULT FALSE,
  ok BOOLEAN NOT NULL DEFAULT FALSE,
  result TEXT,
  PRIMARY KEY (batch_id, line_no));
CREATE INDEX IF NOT EXISTS sluice_batch_lines_pending
  ON sluice_batch_lines (batch_id, line_no) WHERE NOT finished;
COMMIT;
)sql";

constexpr char kBatchColumns[] =
    "id, tenant, key_sha256, input_file_id, endpoint, completion_window, "
    "metadata, status, errors, output_file_id, error_file_id, created_at, "
    "expires_at, in_progress_at, finalizing_at, completed_at, failed_at, "
    "expired_at, cancelling_at, cancelled_at, run_after, run_now, total, "
    "completed, failed, prompt_tokens, completion_tokens, cost_micro_usd, "
    "cost_at_submission_micro_usd, cached_tokens, reasoning_tokens";

constexpr char kFileColumns[] =
    "id, tenant, purpose, filename, bytes, created_at";

constexpr char kWho[] = "batch store postgres";
// A 200 MB file goes in one statement.
constexpr char kSessionSettings[] = "SET statement_timeout = 30000";
constexpr absl::Duration kStatementTimeout = absl::Seconds(35);
// Lines per INSERT (PostgreSQL takes at most 65535 parameters), and
// results read per query.
constexpr size_t kRowsPerStatement = 500;
constexpr int kResultsPerPage = 1000;

// A time parameter: Unix seconds, or empty for "never" (the SQL reads it
// with NULLIF($n, '')::bigint).
std::string TimeText(absl::Time t) {
  return t == absl::InfinitePast() ? std::string()
                                   : absl::StrCat(absl::ToUnixSeconds(t));
}

int64_t Int64At(PGresult* r, int row, int col) {
  int64_t v = 0;
  (void)absl::SimpleAtoi(PQgetvalue(r, row, col), &v);
  return v;
}

absl::Time TimeAt(PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return absl::InfinitePast();
  return absl::FromUnixSeconds(Int64At(r, row, col));
}

bool ChangedRows(PGresult* r) { return std::string(PQcmdTuples(r)) != "0"; }

StoredFile ReadFile(PGresult* r, int row) {
  StoredFile file;
  file.id = PQgetvalue(r, row, 0);
  file.tenant = PQgetvalue(r, row, 1);
  file.purpose = PQgetvalue(r, row, 2);
  file.filename = PQgetvalue(r, row, 3);
  file.bytes = Int64At(r, row, 4);
  file.created_at = TimeAt(r, row, 5);
  return file;
}

BatchRecord ReadBatch(PGresult* r, int row) {
  BatchRecord b;
  b.id = PQgetvalue(r, row, 0);
  b.tenant = PQgetvalue(r, row, 1);
  b.key_sha256 = PQgetvalue(r, row, 2);
  b.input_file_id = PQgetvalue(r, row, 3);
  b.endpoint = PQgetvalue(r, row, 4);
  b.completion_window = PQgetvalue(r, row, 5);
  b.metadata_json = PQgetvalue(r, row, 6);
  b.status = PQgetvalue(r, row, 7);
  b.errors_json = PQgetvalue(r, row, 8);
  b.output_file_id = PQgetvalue(r, row, 9);
  b.error_file_id = PQgetvalue(r, row, 10);
  b.created_at = TimeAt(r, row, 11);
  b.expires_at = TimeAt(r, row, 12);
  b.in_progress_at = TimeAt(r, row, 13);
  b.finalizing_at = TimeAt(r, row, 14);
  b.completed_at = TimeAt(r, row, 15);
  b.failed_at = TimeAt(r, row, 16);
  b.expired_at = TimeAt(r, row, 17);
  b.cancelling_at = TimeAt(r, row, 18);
  b.cancelled_at = TimeAt(r, row, 19);
  b.run_after = TimeAt(r, row, 20);
  b.run_now = std::string(PQgetvalue(r, row, 21)) == "t";
  b.total = Int64At(r, row, 22);
  b.completed = Int64At(r, row, 23);
  b.failed = Int64At(r, row, 24);
  b.prompt_tokens = Int64At(r, row, 25);
  b.completion_tokens = Int64At(r, row, 26);
  b.cost_micro_usd = Int64At(r, row, 27);
  b.cost_at_submission_micro_usd = Int64At(r, row, 28);
  b.cached_tokens = Int64At(r, row, 29);
  b.reasoning_tokens = Int64At(r, row, 30);
  return b;
}

std::vector<BatchRecord> ReadBatches(PGresult* r) {
  std::vector<BatchRecord> batches;
  for (int row = 0; row < PQntuples(r); ++row)
    batches.push_back(ReadBatch(r, row));
  return batches;
}

absl::Status NoSuchFile(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("No such File object: ", id));
}

absl::Status NoSuchBatch(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("No such Batch object: ", id));
}

class PostgresBatchStore : public BatchStore {
 public:
  explicit PostgresBatchStore(pq::Conn conn) : conn_(std::move(conn)) {}

  // BatchStore
  absl::StatusOr<StoredFile> CreateFile(StoredFile file,
                                        absl::string_view content) override {
    if (file.id.empty()) file.id = NewObjectId("file-");
    file.bytes = static_cast<int64_t>(content.size());
    file.created_at =
        absl::FromUnixSeconds(absl::ToUnixSeconds(file.created_at));
    pq::Parameters p;
    p.Text(file.id);
    p.Text(file.tenant);
    p.Text(file.purpose);
    p.Text(file.filename);
    p.Int(file.bytes);
    p.Int(absl::ToUnixSeconds(file.created_at));
    p.Bytes(std::string(content));
    // Written again (a batch finalized again after a crash): the newest.
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        "INSERT INTO sluice_batch_files (id, tenant, purpose, filename, bytes, "
        "created_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT "
        "(id) DO UPDATE SET seq = DEFAULT, tenant = EXCLUDED.tenant, purpose = "
        "EXCLUDED.purpose, filename = EXCLUDED.filename, bytes = "
        "EXCLUDED.bytes, "
        "created_at = EXCLUDED.created_at, content = EXCLUDED.content",
        p, "store file");
    if (!res.ok()) return res.status();
    return file;
  }

  absl::StatusOr<StoredFile> GetFile(const std::string& tenant,
                                     const std::string& id) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        absl::StrCat("SELECT ", kFileColumns,
                     " FROM sluice_batch_files WHERE id = $1 AND tenant = $2"),
        Params({id, tenant}), "read file");
    if (!res.ok()) return res.status();
    if (PQntuples(res->get()) == 0) return NoSuchFile(id);
    return ReadFile(res->get(), 0);
  }

  absl::StatusOr<std::string> FileContent(const std::string& tenant,
                                          const std::string& id) override {
    absl::MutexLock lock(&mu_);
    // Binary: the bytes as stored, not bytea's hex text of twice the size.
    absl::StatusOr<pq::Result> res = Exec(
        "SELECT content FROM sluice_batch_files WHERE id = $1 AND tenant = $2",
        Params({id, tenant}), "read file content", /*binary_result=*/true);
    if (!res.ok()) return res.status();
    if (PQntuples(res->get()) == 0) return NoSuchFile(id);
    return std::string(PQgetvalue(res->get(), 0, 0),
                       static_cast<size_t>(PQgetlength(res->get(), 0, 0)));
  }

  absl::StatusOr<std::vector<StoredFile>> ListFiles(
      const std::string& tenant) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        absl::StrCat(
            "SELECT ", kFileColumns,
            " FROM sluice_batch_files WHERE tenant = $1 ORDER BY seq DESC"),
        Params({tenant}), "list files");
    if (!res.ok()) return res.status();
    std::vector<StoredFile> files;
    for (int row = 0; row < PQntuples(res->get()); ++row) {
      files.push_back(ReadFile(res->get(), row));
    }
    return files;
  }

  absl::Status DeleteFile(const std::string& tenant,
                          const std::string& id) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res =
        Exec("DELETE FROM sluice_batch_files WHERE id = $1 AND tenant = $2",
             Params({id, tenant}), "delete file");
    if (!res.ok()) return res.status();
    return ChangedRows(res->get()) ? absl::OkStatus() : NoSuchFile(id);
  }

  absl::Status CreateBatch(const BatchRecord& b) override {
    pq::Parameters p = Params({b.id,
                               b.tenant,
                               b.key_sha256,
                               b.input_file_id,
                               b.endpoint,
                               b.completion_window,
                               b.metadata_json,
                               b.status,
                               b.errors_json,
                               b.output_file_id,
                               b.error_file_id,
                               TimeText(b.created_at),
                               TimeText(b.expires_at),
                               TimeText(b.in_progress_at),
                               TimeText(b.finalizing_at),
                               TimeText(b.completed_at),
                               TimeText(b.failed_at),
                               TimeText(b.expired_at),
                               TimeText(b.cancelling_at),
                               TimeText(b.cancelled_at),
                               TimeText(b.run_after),
                               b.run_now ? "true" : "false"});
    std::string values = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11";
    for (int i = 12; i <= 21; ++i)
      absl::StrAppend(&values, ", NULLIF($", i, ", '')::bigint");
    absl::MutexLock lock(&mu_);
    return Exec(absl::StrCat("INSERT INTO sluice_batches (", kBatchColumns,
                             ") VALUES (", values,
                             ", $22::boolean, 0, 0, 0, 0, 0, 0, 0, 0, 0)"),
                p, "store batch")
        .status();
  }

  absl::StatusOr<BatchRecord> GetBatch(const std::string& tenant,
                                       const std::string& id) override {
    absl::MutexLock lock(&mu_);
    return ReadBatchLocked(tenant, id);
  }

  absl::StatusOr<std::vector<BatchRecord>> ListBatches(
      const std::string& tenant, const std::string& after, int limit) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        absl::StrCat(
            "SELECT ", kBatchColumns,
            " FROM sluice_batches WHERE tenant = $1 AND ($2::text = '' OR "
            "seq < (SELECT seq FROM sluice_batches WHERE id = $2::text AND "
            "tenant = $1)) ORDER BY seq DESC LIMIT $3::bigint"),
        Params({tenant, after, absl::StrCat(limit)}), "list batches");
    if (!res.ok()) return res.status();
    return ReadBatches(res->get());
  }

  absl::StatusOr<std::vector<BatchRecord>> ActiveBatches() override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        absl::StrCat("SELECT ", kBatchColumns,
                     " FROM sluice_batches WHERE status IN ('validating', "
                     "'in_progress', 'finalizing', 'cancelling') ORDER BY seq"),
        {}, "list active batches");
    if (!res.ok()) return res.status();
    return ReadBatches(res->get());
  }

  absl::Status UpdateBatch(const BatchRecord& b,
                           absl::string_view from) override {
    pq::Parameters p =
        Params({b.status, b.errors_json, b.output_file_id, b.error_file_id,
                TimeText(b.in_progress_at), TimeText(b.finalizing_at),
                TimeText(b.completed_at), TimeText(b.failed_at),
                TimeText(b.expired_at), TimeText(b.cancelling_at),
                TimeText(b.cancelled_at), TimeText(b.run_after), b.id,
                std::string(from)});
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        "UPDATE sluice_batches SET status = $1, errors = $2, output_file_id = "
        "$3, "
        "error_file_id = $4, in_progress_at = NULLIF($5, '')::bigint, "
        "finalizing_at = NULLIF($6, '')::bigint, completed_at = NULLIF($7, "
        "'')::bigint, failed_at = NULLIF($8, '')::bigint, expired_at = "
        "NULLIF($9, '')::bigint, cancelling_at = NULLIF($10, '')::bigint, "
        "cancelled_at = NULLIF($11, '')::bigint, run_after = NULLIF($12, "
        "'')::bigint WHERE id = $13 AND status = $14",
        p, "update batch");
    if (!res.ok()) return res.status();
    if (!ChangedRows(res->get())) {
      return absl::AbortedError(
          absl::StrCat("batch ", b.id, " is no longer ", from));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<BatchRecord> RequestCancel(const std::string& tenant,
                                            const std::string& id,
                                            absl::Time now) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        absl::StrCat("UPDATE sluice_batches SET status = 'cancelling', "
                     "cancelling_at = NULLIF($3, '')::bigint WHERE id = $1 AND "
                     "tenant = $2 AND status IN ('validating', 'in_progress') "
                     "RETURNING ",
                     kBatchColumns),
        Params({id, tenant, TimeText(now)}), "cancel batch");
    if (!res.ok()) return res.status();
    if (PQntuples(res->get()) > 0) return ReadBatch(res->get(), 0);
    absl::StatusOr<BatchRecord> batch = ReadBatchLocked(tenant, id);
    if (!batch.ok()) return batch.status();
    if (batch->status != kBatchCancelling) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Cannot cancel a batch with status '", batch->status, "'."));
    }
    return batch;
  }

  absl::StatusOr<bool> ClaimBatch(const std::string& id,
                                  const std::string& owner,
                                  absl::Duration lease) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        "UPDATE sluice_batches SET owner = $2, lease_until = clock_timestamp() "
        "+ "
        "$3::bigint * interval '1 millisecond' WHERE id = $1 AND (owner = $2 "
        "OR "
        "owner = '' OR lease_until < clock_timestamp())",
        Params({id, owner, absl::StrCat(absl::ToInt64Milliseconds(lease))}),
        "claim batch");
    if (!res.ok()) return res.status();
    return ChangedRows(res->get());
  }

  absl::Status ReleaseBatch(const std::string& id,
                            const std::string& owner) override {
    absl::MutexLock lock(&mu_);
    return Exec(
               "UPDATE sluice_batches SET owner = '', lease_until = NULL "
               "WHERE id = $1 AND owner = $2",
               Params({id, owner}), "release batch")
        .status();
  }

  absl::Status AddLines(const std::string& batch_id,
                        const std::vector<BatchLine>& lines) override {
    absl::MutexLock lock(&mu_);
    return InTransaction([&]() -> absl::Status {
      for (size_t from = 0; from < lines.size(); from += kRowsPerStatement) {
        const size_t to = std::min(lines.size(), from + kRowsPerStatement);
        std::string sql =
            "INSERT INTO sluice_batch_lines (batch_id, line_no, custom_id, "
            "body) VALUES ";
        pq::Parameters p;
        p.Text(batch_id);
        for (size_t i = from; i < to; ++i) {
          const size_t n = 3 * (i - from) + 1;
          absl::StrAppend(&sql, i == from ? "" : ", ", "($1, $", n + 1,
                          "::bigint, $", n + 2, ", $", n + 3, ")");
          p.Int(lines[i].line_no);
          p.Text(lines[i].custom_id);
          p.Text(lines[i].body);
        }
        absl::StrAppend(&sql, " ON CONFLICT (batch_id, line_no) DO NOTHING");
        if (absl::Status s = Exec(sql, p, "add lines").status(); !s.ok())
          return s;
      }
      return Exec("UPDATE sluice_batches SET total = $2::bigint WHERE id = $1",
                  Params({batch_id, absl::StrCat(lines.size())}), "count lines")
          .status();
    });
  }

  absl::StatusOr<std::vector<BatchLine>> PendingLines(
      const std::string& batch_id, int64_t after_line, int limit) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<pq::Result> res = Exec(
        "SELECT line_no, custom_id, body FROM sluice_batch_lines WHERE "
        "batch_id = $1 AND NOT finished AND line_no > $2::bigint ORDER BY "
        "line_no LIMIT $3::bigint",
        Params({batch_id, absl::StrCat(after_line), absl::StrCat(limit)}),
        "read lines");
    if (!res.ok()) return res.status();
    std::vector<BatchLine> lines;
    for (int row = 0; row < PQntuples(res->get()); ++row) {
      lines.push_back({Int64At(res->get(), row, 0),
                       PQgetvalue(res->get(), row, 1),
                       PQgetvalue(res->get(), row, 2)});
    }
    return lines;
  }

  absl::StatusOr<int> FinishLines(
      const std::string& batch_id,
      const std::vector<LineOutcome>& outcomes) override {
    // In line order: two replicas finishing the same lines (one took the
    // batch over after the other's lease) lock them in the same order.
    std::vector<const LineOutcome*> sorted;
    for (const LineOutcome& outcome : outcomes) sorted.push_back(&outcome);
    std::sort(sorted.begin(), sorted.end(),
              [](const LineOutcome* a, const LineOutcome* b) {
                return a->line_no < b->line_no;
              });
    int finished = 0;
    absl::MutexLock lock(&mu_);
    absl::Status status = InTransaction([&]() -> absl::Status {
      finished = 0;
      LineOutcome sum;
      int completed = 0;
      for (const LineOutcome* outcome : sorted) {
        absl::StatusOr<pq::Result> res = Exec(
            "UPDATE sluice_batch_lines SET finished = TRUE, ok = $3::boolean, "
            "result = $4 WHERE batch_id = $1 AND line_no = $2::bigint AND NOT "
            "finished",
            Params({batch_id, absl::StrCat(outcome->line_no),
                    outcome->ok ? "true" : "false", outcome->result_line}),
            "finish line");
        if (!res.ok()) return res.status();
        // A line finished before (run again after a restart) is not counted
        // again.
        if (!ChangedRows(res->get())) continue;
        ++finished;
        completed += outcome->ok ? 1 : 0;
        sum.prompt_tokens += outcome->prompt_tokens;
        sum.completion_tokens += outcome->completion_tokens;
        sum.cached_tokens += outcome->cached_tokens;
        sum.reasoning_tokens += outcome->reasoning_tokens;
        sum.cost_micro_usd += outcome->cost_micro_usd;
        sum.cost_at_submission_micro_usd +=
            outcome->cost_at_submission_micro_usd;
      }
      return Exec(
                 "UPDATE sluice_batches SET completed = completed + "
                 "$2::bigint, "
                 "failed = failed + $3::bigint, prompt_tokens = prompt_tokens "
                 "+ "
                 "$4::bigint, completion_tokens = completion_tokens + "
                 "$5::bigint, "
                 "cost_micro_usd = cost_micro_usd + $6::bigint, "
                 "cost_at_submission_micro_usd = cost_at_submission_micro_usd "
                 "+ "
                 "$7::bigint, cached_tokens = cached_tokens + $8::bigint, "
                 "reasoning_tokens = reasoning_tokens + $9::bigint WHERE id = "
                 "$1",
                 Params({batch_id, absl::StrCat(completed),
                         absl::StrCat(finished - completed),
                         absl::StrCat(sum.prompt_tokens),
                         absl::StrCat(sum.completion_tokens),
                         absl::StrCat(sum.cost_micro_usd),
                         absl::StrCat(sum.cost_at_submission_micro_usd),
                         absl::StrCat(sum.cached_tokens),
                         absl::StrCat(sum.reasoning_tokens)}),
                 "count lines")
          .status();
    });
    if (!status.ok()) return status;
    return finished;
  }

  absl::Status ForEachResult(
      const std::string& batch_id, bool ok,
      const std::function<void(const std::string&)>& each) override {
    // A page at a time: a batch's results may be far larger than one answer
    // should be.
    int64_t after = 0;
    while (true) {
      std::vector<std::string> page;
      {
        absl::MutexLock lock(&mu_);
        absl::StatusOr<pq::Result> res = Exec(
            "SELECT line_no, result FROM sluice_batch_lines WHERE batch_id = "
            "$1 AND finished AND ok = $2::boolean AND line_no > $3::bigint "
            "ORDER BY line_no LIMIT $4::bigint",
            Params({batch_id, ok ? "true" : "false", absl::StrCat(after),
                    absl::StrCat(kResultsPerPage)}),
            "read results");
        if (!res.ok()) return res.status();
        for (int row = 0; row < PQntuples(res->get()); ++row) {
          after = Int64At(res->get(), row, 0);
          page.push_back(PQgetvalue(res->get(), row, 1));
        }
      }
      for (const std::string& line : page) each(line);
      if (page.size() < static_cast<size_t>(kResultsPerPage))
        return absl::OkStatus();
    }
  }

 private:
  static pq::Parameters Params(std::vector<std::string> values) {
    pq::Parameters p;
    for (std::string& value : values) p.Text(std::move(value));
    return p;
  }

  absl::StatusOr<BatchRecord> ReadBatchLocked(const std::string& tenant,
                                              const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<pq::Result> res =
        Exec(absl::StrCat("SELECT ", kBatchColumns,
                          " FROM sluice_batches WHERE id = $1 AND tenant = $2"),
             Params({id, tenant}), "read batch");
    if (!res.ok()) return res.status();
    if (PQntuples(res->get()) == 0) return NoSuchBatch(id);
    return ReadBatch(res->get(), 0);
  }

  absl::StatusOr<pq::Result> Exec(const std::string& sql,
                                  const pq::Parameters& parameters,
                                  absl::string_view what,
                                  bool binary_result = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pq::ExecParams(conn_.get(), sql, parameters, kSessionSettings, kWho,
                          what, binary_result, kStatementTimeout);
  }

  absl::Status InTransaction(absl::FunctionRef<absl::Status()> body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pq::InTransaction(conn_.get(), kSessionSettings, kWho,
                             kStatementTimeout, body);
  }

  absl::Mutex mu_;
  const pq::Conn conn_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<BatchStorePtr> OpenPostgresBatchStore(const std::string& dsn) {
  // libpq's message does not repeat the DSN's password.
  absl::StatusOr<pq::Conn> conn =
      pq::Connect(dsn, kSessionSettings, "batch store");
  if (!conn.ok()) return conn.status();
  pq::Result res(PQexec(conn->get(), kSchema));
  if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return absl::UnavailableError(
        absl::StrCat(kWho, ": schema: ", PQerrorMessage(conn->get())));
  }
  return std::make_unique<PostgresBatchStore>(*std::move(conn));
}

}  // namespace sluice::ingress

// OpenAI's Batch API state: uploaded files with their content, batches, and
// each batch's lines with their results. Everything a restarted replica
// needs to resume a batch is here; a line's result is written once (the
// first write wins), so a line run again after a crash cannot be counted
// twice. The BatchStore interface, on SQLite (the job store's file, one
// replica's) or PostgreSQL (shared by every ingress replica: a batch made
// through one is seen by all, and claims with a lease let one replica at a
// time run it). Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/ingress/batch_file.h"

namespace sluice::ingress {

// A new object id: `prefix` and 24 random hex digits ("file-", "batch_").
std::string NewObjectId(absl::string_view prefix);

struct StoredFile {
  std::string id;
  std::string tenant;
  std::string purpose;  // "batch", "batch_output"
  std::string filename;
  int64_t bytes = 0;
  absl::Time created_at;
};

// A batch's statuses, as OpenAI names them.
inline constexpr char kBatchValidating[] = "validating";
inline constexpr char kBatchFailed[] = "failed";
inline constexpr char kBatchInProgress[] = "in_progress";
inline constexpr char kBatchFinalizing[] = "finalizing";
inline constexpr char kBatchCompleted[] = "completed";
inline constexpr char kBatchExpired[] = "expired";
inline constexpr char kBatchCancelling[] = "cancelling";
inline constexpr char kBatchCancelled[] = "cancelled";

struct BatchRecord {
  std::string id;
  std::string tenant;
  // The SHA-256 of the key that made the batch: its lines run under that
  // key (its models, limits and budget), never under a stored secret.
  std::string key_sha256;
  std::string input_file_id;
  std::string endpoint;
  std::string completion_window;
  std::string metadata_json;  // a JSON object, or empty
  std::string status = kBatchValidating;
  std::string errors_json;  // OpenAI's {"object":"list","data":[...]}, or empty
  std::string output_file_id;
  std::string error_file_id;
  // absl::InfinitePast() where OpenAI answers null.
  absl::Time created_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfinitePast();
  absl::Time in_progress_at = absl::InfinitePast();
  absl::Time finalizing_at = absl::InfinitePast();
  absl::Time completed_at = absl::InfinitePast();
  absl::Time failed_at = absl::InfinitePast();
  absl::Time expired_at = absl::InfinitePast();
  absl::Time cancelling_at = absl::InfinitePast();
  absl::Time cancelled_at = absl::InfinitePast();
  // Lines start no earlier (the cheapest prices inside the window).
  absl::Time run_after = absl::InfinitePast();
  bool run_now = false;  // the caller opted out of deferral
  // Counts and sums over the finished lines.
  int64_t total = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t cost_micro_usd = 0;  // what the lines were charged
  // What they would have been charged at the prices of submission time.
  int64_t cost_at_submission_micro_usd = 0;
};

// What one finished line adds to its batch.
struct LineOutcome {
  int64_t line_no = 0;
  bool ok = false;          // HTTP 200: the output file; else the error file
  std::string result_line;  // in OpenAI's batch output format
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t cost_micro_usd = 0;
  int64_t cost_at_submission_micro_usd = 0;
};

class BatchStore {
 public:
  virtual ~BatchStore() = default;

  // Files. Lookups take the tenant: another tenant's id is NOT_FOUND.
  // `file.id` empty: a new id; else that file is written (again).
  virtual absl::StatusOr<StoredFile> CreateFile(StoredFile file,
                                                absl::string_view content) = 0;
  virtual absl::StatusOr<StoredFile> GetFile(const std::string& tenant,
                                             const std::string& id) = 0;
  virtual absl::StatusOr<std::string> FileContent(const std::string& tenant,
                                                  const std::string& id) = 0;
  // The caller's files, newest first.
  virtual absl::StatusOr<std::vector<StoredFile>> ListFiles(
      const std::string& tenant) = 0;
  virtual absl::Status DeleteFile(const std::string& tenant,
                                  const std::string& id) = 0;

  // Batches.
  virtual absl::Status CreateBatch(const BatchRecord& batch) = 0;
  virtual absl::StatusOr<BatchRecord> GetBatch(const std::string& tenant,
                                               const std::string& id) = 0;
  // Newest first, those older than `after` (a batch id; empty: from the
  // newest), at most `limit`.
  virtual absl::StatusOr<std::vector<BatchRecord>> ListBatches(
      const std::string& tenant, const std::string& after, int limit) = 0;
  // Batches not yet in a final status, oldest first (any tenant).
  virtual absl::StatusOr<std::vector<BatchRecord>> ActiveBatches() = 0;
  // Writes the status, its times, the error list, the deferral and the file
  // ids of `batch` (the counts and sums are kept by FinishLine), if its
  // stored status is still `from`: ABORTED when it moved meanwhile (a
  // cancel arrived), so that nothing overwrites it.
  virtual absl::Status UpdateBatch(const BatchRecord& batch,
                                   absl::string_view from) = 0;
  // cancelling (from validating or in_progress); the batch as it is now.
  // FAILED_PRECONDITION for a batch already finishing or finished.
  virtual absl::StatusOr<BatchRecord> RequestCancel(const std::string& tenant,
                                                    const std::string& id,
                                                    absl::Time now) = 0;

  // Claims: one runner at a time runs a batch, whichever replica it is in.
  // Takes batch `id` for `owner` until `lease` from now (the database's
  // clock), or renews it: true when it was unclaimed, its lease had ended,
  // or `owner` held it already; false while another owner's lease lasts.
  virtual absl::StatusOr<bool> ClaimBatch(const std::string& id,
                                          const std::string& owner,
                                          absl::Duration lease) = 0;
  // Ends `owner`'s claim on `id`, if it holds it: another replica may take
  // the batch at once instead of after the lease.
  virtual absl::Status ReleaseBatch(const std::string& id,
                                    const std::string& owner) = 0;

  // Lines.
  // Stores the validated lines and the total, all or nothing.
  virtual absl::Status AddLines(const std::string& batch_id,
                                const std::vector<BatchLine>& lines) = 0;
  // Unfinished lines of a batch in file order, at most `limit`, after
  // `after_line`.
  virtual absl::StatusOr<std::vector<BatchLine>> PendingLines(
      const std::string& batch_id, int64_t after_line, int limit) = 0;
  // Records the lines' outcomes and adds them to the batch's counts, all in
  // one transaction; a line that had finished before is left as it was.
  // How many lines finished now.
  virtual absl::StatusOr<int> FinishLines(
      const std::string& batch_id,
      const std::vector<LineOutcome>& outcomes) = 0;
  // Calls `each` with the result of every finished line in file order whose
  // outcome was `ok`.
  virtual absl::Status ForEachResult(
      const std::string& batch_id, bool ok,
      const std::function<void(const std::string&)>& each) = 0;
};

using BatchStorePtr = std::unique_ptr<BatchStore>;

// Opens (creating the tables if needed) the SQLite database at `path`
// (":memory:" works).
absl::StatusOr<BatchStorePtr> OpenSqliteBatchStore(const std::string& path);

// Connects to PostgreSQL (a libpq DSN) and creates the tables if missing, in
// the connection's search_path.
absl::StatusOr<BatchStorePtr> OpenPostgresBatchStore(const std::string& dsn);

}  // namespace sluice::ingress

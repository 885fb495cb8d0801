// The results of async jobs, by job id, on an embedded SQLite file: a job
// redelivered by Kafka (at-least-once) finds its result here and is not
// sent upstream again. Thread-safe.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace sluice::ingress {

class JobStore {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" works).
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path);
  ~JobStore();

  // A job's id: its tenant and custom_id (another tenant's job of the same
  // custom_id is another job).
  static std::string JobId(absl::string_view tenant, absl::string_view custom_id);

  // The stored output line of `job_id`, if any.
  absl::StatusOr<std::optional<std::string>> Result(const std::string& job_id);
  // Stores the output line of `job_id` (durably: SQLite's commit); the
  // first one stored wins.
  absl::Status Store(const std::string& job_id, const std::string& line);

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::ingress

// The results of async jobs, by job id, on an embedded SQLite file: a job
// redelivered by Kafka (at-least-once) finds its result here and is not
// sent upstream again. Thread-safe.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
  // custom_id is another job). "tenant/custom_id", with any '%' and '/' of
  // the tenant's name percent-encoded: the first '/' always ends the
  // tenant, so tenant "a" with custom_id "b/x" is not tenant "a/b" with
  // "x" (names without either character keep the ids they always had).
  static std::string JobId(absl::string_view tenant, absl::string_view custom_id);

  // The output line of the finished job `custom_id` of `tenant`: NOT_FOUND
  // (param custom_id) while it runs, for one never sent, and for another
  // tenant's (they look alike).
  absl::StatusOr<std::string> FinishedResult(absl::string_view tenant,
                                             absl::string_view custom_id);

  // The stored output line of `job_id`, if any.
  absl::StatusOr<std::optional<std::string>> Result(const std::string& job_id);
  // Stores the output lines of jobs by id, in one commit (it survives the
  // process; WAL with synchronous=NORMAL: a power cut may lose the last
  // commits, and Kafka then delivers those jobs again); the first line
  // stored for an id wins.
  absl::Status Store(const std::vector<std::pair<std::string, std::string>>& lines);

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::ingress

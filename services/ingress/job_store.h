// The results of async jobs, by job id: a job redelivered by Kafka
// (at-least-once) finds its result here and is not sent upstream again.
// The JobStore interface, on SQLite (one replica's file) or PostgreSQL
// (shared by every ingress replica, so a job redelivered to another replica
// after a rebalance is answered too). Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::ingress {

class JobStore {
 public:
  virtual ~JobStore() = default;

  // A job's id: its tenant and custom_id (another tenant's job of the same
  // custom_id is another job). "tenant/custom_id", with any '%' and '/' of
  // the tenant's name percent-encoded: the first '/' always ends the
  // tenant, so tenant "a" with custom_id "b/x" is not tenant "a/b" with
  // "x" (names without either character keep the ids they always had).
  static std::string JobId(absl::string_view tenant,
                           absl::string_view custom_id);

  // The output line of the finished job `custom_id` of `tenant`: NOT_FOUND
  // (param custom_id) while it runs, for one never sent, and for another
  // tenant's (they look alike).
  absl::StatusOr<std::string> FinishedResult(absl::string_view tenant,
                                             absl::string_view custom_id);

  // The stored output lines of those of `job_ids` that have one, by id: one
  // lookup for a whole poll of jobs (one round trip to PostgreSQL, not one
  // per job).
  virtual absl::StatusOr<absl::flat_hash_map<std::string, std::string>> Results(
      const std::vector<std::string>& job_ids) = 0;
  // Stores the output lines of jobs by id, in one commit; the first line
  // stored for an id wins (whichever replica stored it).
  virtual absl::Status Store(
      const std::vector<std::pair<std::string, std::string>>& lines) = 0;
};

using JobStorePtr = std::unique_ptr<JobStore>;

// Opens (creating if needed) the SQLite database at `path` (":memory:"
// works). WAL with synchronous=NORMAL: a power cut may lose the last
// commits, and Kafka then delivers those jobs again.
absl::StatusOr<JobStorePtr> OpenSqliteJobStore(const std::string& path);

// Connects to PostgreSQL (a libpq DSN) and creates the table if missing, in
// the connection's search_path.
absl::StatusOr<JobStorePtr> OpenPostgresJobStore(const std::string& dsn);

}  // namespace sluice::ingress

// UsageStore on an embedded SQLite file (the single-machine default).
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/metering/usage_rollup.h"
#include "services/metering/usage_store.h"

namespace sluice::metering {

class SqliteUsageStore : public UsageStore {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" works).
  static absl::StatusOr<UsageStorePtr> Open(const std::string& path);
  ~SqliteUsageStore() override;

  // UsageStore
  absl::StatusOr<bool> Record(const sluice::v1::UsageEvent& event) override;
  absl::StatusOr<int> RecordAll(
      const std::vector<sluice::v1::UsageEvent>& events,
      const std::vector<ConsumedOffset>& offsets) override;
  absl::StatusOr<std::optional<int64_t>> NextOffset(
      const std::string& topic, int32_t partition) override;
  absl::StatusOr<sluice::v1::UsageReport> Totals(
      const std::string& tenant) override;
  absl::StatusOr<sluice::v1::ReportResponse> Report(
      const sluice::v1::ReportQuery& query) override;
  absl::StatusOr<sluice::v1::UsageEvent> FindRequest(
      const std::string& request_id) override;

 private:
  explicit SqliteUsageStore(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The statement for `sql`, prepared on first use and kept (parsing SQL
  // for every usage event was a visible share of a busy gateway's CPU),
  // reset (each use binds every parameter); null with the error in `error`.
  sqlite3_stmt* Prepared(int slot, const char* sql, absl::Status& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inserts the events (into the event log only), inside the caller's
  // transaction; those that were new, each once.
  absl::StatusOr<std::vector<const sluice::v1::UsageEvent*>> InsertEvents(
      const std::vector<sluice::v1::UsageEvent>& events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inserts kEventsPerInsert events from `events` in one statement: true,
  // or false when one of them was recorded before or repeats another (then
  // none was inserted).
  absl::StatusOr<bool> InsertMany(const sluice::v1::UsageEvent* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inserts one event; whether it was new.
  absl::StatusOr<bool> InsertEvent(const sluice::v1::UsageEvent& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Binds an event's columns from parameter `first` on, `blob` holding its
  // serialized form.
  void BindEvent(sqlite3_stmt* statement, int first,
                 const sluice::v1::UsageEvent& event, std::string& blob)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds a batch's sums to one (tenant, model) total, inside the caller's
  // transaction.
  absl::Status UpsertTotal(const std::string& tenant, const std::string& model,
                           const TotalSums& sums)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds a batch's sums to the stored rollup rows, inside the caller's
  // transaction.
  absl::Status UpsertRollups(const Rollups& rows)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs a prepared statement that returns no rows.
  absl::Status Run(int slot, const char* sql, absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Slots of the kept statements.
  enum StatementSlot {
    kBegin,
    kCommit,
    kRollback,
    kInsert,
    kInsertMany,
    kUpsert,
    kOffset,
    kRollup,
    kRollupMany,
    kStatementCount
  };

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  sqlite3_stmt* statements_[kStatementCount] ABSL_GUARDED_BY(mu_) = {};
  // The events being inserted, serialized (kept to reuse their buffers).
  std::vector<std::string> blobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::metering

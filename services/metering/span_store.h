// Where metering keeps spans for the console: by request id (a trace is
// shown for one request, so a client that reuses another's trace id sees
// only its own spans), pruned by age.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::metering {

class SpanStore {
 public:
  virtual ~SpanStore() = default;
  // Stores the spans in one transaction, one row per request they belong
  // to (a request's spans mostly arrive together: one row, not five). A
  // batch sent again is stored once.
  virtual absl::Status Record(sluice::v1::SpanBatch batch) = 0;
  // The spans of one request, by start time, each once; empty when none.
  virtual absl::StatusOr<std::vector<sluice::v1::Span>> FindByRequest(
      const std::string& request_id) = 0;
  // Deletes the spans that started before `cutoff`; how many.
  virtual absl::StatusOr<int64_t> Prune(absl::Time cutoff) = 0;
};

using SpanStorePtr = std::unique_ptr<SpanStore>;

// What a store writes for `batch`: its spans grouped by request, in the
// order the requests first appear.
struct RequestSpans {
  std::string request_id;
  std::string first_span_id;    // with the request id, the row's key
  int64_t start_unix_nano = 0;  // the earliest of its spans
  sluice::v1::SpanBatch spans;
};
std::vector<RequestSpans> GroupByRequest(sluice::v1::SpanBatch batch);

// The spans of a request's rows, by start time, each span id once.
std::vector<sluice::v1::Span> MergeRequestSpans(
    std::vector<sluice::v1::SpanBatch> rows);

// On the SQLite file at `path` (its own connection: spans never wait for a
// usage batch's transaction longer than SQLite's busy timeout).
absl::StatusOr<SpanStorePtr> OpenSqliteSpanStore(const std::string& path);
// On PostgreSQL (metering.postgres_dsn).
absl::StatusOr<SpanStorePtr> OpenPostgresSpanStore(const std::string& dsn);

}  // namespace sluice::metering

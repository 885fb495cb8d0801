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
  // Stores the spans in one transaction; a span stored before (same
  // request and span id) is kept as it was.
  virtual absl::Status Record(const std::vector<sluice::v1::Span>& spans) = 0;
  // The spans of one request, by start time; empty when none.
  virtual absl::StatusOr<std::vector<sluice::v1::Span>> FindByRequest(
      const std::string& request_id) = 0;
  // Deletes the spans that started before `cutoff`; how many.
  virtual absl::StatusOr<int64_t> Prune(absl::Time cutoff) = 0;
};

using SpanStorePtr = std::unique_ptr<SpanStore>;

// On the SQLite file at `path` (its own connection: spans never wait for a
// usage batch's transaction longer than SQLite's busy timeout).
absl::StatusOr<SpanStorePtr> OpenSqliteSpanStore(const std::string& path);
// On PostgreSQL (metering.postgres_dsn).
absl::StatusOr<SpanStorePtr> OpenPostgresSpanStore(const std::string& dsn);

}  // namespace sluice::metering

#include "services/metering/span_store.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace sluice::metering {

std::vector<RequestSpans> GroupByRequest(sluice::v1::SpanBatch batch) {
  std::vector<RequestSpans> groups;
  absl::flat_hash_map<std::string, size_t> index;
  for (sluice::v1::Span& span : *batch.mutable_spans()) {
    auto [it, added] = index.try_emplace(span.request_id(), groups.size());
    if (added) {
      RequestSpans& group = groups.emplace_back();
      group.request_id = span.request_id();
      group.first_span_id = span.span_id();
      group.start_unix_nano = span.start_unix_nano();
    }
    RequestSpans& group = groups[it->second];
    group.start_unix_nano =
        std::min(group.start_unix_nano, span.start_unix_nano());
    *group.spans.add_spans() = std::move(span);
  }
  return groups;
}

std::vector<sluice::v1::Span> MergeRequestSpans(
    std::vector<sluice::v1::SpanBatch> rows) {
  std::vector<sluice::v1::Span> spans;
  absl::flat_hash_set<std::string> seen;
  for (sluice::v1::SpanBatch& row : rows) {
    for (sluice::v1::Span& span : *row.mutable_spans()) {
      if (seen.insert(span.span_id()).second) {
        spans.push_back(std::move(span));
      }
    }
  }
  std::stable_sort(spans.begin(), spans.end(),
                   [](const auto& a, const auto& b) {
                     return a.start_unix_nano() < b.start_unix_nano();
                   });
  return spans;
}

}  // namespace sluice::metering

// OpenAI's File and Batch objects as JSON.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/ingress/batch_store.h"

namespace sluice::ingress {

std::string FileJson(const StoredFile& file);
std::string FileListJson(const std::vector<StoredFile>& files);

// The Batch object, with `usage` (tokens of the finished lines) and, as
// sluice's own addition, `sluice` {cost_usd, cost_at_submission_usd,
// saving_usd, run_after}.
std::string BatchJson(const BatchRecord& batch);
// {"object":"list","data":[...],"first_id","last_id","has_more"}.
std::string BatchListJson(const std::vector<BatchRecord>& batches, bool has_more);

std::string BatchErrorsJson(const std::vector<BatchLineError>& errors);

}  // namespace sluice::ingress

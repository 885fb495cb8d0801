// JobStore's non-virtual part: job ids and lookups by tenant, for every
// store.
#include "services/ingress/job_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "libs/status/errors.h"

namespace sluice::ingress {

std::string JobStore::JobId(absl::string_view tenant,
                            absl::string_view custom_id) {
  return absl::StrCat(absl::StrReplaceAll(tenant, {{"%", "%25"}, {"/", "%2F"}}),
                      "/", custom_id);
}

absl::StatusOr<std::string> JobStore::FinishedResult(
    absl::string_view tenant, absl::string_view custom_id) {
  const std::string id = JobId(tenant, custom_id);
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> lines = Results({id});
  if (!lines.ok()) return lines.status();
  auto line = lines->find(id);
  if (line == lines->end()) {
    return status::NotFound(
        absl::StrCat("no finished job \"", custom_id,
                     "\" for this key's tenant (it may still be "
                     "queued or running)"),
        "custom_id");
  }
  return std::move(line->second);
}

}  // namespace sluice::ingress

// The table both SQL stores share (one row per key; times are Unix
// microseconds) and the encoding of the columns that are not plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sluice::keystore {

// Columns in the order every INSERT in the stores lists them.
inline constexpr absl::string_view kKeyColumns =
    "id, tenant, name, last4, models, rpm, tpm, budget_micro_usd, priority, "
    "cache_policy, created_at_us, revoked_at_us";
// What every SELECT reads: the same, then the secret's hash (column 12)
// and the change sequence (column 13).
inline constexpr absl::string_view kKeyColumnsRead =
    "id, tenant, name, last4, models, rpm, tpm, budget_micro_usd, priority, "
    "cache_policy, created_at_us, revoked_at_us, key_hash, change_seq";

// Allowed models as a JSON array of strings.
std::string EncodeModels(const std::vector<std::string>& models);
absl::StatusOr<std::vector<std::string>> DecodeModels(absl::string_view json);

inline int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

}  // namespace sluice::keystore

// Virtual keys in JSON, for the admin API (/admin/keys) and `sluice keys`:
// the body of a create request, and a key as shown to operators (never its
// secret, except once in the answer to its creation).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/keystore/key_store.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

struct NewKeyRequest {
  std::string tenant;
  std::string name;
  keystore::KeyPolicy policy;
};

// {"tenant", "name", "models": [...], "rpm", "tpm", "budget_usd",
//  "priority", "cache"}; 400s name the bad field.
absl::StatusOr<NewKeyRequest> ParseNewKeyRequest(absl::string_view body);

// The tenant must be configured, models must be public names (routes or
// aliases), limits not negative, cache one of "", "bypass", "refresh".
absl::Status CheckNewKeyRequest(const NewKeyRequest& request,
                                const sluice::v1::Config& config);

// {"object": "api_key", "id", "tenant", "name", "last4", "models", "rpm",
//  "tpm", "budget_usd", "priority", "cache", "created", "revoked"} plus
// "key" when `secret` is not empty.
std::string KeyJson(const keystore::KeyRecord& record,
                    absl::string_view secret = {});

// {"object": "api_key.revoked", "id", "revoked": true}.
std::string RevokedKeyJson(absl::string_view id);

// {"object": "list", "data": [keys...]}.
std::string KeyListJson(const std::vector<keystore::KeyRecord>& records);

// A budget in USD as kept, in micro-dollars; a 400 naming budget_usd
// outside 0..1e12.
absl::StatusOr<int64_t> BudgetMicroUsd(double usd);

}  // namespace sluice::ingress

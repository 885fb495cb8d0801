// Maps an API key (from `Authorization: Bearer ...`) to its tenant. Only the
// SHA-256 of each key is known; the key itself is never stored or logged.
#pragma once

#include "absl/strings/string_view.h"
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

struct Caller {
  std::string tenant;
  // A short, non-secret id of the key: the first 12 hex digits of its hash.
  std::string key_id;
};

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(const sluice::v1::Config& config);

  // UNAUTHENTICATED (OpenAI code invalid_api_key) when the header is
  // missing, malformed or names no key we know.
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization) const;

 private:
  absl::flat_hash_map<std::string, std::string> tenant_by_hash_;
};

}  // namespace sluice::ingress

// The Anthropic Messages provider: POST base_url + "/messages" with
// x-api-key and anthropic-version, answers translated to OpenAI's shape
// (anthropic_request.h, anthropic_response.h, anthropic_stream.h).
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/upstream/http_client.h"
#include "services/adapters/api_key_ring.h"
#include "services/adapters/provider.h"
#include "sluice/v1/config.pb.h"

namespace sluice::adapters {

inline constexpr char kAnthropicVersion[] = "2023-06-01";

class AnthropicProvider : public Provider {
 public:
  // `client` must outlive the provider. The API keys are read from the
  // environment variables the config names, once, and rotated (a key
  // answered with 429 rests until its Retry-After).
  AnthropicProvider(const sluice::v1::ProviderConfig& config,
                    upstream::HttpClient* client);

  // Provider. A request that cannot be put in Anthropic's shape fails at
  // once (INVALID_ARGUMENT), on the caller's thread, without an upstream call.
  CancelCall Complete(const host::CallContextPtr& context,
                      const sluice::v1::AdapterRequest& request,
                      CompleteCallback done) override;
  CancelCall Stream(const host::CallContextPtr& context,
                    const sluice::v1::AdapterRequest& request,
                    ChunkSink* sink) override;

 private:
  // INVALID_ARGUMENT when the request cannot be put in Anthropic's shape.
  absl::StatusOr<upstream::HttpRequest> BuildRequest(
      const sluice::v1::AdapterRequest& request, bool stream,
      absl::Time deadline, const std::optional<ApiKeyRing::Key>& key) const;
  std::string Route(const sluice::v1::AdapterRequest& request) const;

  sluice::v1::ProviderConfig config_;
  std::string url_;
  ApiKeyRingPtr keys_;
  upstream::HttpClient* client_;
};

}  // namespace sluice::adapters

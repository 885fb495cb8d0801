// The OpenAI-compatible provider family: OpenAI, DeepSeek (with
// reasoning_content), OpenRouter, vLLM, llama.cpp's server, the simulator.
#pragma once

#include <optional>
#include <string>

#include "libs/upstream/http_client.h"
#include "services/adapters/api_key_ring.h"
#include "services/adapters/provider.h"
#include "sluice/v1/config.pb.h"

namespace sluice::adapters {

class OpenAIProvider : public Provider {
 public:
  // `client` must outlive the provider. The API keys are read from the
  // environment variables the config names, once, and rotated (a key
  // answered with 429 rests until its Retry-After).
  OpenAIProvider(const sluice::v1::ProviderConfig& config,
                 upstream::HttpClient* client);

  // Provider
  CancelCall Complete(const host::CallContextPtr& context,
                      const sluice::v1::AdapterRequest& request,
                      CompleteCallback done) override;
  CancelCall Stream(const host::CallContextPtr& context,
                    const sluice::v1::AdapterRequest& request,
                    ChunkSink* sink) override;

 private:
  upstream::HttpRequest BuildRequest(
      const sluice::v1::AdapterRequest& request, bool stream,
      absl::Time deadline, const std::optional<ApiKeyRing::Key>& key) const;
  std::string Route(const sluice::v1::AdapterRequest& request) const;

  sluice::v1::ProviderConfig config_;
  std::string url_;
  ApiKeyRingPtr keys_;
  upstream::HttpClient* client_;
};

}  // namespace sluice::adapters

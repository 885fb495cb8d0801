// The Adapters component as hosted in this process: one provider per
// config entry, sharing one upstream HTTP client; each call is tracked so
// that Drain() can wait for (or cancel) what is in flight. A provider's
// error that quotes one of our provider API keys (some providers put the
// key they were sent in their 401) never leaves here with it: every error
// is masked before its span or its caller sees it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "libs/host/call_tracker.h"
#include "libs/upstream/http_client.h"
#include "services/adapters/adapters.h"
#include "services/adapters/provider.h"
#include "libs/host/internal_auth.h"
#include "services/worker/worker.h"
#include "sluice/v1/config.pb.h"

namespace sluice::adapters {

class AdaptersImpl final : public Adapters {
 public:
  // Worker providers call `worker` (null: they answer UNAVAILABLE); upstream
  // HTTP runs on `io` (null: a thread of its own). Both must outlive this.
  static absl::StatusOr<std::unique_ptr<AdaptersImpl>> Create(
      const sluice::v1::Config& config, worker::Worker* worker = nullptr,
      boost::asio::io_context* io = nullptr,
      const host::InternalAuth* auth = nullptr);
  ~AdaptersImpl() override;

  // Adapters
  void Complete(host::CallContextPtr context, sluice::v1::AdapterRequest request,
                host::Callback<sluice::v1::ChatResponse> done) override;
  void StreamComplete(host::CallContextPtr context,
                      sluice::v1::AdapterRequest request,
                      host::Sink<sluice::v1::ChatChunk>* sink) override;

  // Refuses new calls, waits for those in flight (cancelled at `deadline`).
  void Drain(absl::Time deadline) { calls_.Drain(deadline); }

 private:
  AdaptersImpl() = default;
  absl::StatusOr<Provider*> Find(const std::string& name) const;

  upstream::HttpClientPtr client_;
  absl::flat_hash_map<std::string, ProviderPtr> providers_;
  // Every provider's API keys, masked in errors.
  std::vector<std::string> provider_keys_;
  host::CallTracker calls_;
};

}  // namespace sluice::adapters

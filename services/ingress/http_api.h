// The HTTP side of ingress: OpenAI-compatible routes plus health, readiness,
// usage and Prometheus metrics.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libs/host/call_tracker.h"
#include "libs/http/path_router.h"
#include "libs/http/server.h"
#include "services/ingress/admin_api.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/batch_api.h"
#include "services/ingress/chat_http_handler.h"
#include "services/ingress/job_store.h"
#include "services/ingress/token_count_handler.h"
#include "services/ingress/usage_api.h"
#include "services/ingress/usage_reporter.h"
#include "services/metering/metering.h"

namespace sluice::ingress {

class HttpApi {
 public:
  // What the API calls; each must outlive this (`keys`, `metering` and
  // `cache` may be null: those routes then answer 503).
  struct Parts {
    ChatEdge* edge = nullptr;
    RateGate* gate = nullptr;
    keystore::KeyStore* keys = nullptr;
    router::Router* router = nullptr;
    metering::Metering* metering = nullptr;
    cache::Cache* cache = nullptr;
    UsageReporter* usage = nullptr;
    host::CallTracker* calls = nullptr;
    JobStore* jobs = nullptr;  // null: async jobs are off
    // OpenAI's Batch API (null: off).
    BatchStore* batch_store = nullptr;
    BatchRunner* batches = nullptr;
    const host::Clock* clock = nullptr;
    host::ManualClock* manual_clock = nullptr;  // tests only
  };
  HttpApi(const sluice::v1::Config& config, Parts parts,
          std::vector<std::string> models, std::function<absl::Status()> ready);

  void Handle(http::Request request, http::ResponseWriterPtr writer) const {
    paths_.Dispatch(std::move(request), std::move(writer));
  }

 private:
  void Models(const http::Request& request, http::ResponseWriter& writer) const;
  // GET /v1/jobs/{custom_id}: the stored result of the caller's tenant's
  // Kafka job.
  void JobResult(const http::Request& request, http::ResponseWriter& writer) const;

  const ApiKeyAuth* auth_;
  std::vector<std::string> models_;
  ChatHttpHandler chat_;
  TokenCountHandler token_count_;
  AdminApi admin_;
  UsageApi usage_;
  std::optional<BatchApi> batches_;
  JobStore* jobs_;
  http::PathRouter paths_;
};

}  // namespace sluice::ingress

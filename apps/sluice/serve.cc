#include "apps/sluice/serve.h"

#include "libs/host/host_main.h"
#include "services/adapters/adapters_client.h"
#include "services/adapters/adapters_service.h"
#include "services/cache/cache_client.h"
#include "services/cache/cache_service.h"
#include "services/ingress/ingress_service.h"
#include "services/metering/metering_client.h"
#include "services/metering/metering_service.h"
#include "services/metering/metering_span_exporter.h"
#include "services/router/router_client.h"
#include "services/router/router_service.h"
#include "services/scheduler/scheduler_service.h"
#include "services/worker/worker_client.h"
#include "services/worker/worker_service.h"

namespace sluice::app {

host::HostDefinition AllServices() {
  return {{metering::MeteringServiceDefinition(),
           cache::CacheServiceDefinition(),
           worker::WorkerServiceDefinition(),
           adapters::AdaptersServiceDefinition(),
           scheduler::SchedulerServiceDefinition(),
           router::RouterServiceDefinition(),
           ingress::IngressServiceDefinition()},
          {metering::MeteringClientDefinition(),
           cache::CacheClientDefinition(),
           worker::WorkerClientDefinition(),
           adapters::AdaptersClientDefinition(),
           router::RouterClientDefinition()},
          [](host::Components& components)
              -> std::unique_ptr<trace::SpanExporter> {
            metering::Metering* metering =
                components.Find<metering::Metering>(metering::kServiceName);
            if (metering == nullptr) return nullptr;
            return std::make_unique<metering::MeteringSpanExporter>(metering);
          }};
}

int RunServe(const std::vector<std::string>& args) {
  return host::RunHostMain(AllServices(), args);
}

}  // namespace sluice::app

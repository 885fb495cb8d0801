// sluice-ingress: ingress alone, the same as
// `sluice serve --services ingress [flags]` (libs/host/host_options.h); it
// reaches the router, metering and the cache elsewhere.
#include "libs/host/host_main.h"
#include "services/cache/cache_client.h"
#include "services/ingress/ingress_service.h"
#include "services/metering/metering_client.h"
#include "services/router/router_client.h"

int main(int argc, char** argv) {
  return sluice::host::RunServiceMain(
      {{sluice::ingress::IngressServiceDefinition()},
       {sluice::router::RouterClientDefinition(),
        sluice::metering::MeteringClientDefinition(),
        sluice::cache::CacheClientDefinition()}},
      argc, argv);
}

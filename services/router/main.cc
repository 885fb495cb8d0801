// sluice-router: the router alone, the same as
// `sluice serve --services router [flags]` (libs/host/host_options.h); it
// reaches the adapters and the cache elsewhere.
#include "libs/host/host_main.h"
#include "services/adapters/adapters_client.h"
#include "services/cache/cache_client.h"
#include "services/router/router_service.h"

int main(int argc, char** argv) {
  return sluice::host::RunServiceMain(
      {{sluice::router::RouterServiceDefinition()},
       {sluice::adapters::AdaptersClientDefinition(),
        sluice::cache::CacheClientDefinition()}},
      argc, argv);
}

// sluice-cache: the cache alone, the same as
// `sluice serve --services cache [flags]` (libs/host/host_options.h).
#include "libs/host/host_main.h"
#include "services/cache/cache_service.h"

int main(int argc, char** argv) {
  return sluice::host::RunServiceMain(
      {{sluice::cache::CacheServiceDefinition()}, {}}, argc, argv);
}

// sluice-cache: the cache service alone, the same as
// `sluice serve --services cache [flags]` (see apps/sluice/serve_options.h).
#include "apps/sluice/serve.h"

int main(int argc, char** argv) {
  return sluice::app::RunServiceMain("cache", argc, argv);
}

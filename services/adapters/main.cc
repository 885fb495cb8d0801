// sluice-adapters: the adapters service alone, the same as
// `sluice serve --services adapters [flags]` (see apps/sluice/serve_options.h).
#include "apps/sluice/serve.h"

int main(int argc, char** argv) {
  return sluice::app::RunServiceMain("adapters", argc, argv);
}

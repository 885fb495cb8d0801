// sluice-router: the router service alone, the same as
// `sluice serve --services router [flags]` (see apps/sluice/serve_options.h).
#include "apps/sluice/serve.h"

int main(int argc, char** argv) {
  return sluice::app::RunServiceMain("router", argc, argv);
}

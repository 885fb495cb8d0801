// sluice-ingress: the ingress service alone, the same as
// `sluice serve --services ingress [flags]` (see apps/sluice/serve_options.h).
#include "apps/sluice/serve.h"

int main(int argc, char** argv) {
  return sluice::app::RunServiceMain("ingress", argc, argv);
}

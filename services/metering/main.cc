// sluice-metering: the metering service alone, the same as
// `sluice serve --services metering [flags]` (see apps/sluice/serve_options.h).
#include "apps/sluice/serve.h"

int main(int argc, char** argv) {
  return sluice::app::RunServiceMain("metering", argc, argv);
}

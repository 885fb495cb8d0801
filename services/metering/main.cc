// sluice-metering: metering alone, the same as
// `sluice serve --services metering [flags]` (libs/host/host_options.h).
#include "libs/host/host_main.h"
#include "services/metering/metering_service.h"

int main(int argc, char** argv) {
  return sluice::host::RunServiceMain(
      {{sluice::metering::MeteringServiceDefinition()}, {}}, argc, argv);
}

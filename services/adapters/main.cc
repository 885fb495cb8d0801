// sluice-adapters: the adapters alone, the same as
// `sluice serve --services adapters [flags]` (libs/host/host_options.h).
#include "libs/host/host_main.h"
#include "services/adapters/adapters_service.h"
#include "services/worker/worker_client.h"

int main(int argc, char** argv) {
  return sluice::host::RunServiceMain(
      {{sluice::adapters::AdaptersServiceDefinition()},
       {sluice::worker::WorkerClientDefinition()}},
      argc, argv);
}

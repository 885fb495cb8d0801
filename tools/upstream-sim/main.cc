// upstream-sim: the upstream simulator as a process. Prints
// "upstream-sim listening on HOST:PORT" and serves until SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "tools/upstream-sim/simulator.h"

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sluice::sim::SimulatorOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    int number = 0;
    if (flag == "--listen") {
      size_t colon = value.rfind(':');
      options.host = value.substr(0, colon);
      if (!absl::SimpleAtoi(value.substr(colon + 1), &number)) number = -1;
      options.port = static_cast<uint16_t>(number);
    } else if (flag == "--ttft-ms" && absl::SimpleAtoi(value, &number)) {
      options.ttft_ms = number;
    } else if (flag == "--token-ms" && absl::SimpleAtoi(value, &number)) {
      options.token_ms = number;
    } else if (flag == "--api-key") {
      options.required_api_key = value;
    } else {
      std::fprintf(stderr,
                   "usage: upstream-sim [--listen HOST:PORT] [--ttft-ms N] "
                   "[--token-ms N] [--api-key KEY]\n");
      return 2;
    }
  }
  auto sim = sluice::sim::Simulator::Start(options);
  if (!sim.ok()) {
    std::fprintf(stderr, "upstream-sim: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  std::printf("upstream-sim listening on %s:%d\n", options.host.c_str(),
              (*sim)->port());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  (*sim)->Shutdown();
  return 0;
}

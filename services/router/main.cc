// sluice-router: the router service alone, the same as
// `sluice serve --services router [flags]` (see apps/sluice/serve_options.h).
#include <csignal>
#include <string>
#include <vector>

#include "apps/sluice/serve.h"

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args = {"--services", "router"};
  args.insert(args.end(), argv + 1, argv + argc);
  return sluice::app::RunServe(args);
}

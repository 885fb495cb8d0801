// The sluice CLI: hosts any set of services (`serve`), runs the Kafka dev
// broker (`dev-kafka`), and small tools.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/sluice/keys_command.h"
#include "apps/sluice/make_test_model_command.h"
#include "apps/sluice/serve.h"
#include "libs/host/host_main.h"
#include "libs/kafka/dev_broker_main.h"

namespace {

constexpr const char* kUsage =
    "usage: sluice <command> [flags]\n"
    "  serve [--config FILE] [--services a,b,...] [--http-listen H:P]\n"
    "        [--grpc-listen H:P] [--internal-listen H:P]\n"
    "        [--metrics-listen H:P]\n"
    "        [--remote NAME=H:P]... [--kafka-brokers LIST]\n"
    "        [--sqlite-path FILE] [--worker-model GGUF]\n"
    "  keys create|list|revoke ...              virtual API keys (see\n"
    "                                           `sluice keys`)\n"
    "  dev-kafka [--brokers N] [--topics a,b]   the Kafka dev broker (faults:\n"
    "                                           SIGUSR1 brokers down, SIGUSR2\n"
    "                                           up, SIGHUP request errors)\n"
    "  make-test-model --out FILE [--params N]  a deterministic random-weight\n"
    "        [--seed S] [--vocab NAME]          llama GGUF for tests (see\n"
    "        [--template NAME|none] [--f16]     `sluice make-test-model`)\n"
    "  free-port                                print a free TCP port\n"
    "  version\n";

// Binds port 0 on loopback and prints the port the kernel chose.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    std::perror("free-port");
    return 1;
  }
  std::printf("%d\n", ntohs(addr.sin_port));
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so that every thread inherits the mask.
  sluice::host::PrepareMain();

  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "serve") return sluice::app::RunServe(args);
  if (command == "keys") return sluice::app::RunKeys(args);
  if (command == "dev-kafka") {
    return sluice::kafka::RunDevKafka(argc - 1, argv + 1);
  }
  if (command == "make-test-model") return sluice::app::RunMakeTestModel(args);
  if (command == "free-port") return FreePort();
  if (command == "version") {
    std::printf("sluice %s\n", SLUICE_VERSION);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

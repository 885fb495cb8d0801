#include "libs/kafka/dev_broker_main.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libs/kafka/dev_broker.h"
#include "libs/process/termination_signals.h"

namespace sluice::kafka {

int RunDevKafka(int argc, char** argv) {
  process::BlockTerminationSignals();

  int brokers = 1;
  std::string topics =
      "sluice.usage,sluice.jobs,sluice.job-results,sluice.jobs.dlq";
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if ((flag == "--brokers" || flag == "--topics") && i + 1 < argc) {
      std::string value = argv[++i];
      if (flag == "--topics") {
        topics = value;
      } else if (!absl::SimpleAtoi(value, &brokers) || brokers < 1) {
        std::fprintf(stderr, "dev-kafka: --brokers needs a positive number\n");
        return 2;
      }
    } else {
      std::fprintf(stderr,
                   "usage: sluice dev-kafka [--brokers N] [--topics a,b]\n");
      return 2;
    }
  }
  absl::StatusOr<std::unique_ptr<DevBroker>> broker = DevBroker::Start(brokers);
  if (!broker.ok()) {
    std::fprintf(stderr, "dev-kafka: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  for (absl::string_view topic :
       absl::StrSplit(topics, ',', absl::SkipEmpty())) {
    if (absl::Status s = (*broker)->CreateTopic(topic, 4); !s.ok()) {
      std::fprintf(stderr, "dev-kafka: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  std::printf("BOOTSTRAP=%s\n", (*broker)->bootstrap_servers().c_str());
  std::fflush(stdout);
  process::WaitForTerminationSignal();
  return 0;
}

}  // namespace sluice::kafka

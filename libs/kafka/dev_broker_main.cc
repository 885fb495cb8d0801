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
  // The fault signals (below) too, before any thread starts: every thread
  // inherits the mask, so only the sigwait below ever takes them.
  sigset_t faults;
  sigemptyset(&faults);
  sigaddset(&faults, SIGUSR1);
  sigaddset(&faults, SIGUSR2);
  sigaddset(&faults, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &faults, nullptr);

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
  // Faults on demand, for tests of what survives them: SIGUSR1 takes every
  // broker down (connections dropped, new ones refused), SIGUSR2 brings
  // them back, SIGHUP makes the next 5 produce and 5 fetch requests fail
  // with a retriable error.
  sigset_t waited;
  sigemptyset(&waited);
  sigaddset(&waited, SIGTERM);
  sigaddset(&waited, SIGINT);
  sigaddset(&waited, SIGUSR1);
  sigaddset(&waited, SIGUSR2);
  sigaddset(&waited, SIGHUP);
  rd_kafka_mock_cluster_t* cluster = (*broker)->mock_cluster();
  while (true) {
    int signal = 0;
    sigwait(&waited, &signal);
    if (signal == SIGUSR1 || signal == SIGUSR2) {
      for (int id = 1; id <= brokers; ++id) {
        if (signal == SIGUSR1) {
          rd_kafka_mock_broker_set_down(cluster, id);
        } else {
          rd_kafka_mock_broker_set_up(cluster, id);
        }
      }
      std::printf("FAULT brokers %s\n", signal == SIGUSR1 ? "down" : "up");
    } else if (signal == SIGHUP) {
      for (int16_t api : {int16_t{0} /* Produce */, int16_t{1} /* Fetch */}) {
        rd_kafka_mock_push_request_errors(
            cluster, api, 5, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
      }
      std::printf("FAULT request errors\n");
    } else {
      break;
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sluice::kafka

// `sluice dev-kafka` without the rest of the CLI, so the Kafka tests can run
// the dev broker as a process.
#include "libs/kafka/dev_broker_main.h"

int main(int argc, char** argv) {
  return sluice::kafka::RunDevKafka(argc, argv);
}

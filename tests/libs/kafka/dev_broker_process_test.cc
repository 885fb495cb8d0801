// The dev broker as a process (`sluice dev-kafka`): announces BOOTSTRAP=...,
// carries traffic, exits 0 on SIGTERM; and kcat can read its metadata.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/dev_broker.h"
#include "libs/kafka/producer.h"
#include "tests/libs/kafka/kafka_test_util.h"

extern char** environ;

namespace sluice::kafka {
namespace {

using testing::Collector;
using testing::DeliveryCounter;
using testing::FastConsumer;
using testing::FastProducer;

// A child process whose stdout is a pipe we read lines from.
class ChildProcess {
 public:
  bool Spawn(std::vector<std::string> args) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int rc =
        posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    stdout_ = fds[0];
    return rc == 0;
  }

  // Reads one line from the child's stdout, waiting at most `timeout`.
  std::string ReadLine(absl::Duration timeout) {
    std::string line;
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd pfd = {stdout_, POLLIN, 0};
      int ms =
          static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (poll(&pfd, 1, ms) <= 0) break;
      char c;
      if (read(stdout_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return line;
  }

  // Sends `signal` and returns the exit status (-1 if it did not exit
  // normally within `timeout`).
  int Terminate(int signal, absl::Duration timeout) {
    kill(pid_, signal);
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return -1;
  }

  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
};

TEST(DevBrokerProcessTest, AnnouncesServesAndExitsCleanlyOnSigterm) {
  ChildProcess child;
  ASSERT_TRUE(child.Spawn({DEV_KAFKA_FOR_TEST, "--brokers", "2"}));
  std::string line = child.ReadLine(absl::Seconds(10));
  ASSERT_TRUE(absl::StartsWith(line, "BOOTSTRAP=127.0.0.1:")) << line;
  std::string brokers = line.substr(std::string("BOOTSTRAP=").size());
  EXPECT_TRUE(absl::StrContains(brokers, ",")) << "two brokers: " << brokers;

  auto producer = Producer::Create(FastProducer(brokers));
  ASSERT_TRUE(producer.ok()) << producer.status();
  DeliveryCounter deliveries;
  for (int i = 0; i < 10; ++i) {
    (*producer)->Produce("sluice.usage", absl::StrCat("k", i),
                         absl::StrCat("v", i), deliveries.Callback());
  }
  ASSERT_EQ(deliveries.WaitFor(10, absl::Seconds(10)), 10);

  auto consumer = Consumer::Create(
      FastConsumer(brokers, "process-group", {"sluice.usage"}));
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  Collector collector;
  ASSERT_TRUE((*consumer)->Start(collector.Handler()).ok());
  EXPECT_EQ(collector.WaitFor(10, absl::Seconds(20)), 10u);
  consumer->reset();
  producer->reset();

  EXPECT_EQ(child.Terminate(SIGTERM, absl::Seconds(5)), 0);
}

TEST(DevBrokerProcessTest, RejectsBadFlags) {
  ChildProcess child;
  ASSERT_TRUE(child.Spawn({DEV_KAFKA_FOR_TEST, "--brokers", "zero"}));
  EXPECT_EQ(child.ReadLine(absl::Seconds(5)), "");
  EXPECT_EQ(child.Terminate(0, absl::Seconds(5)), 2);
}

TEST(DevBrokerKcatTest, KcatListsTheDevBrokersMetadata) {
  if (system("command -v kcat >/dev/null 2>&1") != 0) {
    GTEST_FAIL() << "kcat is not installed";
  }
  absl::StatusOr<std::unique_ptr<DevBroker>> broker = DevBroker::Start(3);
  ASSERT_TRUE(broker.ok()) << broker.status();
  ASSERT_TRUE((*broker)->CreateTopic("sluice.jobs", 4).ok());
  std::string command = absl::StrCat("kcat -b ", (*broker)->bootstrap_servers(),
                                     " -L -m 10 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    output.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << output;
  EXPECT_TRUE(absl::StrContains(output, "3 brokers")) << output;
  EXPECT_TRUE(
      absl::StrContains(output, "topic \"sluice.jobs\" with 4 partitions"))
      << output;
}

}  // namespace
}  // namespace sluice::kafka

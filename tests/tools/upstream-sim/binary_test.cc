// The upstream-sim binary: flags, its one "listening on" line, SIGTERM.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"
#include "tests/tools/upstream-sim/sim_client.h"

namespace sluice::sim::testing {
namespace {

TEST(UpstreamSimBinaryTest, ListensServesAndStopsOnSigterm) {
  auto process = sluice::testing::Subprocess::Start(
      {sluice::testing::BuiltBinary("tools/upstream-sim/upstream-sim"),
       "--listen", "127.0.0.1:0", "--api-key", "sk-bin", "--latency-ttft-ms=0",
       "--latency-per-token-ms", "0"});
  ASSERT_TRUE(process.ok()) << process.status();
  absl::StatusOr<std::string> line =
      (*process)->WaitForLine("listening on", absl::Seconds(20));
  ASSERT_TRUE(line.ok()) << line.status() << (*process)->Output();
  ASSERT_TRUE(absl::StartsWith(*line, "upstream-sim listening on 127.0.0.1:"))
      << *line;
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      std::vector<std::string>(absl::StrSplit(*line, ':')).back(), &port));

  Call call;
  call.path = "/v1/chat/completions";
  call.body =
      R"({"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(Send(port, call).status, 401);
  call.headers = {"Authorization: Bearer sk-bin"};
  EXPECT_EQ(Send(port, call).status, 200);
  EXPECT_EQ((*process)->Terminate(), 0);
}

TEST(UpstreamSimBinaryTest, BadFlagsExitWithUsage) {
  auto process = sluice::testing::Subprocess::Start(
      {sluice::testing::BuiltBinary("tools/upstream-sim/upstream-sim"),
       "--fault", "nonsense"});
  ASSERT_TRUE(process.ok()) << process.status();
  // Its stdout closes when it exits, so the line never comes.
  EXPECT_EQ((*process)
                ->WaitForLine("listening on", absl::Seconds(20))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*process)->Terminate(), 2);
}

}  // namespace
}  // namespace sluice::sim::testing

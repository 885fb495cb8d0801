// A client that reads a long stream slowly holds the upstream back: what
// sluice keeps queued for it stays under a stated bound (64 KiB of events
// past the high-water mark, plus what one upstream read parses into) while
// the rest of a long answer waits upstream, and everything arrives, in
// order, once the client reads on.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {
namespace {

// What one stream may keep queued in sluice: the writer's high-water mark
// (64 KiB) plus the events of one upstream read (curl hands over at most
// 16 KiB at a time, which our SSE framing grows a little).
constexpr int64_t kQueueBound = 128 * 1024;
constexpr int kAnswerTokens = 100000;  // ~15 MB of SSE

double QueuedBytes(const std::string& http_base) {
  std::string metrics = HttpCall("GET", http_base + "/metrics").body;
  size_t at = metrics.find("\nsluice_http_stream_queued_bytes ");
  if (at == std::string::npos) return -1;
  double value = -1;
  absl::SimpleAtod(
      absl::string_view(metrics).substr(at + 33, metrics.find('\n', at + 1) - at - 33),
      &value);
  return value;
}

int64_t ResidentKiB(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      int64_t kib = 0;
      absl::SimpleAtoi(absl::StripAsciiWhitespace(
                           absl::string_view(line).substr(6, line.size() - 9)),
                       &kib);
      return kib;
    }
  }
  return -1;
}

// A client socket with a small receive buffer, so that the kernel does not
// soak up the stream for it.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 8 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(FlowControlTest, ASlowReaderHoldsTheUpstreamBackInsteadOfAQueue) {
  GatewayOptions options;
  options.sim_fill_to_max_tokens = true;
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string base = (*gateway)->http_base();
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(base.substr(base.rfind(':') + 1), &port));
  pid_t pid = (*gateway)->ingress_process().pid();
  int64_t rss_before = ResidentKiB(pid);

  int fd = Connect(port);
  ASSERT_GE(fd, 0);
  std::string body = absl::StrCat(
      R"({"model":"deepseek-chat","stream":true,"max_tokens":)", kAnswerTokens,
      R"(,"messages":[{"role":"user","content":"A long story, please"}]})");
  std::string request = absl::StrCat(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer ", kDemoKey, "\r\n"
      "Content-Type: application/json\r\nContent-Length: ", body.size(),
      "\r\n\r\n", body);
  ASSERT_EQ(send(fd, request.data(), request.size(), 0),
            static_cast<ssize_t>(request.size()));
  std::string received;
  char buffer[4096];
  while (received.find("data: ") == std::string::npos) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    ASSERT_GT(n, 0);
    received.append(buffer, static_cast<size_t>(n));
  }
  ASSERT_NE(received.find("200 OK"), std::string::npos) << received;

  // The client stops reading. Sluice's queue for it fills to its bound and
  // stays there: the rest of the answer waits upstream.
  double max_queued = 0;
  double last = -1;
  int steady = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && steady < 10) {
    absl::SleepFor(absl::Milliseconds(100));
    double queued = QueuedBytes(base);
    max_queued = std::max(max_queued, queued);
    steady = queued == last && queued > 0 ? steady + 1 : 0;
    last = queued;
  }
  EXPECT_EQ(steady, 10) << "the queue never settled";
  EXPECT_GT(max_queued, 0);
  EXPECT_LE(max_queued, kQueueBound);
  // Nor does the process hold the waiting answer anywhere else.
  int64_t rss_stalled = ResidentKiB(pid);
  EXPECT_LT(rss_stalled - rss_before, 8 * 1024)
      << "RSS grew from " << rss_before << " to " << rss_stalled << " KiB";

  // Reading on, the whole answer arrives, in order, and ends well.
  while (received.find("data: [DONE]") == std::string::npos) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    ASSERT_GT(n, 0) << "the stream broke after " << received.size() << " bytes";
    received.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  int tokens = 0;
  for (absl::string_view line : absl::StrSplit(received, '\n')) {
    if (absl::StartsWith(line, "data: {") &&
        line.find("\"content\":") != absl::string_view::npos) {
      ++tokens;
    }
  }
  // One chunk per token (the first may carry the role alone).
  EXPECT_GE(tokens, kAnswerTokens);
  EXPECT_LE(tokens, kAnswerTokens + 2);
  EXPECT_GT(received.size(), static_cast<size_t>(10 << 20));
  deadline = absl::Now() + absl::Seconds(10);
  while (QueuedBytes(base) != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(QueuedBytes(base), 0);
}

}  // namespace
}  // namespace sluice::testing

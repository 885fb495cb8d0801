// The upstream client against a real loopback server: round trips,
// streaming, every timeout, connection failures, cancellation, concurrency,
// keep-alive reuse and shutdown with calls in flight.
#include "libs/upstream/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/libs/upstream/test_server.h"

namespace sluice::upstream {
namespace {

using testing::Exchange;
using testing::ReceivedRequest;
using testing::TestServer;

// Generous: the machine may be loaded.
constexpr absl::Duration kWait = absl::Seconds(10);

// Records what the client reports for one call.
class Recorder {
 public:
  HttpCallbacks Callbacks() {
    HttpCallbacks callbacks;
    callbacks.on_head = [this](const HttpResponseHead& head) {
      absl::MutexLock lock(&mu_);
      ++heads_;
      head_ = head;
      if (!bodies_.empty()) head_after_body_ = true;
    };
    callbacks.on_body = [this](absl::string_view bytes) {
      absl::MutexLock lock(&mu_);
      if (bodies_.empty()) first_body_at_ = absl::Now();
      bodies_.emplace_back(bytes);
      return true;
    };
    callbacks.on_done = [this](absl::Status status) {
      absl::MutexLock lock(&mu_);
      ++dones_;
      status_ = std::move(status);
      done_at_ = absl::Now();
    };
    return callbacks;
  }

  bool WaitDone(absl::Duration timeout = kWait) {
    absl::MutexLock lock(&mu_);
    auto done = [this] { return dones_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }

  int dones() {
    absl::MutexLock lock(&mu_);
    return dones_;
  }
  int heads() {
    absl::MutexLock lock(&mu_);
    return heads_;
  }
  bool head_after_body() {
    absl::MutexLock lock(&mu_);
    return head_after_body_;
  }
  absl::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  HttpResponseHead head() {
    absl::MutexLock lock(&mu_);
    return head_;
  }
  std::vector<std::string> bodies() {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }
  absl::Time first_body_at() {
    absl::MutexLock lock(&mu_);
    return first_body_at_;
  }
  absl::Time done_at() {
    absl::MutexLock lock(&mu_);
    return done_at_;
  }

 private:
  absl::Mutex mu_;
  int heads_ ABSL_GUARDED_BY(mu_) = 0;
  int dones_ ABSL_GUARDED_BY(mu_) = 0;
  bool head_after_body_ ABSL_GUARDED_BY(mu_) = false;
  HttpResponseHead head_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  absl::Time first_body_at_ ABSL_GUARDED_BY(mu_);
  absl::Time done_at_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<HttpClient> NewClient() {
  absl::StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create();
  EXPECT_TRUE(client.ok()) << client.status();
  return *std::move(client);
}

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  return request;
}

// Headers for a chunked response, ready for Exchange::WriteChunk.
constexpr absl::string_view kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

TEST(HttpClientTest, GetRoundTrip) {
  TestServer server([](const ReceivedRequest& r, Exchange& x) {
    x.Respond(200, absl::StrCat("you asked for ", r.method, " ", r.target),
              {{"X-Test", "yes"}});
  });
  auto client = NewClient();
  absl::StatusOr<HttpResult> result =
      Fetch(*client, Get(server.Url("/v1/models")));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "you asked for GET /v1/models");
  HttpResponseHead head{result->status, result->headers};
  EXPECT_EQ(head.Header("x-test"), "yes");
  EXPECT_EQ(head.Header("content-length"), "28");
}

TEST(HttpClientTest, PostRoundTripWithHeadersAndErrorStatus) {
  TestServer server([](const ReceivedRequest& r, Exchange& x) {
    x.Respond(429,
              absl::StrCat(r.method, ":", r.Header("content-type"), ":",
                           r.Header("authorization"), ":", r.body.size(), ":",
                           r.Header("expect")),
              {{"Retry-After", "3"}});
  });
  auto client = NewClient();
  HttpRequest request;
  request.url = server.Url("/v1/chat/completions");
  request.headers = {{"Content-Type", "application/json"},
                     {"Authorization", "Bearer sk-test"}};
  request.body = std::string(5000, 'x');  // big enough to tempt Expect: 100
  absl::StatusOr<HttpResult> result = Fetch(*client, request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 429);
  EXPECT_EQ(result->body, "POST:application/json:Bearer sk-test:5000:");
  EXPECT_EQ(
      (HttpResponseHead{result->status, result->headers}.Header("retry-after")),
      "3");
}

TEST(HttpClientTest, HeadComesAfterInterimContinue) {
  TestServer server([](const ReceivedRequest&, Exchange& x) {
    x.Write("HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n");
    x.Respond(201, "made", {{"X-Final", "1"}});
  });
  auto client = NewClient();
  Recorder recorder;
  HttpRequest request;
  request.url = server.Url();
  request.body = "{}";
  client->Start(request, recorder.Callbacks());
  ASSERT_TRUE(recorder.WaitDone());
  EXPECT_TRUE(recorder.status().ok()) << recorder.status();
  EXPECT_EQ(recorder.heads(), 1);
  HttpResponseHead head = recorder.head();
  EXPECT_EQ(head.status, 201);
  EXPECT_EQ(head.Header("x-final"), "1");
  EXPECT_EQ(head.Header("x-interim"), "");
}

TEST(HttpClientTest, StreamsBodyInOrderAcrossSeveralCalls) {
  TestServer server([](const ReceivedRequest&, Exchange& x) {
    x.Write(kChunkedHead);
    for (int i = 0; i < 4; ++i) {
      x.WriteChunk(absl::StrCat("data: ", i, "\n\n"));
      x.Pause(absl::Milliseconds(40));
    }
    x.WriteChunk("");
  });
  auto client = NewClient();
  Recorder recorder;
  client->Start(Get(server.Url("/stream")), recorder.Callbacks());
  ASSERT_TRUE(recorder.WaitDone());
  EXPECT_TRUE(recorder.status().ok()) << recorder.status();
  EXPECT_EQ(recorder.heads(), 1);
  EXPECT_FALSE(recorder.head_after_body());
  EXPECT_EQ(recorder.head().Header("content-type"), "text/event-stream");
  std::vector<std::string> bodies = recorder.bodies();
  EXPECT_GE(bodies.size(), 2u);
  std::string all;
  for (const std::string& b : bodies) all += b;
  EXPECT_EQ(all, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n");
}

TEST(HttpClientTest, StallTimeoutFires) {
  TestServer server([](const ReceivedRequest&, Exchange& x) {
    x.Write(kChunkedHead);
    x.WriteChunk("data: 0\n\n");
    x.Pause(absl::Seconds(30));  // ends early when the server stops
  });
  auto client = NewClient();
  Recorder recorder;
  HttpRequest request = Get(server.Url());
  request.stall_timeout = absl::Milliseconds(300);
  client->Start(request, recorder.Callbacks());
  ASSERT_TRUE(recorder.WaitDone());
  EXPECT_EQ(recorder.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(recorder.status().message(), "stall"))
      << recorder.status();
  ASSERT_EQ(recorder.bodies().size(), 1u);
  absl::Duration gap = recorder.done_at() - recorder.first_body_at();
  EXPECT_GE(gap, absl::Milliseconds(300));
  EXPECT_LT(gap, absl::Milliseconds(300) + absl::Seconds(3));
}

TEST(HttpClientTest, FirstByteTimeoutFires) {
  TestServer server(
      [](const ReceivedRequest&, Exchange& x) { x.Pause(absl::Seconds(30)); });
  auto client = NewClient();
  Recorder recorder;
  HttpRequest request = Get(server.Url());
  request.first_byte_timeout = absl::Milliseconds(300);
  absl::Time start = absl::Now();
  client->Start(request, recorder.Callbacks());
  ASSERT_TRUE(recorder.WaitDone());
  EXPECT_EQ(recorder.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(recorder.status().message(), "first byte"))
      << recorder.status();
  EXPECT_EQ(recorder.heads(), 0);
  EXPECT_GE(recorder.done_at() - start, absl::Milliseconds(300));
  EXPECT_LT(recorder.done_at() - start,
            absl::Milliseconds(300) + absl::Seconds(3));
}

TEST(HttpClientTest, TotalTimeoutFires) {
  TestServer server([](const ReceivedRequest&, Exchange& x) {
    x.Write(kChunkedHead);
    for (int i = 0; i < 300 && x.WriteChunk("."); ++i) {
      x.Pause(absl::Milliseconds(20));
    }
  });
  auto client = NewClient();
  Recorder recorder;
  HttpRequest request = Get(server.Url());
  request.total_timeout = absl::Milliseconds(400);
  request.stall_timeout = absl::Seconds(5);
  client->Start(request, recorder.Callbacks());
  ASSERT_TRUE(recorder.WaitDone());
  EXPECT_EQ(recorder.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(recorder.status().message(), "total"))
      << recorder.status();
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  // A port that was just free: bound, never listened on, then closed.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  auto client = NewClient();
  absl::StatusOr<HttpResult> result =
      Fetch(*client,
            Get(absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/")));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
}

TEST(HttpClientTest, ResetMidBodyIsUnavailableWithoutEchoingSecrets) {
  TestServer server([](const ReceivedRequest&, Exchange& x) {
    x.Write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
    x.Pause(absl::Milliseconds(50));
    x.Reset();
  });
  auto client = NewClient();
  Recorder recorder;
  HttpRequest request;
  request.url = server.Url();
  request.headers = {{"Authorization", "Bearer sk-very-secret"}};
  request.body = "{\"secret\":\"body-secret\"}";
  client->Start(request, recorder.Callbacks());
  ASSERT_TRUE(recorder.WaitDone());
  absl::Status status = recorder.status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_FALSE(absl::StrContains(status.message(), "sk-very-secret"));
  EXPECT_FALSE(absl::StrContains(status.message(), "body-secret"));
  EXPECT_EQ(recorder.dones(), 1);
}

TEST(HttpClientTest, CancelEndsTheCallExactlyOnce) {
  TestServer server([](const ReceivedRequest&, Exchange& x) {
    x.Write(kChunkedHead);
    x.WriteChunk("data: 0\n\n");
    x.Pause(absl::Seconds(30));
  });
  auto client = NewClient();
  Recorder recorder;
  CallId id = client->Start(Get(server.Url()), recorder.Callbacks());
  ASSERT_TRUE(server.WaitForRequests(1, kWait));
  client->Cancel(id);
  ASSERT_TRUE(recorder.WaitDone());
  EXPECT_EQ(recorder.status().code(), absl::StatusCode::kCancelled);
  client->Cancel(id);  // a second cancel is a no-op
  // A later call through the same loop proves the second cancel was handled.
  TestServer other(
      [](const ReceivedRequest&, Exchange& x) { x.Respond(200, ""); });
  ASSERT_TRUE(Fetch(*client, Get(other.Url())).ok());
  EXPECT_EQ(recorder.dones(), 1);
}

TEST(HttpClientTest, FiftyConcurrentCallsAllComplete) {
  TestServer server([](const ReceivedRequest& r, Exchange& x) {
    x.Pause(absl::Milliseconds(20));
    x.Respond(200, r.target);
  });
  auto client = NewClient();
  constexpr int kCalls = 50;
  std::vector<std::unique_ptr<Recorder>> recorders;
  for (int i = 0; i < kCalls; ++i) {
    recorders.push_back(std::make_unique<Recorder>());
    client->Start(Get(server.Url(absl::StrCat("/", i))),
                  recorders.back()->Callbacks());
  }
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(recorders[i]->WaitDone()) << i;
    EXPECT_TRUE(recorders[i]->status().ok()) << recorders[i]->status();
    std::string body;
    for (const std::string& b : recorders[i]->bodies()) body += b;
    EXPECT_EQ(body, absl::StrCat("/", i));
    EXPECT_EQ(recorders[i]->dones(), 1);
  }
}

TEST(HttpClientTest, SequentialCallsReuseOneConnection) {
  TestServer server(
      [](const ReceivedRequest&, Exchange& x) { x.Respond(200, "ok"); });
  auto client = NewClient();
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<HttpResult> result = Fetch(*client, Get(server.Url()));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->body, "ok");
  }
  EXPECT_EQ(server.requests_received(), 10);
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(HttpClientTest, DestructorCancelsCallsInFlight) {
  TestServer server(
      [](const ReceivedRequest&, Exchange& x) { x.Pause(absl::Seconds(30)); });
  auto client = NewClient();
  constexpr int kCalls = 5;
  std::vector<std::unique_ptr<Recorder>> recorders;
  for (int i = 0; i < kCalls; ++i) {
    recorders.push_back(std::make_unique<Recorder>());
    client->Start(Get(server.Url()), recorders.back()->Callbacks());
  }
  ASSERT_TRUE(server.WaitForRequests(kCalls, kWait));
  // One more that the event thread may not even have picked up yet.
  recorders.push_back(std::make_unique<Recorder>());
  client->Start(Get(server.Url()), recorders.back()->Callbacks());
  absl::Time start = absl::Now();
  client.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (auto& recorder : recorders) {
    EXPECT_EQ(recorder->dones(), 1);
    EXPECT_EQ(recorder->status().code(), absl::StatusCode::kCancelled);
  }
}

TEST(HttpClientTest, BadUrlFailsWithoutThrowing) {
  auto client = NewClient();
  absl::StatusOr<HttpResult> result = Fetch(*client, Get("ftp://127.0.0.1/x"));
  EXPECT_FALSE(result.ok());
}

}  // namespace
}  // namespace sluice::upstream

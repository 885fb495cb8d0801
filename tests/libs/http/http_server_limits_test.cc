// Loopback tests of the HTTP server's limits against abusive clients: slow
// heads and bodies (408), idle keep-alive connections (silent close), large
// bodies (413, before the body is sent; per-path limits) and heads (431),
// malformed requests (400), and the on_rejected hook that makes every
// rejection countable.
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/http/server.h"
#include "tests/libs/http/test_client.h"

namespace sluice::http {
namespace {

using testing::MakeRequest;
using testing::TestClient;
using testing::TestResponse;

std::string ErrorBody(absl::string_view message, absl::string_view code) {
  return absl::StrCat(R"({"error":{"message":")", message,
                      R"(","type":"invalid_request_error","param":null,)",
                      R"("code":")", code, "\"}}");
}

// Records what on_rejected reports.
class RejectionLog {
 public:
  std::function<void(const RejectedRequest&)> Hook() {
    return [this](const RejectedRequest& rejected) {
      absl::MutexLock lock(&mu_);
      rejected_.push_back(rejected);
    };
  }
  // What was reported once at least `count` rejections were (or the timeout
  // passed).
  std::vector<RejectedRequest> WaitFor(
      size_t count, absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return rejected_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return rejected_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return rejected_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<RejectedRequest> rejected_ ABSL_GUARDED_BY(mu_);
};

class HttpServerLimitsTest : public ::testing::Test {
 protected:
  // Starts a server answering 200 "ok" (counting the calls) with `options`
  // and the rejection log as hook.
  void Start(ServerOptions options) {
    options.threads = 2;
    options.on_rejected = log_.Hook();
    absl::StatusOr<ServerPtr> server =
        StartServer(options, [this](Request request, ResponseWriterPtr writer) {
          ++handler_calls_;
          last_body_size_ = request.body.size();
          writer->Respond(200, {}, "ok");
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  RejectionLog log_;
  std::atomic<int> handler_calls_{0};
  std::atomic<size_t> last_body_size_{0};
  ServerPtr server_;
};

// Sends `bytes` one at a time, `interval` apart, until the server answers;
// the pause between two bytes is a read with that timeout. Returns the head
// of the answer, if one came.
std::optional<TestResponse> TrickleUntilAnswered(TestClient& client,
                                                 absl::string_view bytes,
                                                 absl::Duration interval) {
  for (char byte : bytes) {
    if (!client.Send(absl::string_view(&byte, 1))) break;
    if (std::optional<TestResponse> head = client.ReadHead(interval)) {
      return head;
    }
  }
  return client.ReadHead();
}

// Trickles `rest` (50 ms a byte) into a request begun at `start` under a
// 300 ms read timeout: a 408 in OpenAI's shape comes after the timeout (and
// well before the trickle would end), then the server closes.
// What `client` gets for a request the server refuses: `status` with
// `body`, and the connection closed after it.
void ExpectRefusal(TestClient& client, int status, const std::string& body) {
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, status);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_EQ(response->body, body);
  EXPECT_TRUE(client.WaitForClose());
}

void ExpectTimedOut(TestClient& client, absl::Time start,
                    absl::string_view rest) {
  std::optional<TestResponse> response =
      TrickleUntilAnswered(client, rest, absl::Milliseconds(50));
  absl::Duration elapsed = absl::Now() - start;
  ASSERT_TRUE(response.has_value());
  ASSERT_TRUE(client.ReadBody(*response));
  EXPECT_GE(elapsed, absl::Milliseconds(290));
  EXPECT_LT(elapsed, absl::Seconds(3));
  EXPECT_EQ(response->status, 408);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_EQ(response->headers["content-type"], "application/json");
  EXPECT_EQ(response->body,
            ErrorBody("Request not received in time", "request_timeout"));
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(HttpServerLimitsTest, SlowHeadGets408ThenClose) {
  ServerOptions options;
  options.request_read_timeout = absl::Milliseconds(300);
  Start(options);
  TestClient client(server_->port());
  absl::Time start = absl::Now();
  ASSERT_TRUE(
      client.Send("GET /slow HTTP/1.1\r\nHost: localhost\r\n"
                  "Authorization: Bearer sk-slow\r\n"));
  ExpectTimedOut(client, start, "X-Pad: " + std::string(200, 'a'));

  std::vector<RejectedRequest> rejected = log_.WaitFor(1);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].status, 408);
  EXPECT_EQ(rejected[0].code, "request_timeout");
  // The complete lines of the unfinished head.
  EXPECT_EQ(rejected[0].method, "GET");
  EXPECT_EQ(rejected[0].target, "/slow");
  EXPECT_EQ(rejected[0].Header("authorization"), "Bearer sk-slow");
  EXPECT_EQ(rejected[0].Header("x-pad"), "");
  EXPECT_EQ(rejected[0].remote_address, "127.0.0.1");
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(HttpServerLimitsTest, TricklingBodyGets408) {
  ServerOptions options;
  options.request_read_timeout = absl::Milliseconds(300);
  Start(options);
  TestClient client(server_->port());
  absl::Time start = absl::Now();
  ASSERT_TRUE(client.Send(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
      "Authorization: Bearer sk-trickle\r\nContent-Length: 100\r\n\r\n"
      "0123456789"));
  ExpectTimedOut(client, start, std::string(90, 'b'));

  std::vector<RejectedRequest> rejected = log_.WaitFor(1);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].status, 408);
  EXPECT_EQ(rejected[0].method, "POST");
  EXPECT_EQ(rejected[0].target, "/v1/chat/completions");
  EXPECT_EQ(rejected[0].Header("authorization"), "Bearer sk-trickle");
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(HttpServerLimitsTest, IdleConnectionsAreClosedSilently) {
  ServerOptions options;
  options.idle_timeout = absl::Milliseconds(200);
  Start(options);
  // Times are taken before the server can have started its idle timers.
  // After a request, waiting for the next one.
  TestClient used(server_->port());
  absl::Time sent = absl::Now();
  ASSERT_TRUE(used.Send(MakeRequest("GET", "/")));
  std::optional<TestResponse> response = used.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  // Never sent anything.
  absl::Time connected = absl::Now();
  TestClient silent(server_->port());

  EXPECT_TRUE(used.WaitForClose());
  EXPECT_GE(absl::Now() - sent, absl::Milliseconds(190));
  EXPECT_TRUE(silent.WaitForClose());
  EXPECT_GE(absl::Now() - connected, absl::Milliseconds(190));
  EXPECT_LT(absl::Now() - connected, absl::Seconds(3));
  // Closed without an answer, and not counted as rejected.
  EXPECT_FALSE(used.ReadHead(absl::Milliseconds(10)).has_value());
  EXPECT_FALSE(silent.ReadHead(absl::Milliseconds(10)).has_value());
  EXPECT_EQ(log_.size(), 0u);
}

TEST_F(HttpServerLimitsTest, BusyConnectionOutlivesBothTimeouts) {
  ServerOptions options;
  options.idle_timeout = absl::Milliseconds(200);
  options.request_read_timeout = absl::Milliseconds(200);
  Start(options);
  TestClient client(server_->port());
  // Each request gets its own read deadline and each pause its own idle
  // one, so a connection in steady use lives far longer than either.
  absl::Time end = absl::Now() + absl::Seconds(1);
  int answered = 0;
  while (absl::Now() < end) {
    ASSERT_TRUE(client.Send(MakeRequest("POST", "/", "{}")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << "after " << answered << " requests";
    ASSERT_EQ(response->status, 200);
    ++answered;
  }
  EXPECT_EQ(handler_calls_.load(), answered);
  EXPECT_EQ(log_.size(), 0u);
}

TEST_F(HttpServerLimitsTest, HugeContentLengthGets413BeforeTheBodyIsSent) {
  Start(ServerOptions{});  // default limit: 4 MiB
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Length: 1073741824\r\nAuthorization: Bearer sk-big\r\n"
      "Content-Type: application/json\r\n\r\n"));
  // No body sent: the answer must come from the head alone.
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_EQ(response->body,
            ErrorBody("Request body too large", "request_too_large"));
  // The lingering close drops what the client still sends, then closes.
  EXPECT_TRUE(client.Send(std::string(64 * 1024, 'x')));
  EXPECT_TRUE(client.WaitForClose());

  std::vector<RejectedRequest> rejected = log_.WaitFor(1);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].status, 413);
  EXPECT_EQ(rejected[0].code, "request_too_large");
  EXPECT_EQ(rejected[0].method, "POST");
  EXPECT_EQ(rejected[0].target, "/v1/chat/completions");
  // Fields after Content-Length are there too: the limit is checked once
  // the whole head is parsed.
  EXPECT_EQ(rejected[0].Header("authorization"), "Bearer sk-big");
  EXPECT_EQ(rejected[0].Header("content-type"), "application/json");
  EXPECT_EQ(handler_calls_.load(), 0);
}

// Uploads get a larger limit than the default 4 MiB by path prefix.
ServerOptions WithFileUploads() {
  ServerOptions options;
  options.body_limits_by_path_prefix = {{"/v1/files", 10 << 20},
                                        {"/v1/files/tiny", 1024}};
  return options;
}

TEST_F(HttpServerLimitsTest, PathPrefixRaisesTheBodyLimit) {
  Start(WithFileUploads());
  const std::string body(5 << 20, 'f');  // 5 MiB
  {
    TestClient client(server_->port());
    ASSERT_TRUE(
        client.Send(MakeRequest("POST", "/v1/files?purpose=batch", body)));
    std::optional<TestResponse> response =
        client.ReadResponse(absl::Seconds(20));
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(last_body_size_.load(), body.size());
  }
  {
    // The same body elsewhere: 413 from the head alone.
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send(absl::StrCat(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Length: ",
        body.size(), "\r\nAuthorization: Bearer sk-elsewhere\r\n\r\n")));
    ExpectRefusal(client, 413,
                  ErrorBody("Request body too large", "request_too_large"));
  }
  {
    // The longest prefix wins, even when its limit is the smaller one.
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send(
        absl::StrCat("POST /v1/files/tiny HTTP/1.1\r\nHost: localhost\r\n"
                     "Content-Length: 2048\r\n\r\n")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 413);
  }
  std::vector<RejectedRequest> rejected = log_.WaitFor(2);
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].status, 413);
  EXPECT_EQ(rejected[0].code, "request_too_large");
  EXPECT_EQ(rejected[0].method, "POST");
  EXPECT_EQ(rejected[0].target, "/v1/chat/completions");
  EXPECT_EQ(rejected[0].Header("authorization"), "Bearer sk-elsewhere");
  EXPECT_EQ(rejected[1].target, "/v1/files/tiny");
  EXPECT_EQ(handler_calls_.load(), 1);
}

TEST_F(HttpServerLimitsTest, OnlyAllowedCallersMaySendALargeBody) {
  ServerOptions options = WithFileUploads();
  options.may_send_large_body = [](const Headers& headers) {
    for (const auto& [name, value] : headers) {
      if (name == "authorization") return value == "Bearer good";
    }
    return false;
  };
  Start(options);
  const std::string body(5 << 20, 'f');  // over the 4 MiB default
  {
    // No key: 401 from the head, before the body.
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send(absl::StrCat(
        "POST /v1/files HTTP/1.1\r\nHost: localhost\r\nContent-Length: ",
        body.size(), "\r\nAuthorization: Bearer bad\r\n\r\n")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 401);
    EXPECT_TRUE(client.WaitForClose());
  }
  {
    // A small body needs no key here (the handler checks it).
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send(MakeRequest("POST", "/v1/files", "small")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
  }
  {
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send(absl::StrCat(
        "POST /v1/files HTTP/1.1\r\nHost: localhost\r\nContent-Length: ",
        body.size(), "\r\nAuthorization: Bearer good\r\n\r\n", body)));
    std::optional<TestResponse> response = client.ReadResponse(absl::Seconds(20));
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(last_body_size_.load(), body.size());
  }
  EXPECT_EQ(handler_calls_.load(), 2);
}

// "<size in hex>\r\n<data>\r\n"
std::string Chunk(absl::string_view data) {
  return absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
}

TEST_F(HttpServerLimitsTest, ChunkedBodiesAreBoundedByThePathLimit) {
  Start(WithFileUploads());
  const std::string head_tail =
      " HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
  {
    // 5 MiB in 1 MiB chunks to the upload path is served.
    TestClient client(server_->port());
    std::string request = "POST /v1/files" + head_tail;
    for (int i = 0; i < 5; ++i) request += Chunk(std::string(1 << 20, 'c'));
    request += "0\r\n\r\n";
    ASSERT_TRUE(client.Send(request));
    std::optional<TestResponse> response =
        client.ReadResponse(absl::Seconds(20));
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(last_body_size_.load(), size_t{5} << 20);
  }
  {
    // Elsewhere a 5 MiB chunk is refused from its size line.
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send("POST /v1/chat/completions" + head_tail +
                            absl::StrCat(absl::Hex(5 << 20), "\r\n")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 413);
    EXPECT_TRUE(client.WaitForClose());
  }
  {
    // Under a per-path limit smaller than the default, the chunks add up:
    // two of 600 bytes pass 1024.
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send("POST /v1/files/tiny" + head_tail +
                            Chunk(std::string(600, 't')) +
                            Chunk(std::string(600, 't'))));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 413);
    EXPECT_EQ(response->body,
              ErrorBody("Request body too large", "request_too_large"));
    EXPECT_TRUE(client.WaitForClose());
  }
  std::vector<RejectedRequest> rejected = log_.WaitFor(2);
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].target, "/v1/chat/completions");
  EXPECT_EQ(rejected[1].target, "/v1/files/tiny");
  EXPECT_EQ(rejected[1].Header("transfer-encoding"), "chunked");
  EXPECT_EQ(handler_calls_.load(), 1);
}

// Beast's parser keeps a chunk-size line and a trailer section until they
// end, with no limit of its own: the server bounds them (the line, with its
// extensions, at 4 KiB; the trailers like a head), so a client cannot make
// it hold megabytes, or read the same line again at every byte it trickles.
TEST_F(HttpServerLimitsTest, ChunkLinesAndTrailersAreBounded) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  Start(options);
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
      "Authorization: Bearer sk-chunks\r\nTransfer-Encoding: chunked\r\n\r\n";
  {
    // Short extensions and trailers are read past, and the connection goes
    // on: with the next request, then with one pipelined behind them.
    TestClient client(server_->port());
    const std::string body = "5;name=value\r\nhello\r\n0;last\r\n"
                             "X-Checksum: abc\r\n\r\n";
    ASSERT_TRUE(client.Send(head + body));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(last_body_size_.load(), 5u);
    ASSERT_TRUE(client.Send(head + body + MakeRequest("GET", "/next")));
    for (int i = 0; i < 2; ++i) {
      response = client.ReadResponse();
      ASSERT_TRUE(response.has_value());
      EXPECT_EQ(response->status, 200);
    }
  }
  {
    // A whole request, but its chunk-size line carries 64 KiB of extension.
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send(head + "5;name=" + std::string(64 * 1024, 'e') +
                            "\r\nhello\r\n0\r\n\r\n"));
    ExpectRefusal(client, 400,
                  ErrorBody("Chunk size line too long", "invalid_request"));
  }
  {
    // The last chunk's line, then trailers over the head limit.
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send(head + "5\r\nhello\r\n0\r\nX-Pad: " +
                            std::string(4 * 1024, 't') + "\r\n\r\n"));
    ExpectRefusal(client, 431,
                  ErrorBody("Request header fields too large",
                            "request_header_fields_too_large"));
  }
  std::vector<RejectedRequest> rejected = log_.WaitFor(2);
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].status, 400);
  EXPECT_EQ(rejected[0].code, "invalid_request");
  EXPECT_EQ(rejected[0].target, "/v1/chat/completions");
  EXPECT_EQ(rejected[0].Header("authorization"), "Bearer sk-chunks");
  EXPECT_EQ(rejected[1].status, 431);
  EXPECT_EQ(rejected[1].code, "request_header_fields_too_large");
  EXPECT_EQ(handler_calls_.load(), 3);
}

TEST_F(HttpServerLimitsTest, OversizedHeaderGets431) {
  ServerOptions options;
  options.max_header_bytes = 256;
  Start(options);
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(MakeRequest(
      "GET", "/v1/models", "",
      "Authorization: Bearer sk-head\r\nX-Big: " + std::string(1000, 'y') +
          "\r\n")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->body, ErrorBody("Request header fields too large",
                                      "request_header_fields_too_large"));
  EXPECT_TRUE(client.WaitForClose());

  std::vector<RejectedRequest> rejected = log_.WaitFor(1);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].status, 431);
  EXPECT_EQ(rejected[0].code, "request_header_fields_too_large");
  EXPECT_EQ(rejected[0].method, "GET");
  EXPECT_EQ(rejected[0].target, "/v1/models");
  EXPECT_EQ(rejected[0].Header("authorization"), "Bearer sk-head");
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(HttpServerLimitsTest, MalformedRequestsGet400) {
  Start(ServerOptions{});
  {
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send("NOT HTTP AT ALL\r\n\r\n"));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 400);
    EXPECT_EQ(response->body,
              ErrorBody("Malformed HTTP request", "invalid_request"));
    EXPECT_TRUE(client.WaitForClose());
  }
  {
    TestClient client(server_->port());
    ASSERT_TRUE(
        client.Send("GET /bad HTTP/1.1\r\nAuthorization: Bearer sk-bad\r\n"
                    "No colon here\r\n\r\n"));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(client.WaitForClose());
  }
  std::vector<RejectedRequest> rejected = log_.WaitFor(2);
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].status, 400);
  EXPECT_EQ(rejected[0].code, "invalid_request");
  EXPECT_EQ(rejected[0].method, "");
  EXPECT_TRUE(rejected[0].headers.empty());
  EXPECT_EQ(rejected[1].status, 400);
  EXPECT_EQ(rejected[1].method, "GET");
  EXPECT_EQ(rejected[1].target, "/bad");
  EXPECT_EQ(rejected[1].Header("authorization"), "Bearer sk-bad");
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(HttpServerLimitsTest, AnsweredRequestsNeverCallTheHook) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Start(options);
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/v1/models")));
  ASSERT_TRUE(client.ReadResponse().has_value());
  // A body exactly at the limit, sent in two parts.
  std::string request = MakeRequest("POST", "/", std::string(1024, 'z'));
  ASSERT_TRUE(client.Send(request.substr(0, 100)));
  ASSERT_TRUE(client.Send(request.substr(100)));
  std::optional<TestResponse> post = client.ReadResponse();
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->status, 200);
  // Two pipelined requests, the second ending the connection.
  ASSERT_TRUE(
      client.Send(MakeRequest("GET", "/a") +
                  MakeRequest("GET", "/b", "", "Connection: close\r\n")));
  ASSERT_TRUE(client.ReadResponse().has_value());
  ASSERT_TRUE(client.ReadResponse().has_value());
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(handler_calls_.load(), 4);
  EXPECT_EQ(log_.size(), 0u);
}

}  // namespace
}  // namespace sluice::http

namespace sluice::http {
namespace {

TEST_F(HttpServerLimitsTest, ConnectionsPastTheCapGet503ThenAreClosedAtOnce) {
  ServerOptions options;
  options.max_connections = 2;  // and one more that is answered 503
  Start(options);
  TestClient first(server_->port()), second(server_->port());
  for (TestClient* client : {&first, &second}) {
    ASSERT_TRUE(client->Send(MakeRequest("GET", "/a")));
    std::optional<TestResponse> ok = client->ReadResponse();
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200);
  }
  // Both held (keep-alive): the next is over the cap, and the one after it
  // past the margin too, which is closed without a word.
  TestClient over(server_->port()), past(server_->port());
  EXPECT_TRUE(past.WaitForClose());
  ASSERT_TRUE(over.Send(MakeRequest("POST", "/v1/chat/completions", "{}")));
  std::optional<TestResponse> refused = over.ReadResponse();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->headers["retry-after"], "1");
  EXPECT_EQ(refused->headers["connection"], "close");
  EXPECT_EQ(refused->body,
            R"({"error":{"message":"The server holds as many connections as )"
            R"(it may; retry shortly","type":"server_error","param":null,)"
            R"("code":"too_many_connections"}})");
  EXPECT_TRUE(over.WaitForClose());
  std::vector<RejectedRequest> rejected = log_.WaitFor(1);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].status, 503);
  EXPECT_EQ(rejected[0].target, "/v1/chat/completions");
  EXPECT_EQ(handler_calls_.load(), 2);

  // The held ones are still served; once one goes, a newcomer is too (the
  // server sees the close a moment later: until then it may still refuse).
  ASSERT_TRUE(second.Send(MakeRequest("GET", "/b")));
  ASSERT_TRUE(second.ReadResponse().has_value());
  first.Close();
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  int status = 0;
  while (status != 200 && absl::Now() < deadline) {
    TestClient newcomer(server_->port());
    if (!newcomer.Send(MakeRequest("GET", "/c"))) continue;
    std::optional<TestResponse> answer = newcomer.ReadResponse();
    status = answer.has_value() ? answer->status : 0;
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace sluice::http

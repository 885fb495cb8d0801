// Loopback tests of the Beast HTTP server: round trips, keep-alive, limits,
// streamed (chunked SSE) responses from other threads, client disconnects
// and shutdown.
#include <atomic>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/http/path_router.h"
#include "libs/http/server.h"
#include "tests/libs/http/test_client.h"

namespace sluice::http {
namespace {

using testing::MakeRequest;
using testing::TestClient;
using testing::TestResponse;
using testing::WriterSlot;

ServerPtr Start(Handler handler, ServerOptions options = {}) {
  options.threads = 2;
  absl::StatusOr<ServerPtr> server = StartServer(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// Echoes method, path, query, a header and the body.
void Echo(Request request, ResponseWriterPtr writer) {
  writer->Respond(200, {{"content-type", "text/plain"}},
                  request.method + " " + request.path + " " + request.query +
                      " " + std::string(request.Header("x-test")) + " " +
                      request.body);
}

// A request answered later, with the next one already pipelined behind
// it: the connection stays open until the answer (the session used to be
// held only by its client-gone watch, which ends on seeing the pipelined
// bytes, or on a readiness with nothing to read: then the session and its
// socket went, and the client got no answer at all).
TEST(HttpServerTest, AnAnswerLaterWithAPipelinedRequestBehindIt) {
  WriterSlot slot;
  ServerPtr server = Start([&](Request request, ResponseWriterPtr writer) {
    slot.Put(std::move(writer));
  });
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/first")));
  ResponseWriterPtr first = slot.Take();
  ASSERT_NE(first, nullptr);
  // Pipelined while the first is being answered: the watch reads it ahead
  // (for the next request) and goes on; the connection stays.
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/second")));
  EXPECT_FALSE(client.WaitForClose(absl::Milliseconds(300)));
  first->Respond(200, {}, "one");
  std::optional<TestResponse> one = client.ReadResponse();
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->body, "one");
  ResponseWriterPtr second = slot.Take();
  ASSERT_NE(second, nullptr);
  second->Respond(200, {}, "two");
  std::optional<TestResponse> two = client.ReadResponse();
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->body, "two");
}

// A client that pipelines its next request and then leaves while the first
// is still being answered is seen leaving (the watch used to end at the
// first pipelined byte, so the answer ran to its end for nobody).
TEST(HttpServerTest, AClientLeavingAfterPipeliningIsSeen) {
  WriterSlot slot;
  ServerPtr server = Start([&](Request request, ResponseWriterPtr writer) {
    slot.Put(std::move(writer));
  });
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/first")));
  ResponseWriterPtr first = slot.Take();
  ASSERT_NE(first, nullptr);
  absl::Notification gone;
  first->SetOnClientGone([&gone] { gone.Notify(); });
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/second")));
  client.Close();
  EXPECT_TRUE(gone.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(first->ClientGone());
}

TEST(HttpServerTest, GetAndPostRoundTrip) {
  ServerPtr server = Start(Echo);
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->port(), 0);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());

  ASSERT_TRUE(client.Send(
      MakeRequest("GET", "/v1/models?limit=2", "", "X-Test: hello\r\n")));
  std::optional<TestResponse> get = client.ReadResponse();
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->headers["content-type"], "text/plain");
  EXPECT_EQ(get->body, "GET /v1/models limit=2 hello ");

  ASSERT_TRUE(client.Send(MakeRequest("POST", "/v1/chat", R"({"a":1})")));
  std::optional<TestResponse> post = client.ReadResponse();
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, R"(POST /v1/chat   {"a":1})");
}

TEST(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  std::atomic<int> calls{0};
  ServerPtr server = Start([&](Request request, ResponseWriterPtr writer) {
    writer->Respond(200, {}, std::to_string(++calls));
  });
  TestClient client(server->port());
  for (const char* expected : {"1", "2"}) {
    ASSERT_TRUE(client.Send(MakeRequest("GET", "/")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->body, expected);
    EXPECT_EQ(response->headers.count("connection"), 0u);
  }
}

TEST(HttpServerTest, ConnectionCloseIsHonoured) {
  ServerPtr server = Start(Echo);
  TestClient client(server->port());
  ASSERT_TRUE(
      client.Send(MakeRequest("GET", "/", "", "Connection: close\r\n")));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, OversizedBodyGets413) {
  std::atomic<int> calls{0};
  ServerOptions options;
  options.max_body_bytes = 16;
  ServerPtr server = Start(
      [&](Request, ResponseWriterPtr writer) {
        ++calls;
        writer->Respond(200, {}, "");
      },
      options);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/", std::string(100, 'x'))));
  std::optional<TestResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(
      response->body,
      R"({"error":{"message":"Request body too large","type":)"
      R"("invalid_request_error","param":null,"code":"request_too_large"}})");
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, OversizedHeaderGets431AndGarbageGets400) {
  ServerOptions options;
  options.max_header_bytes = 256;
  ServerPtr server = Start(Echo, options);
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send(MakeRequest(
        "GET", "/", "", "X-Big: " + std::string(1000, 'y') + "\r\n")));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 431);
  }
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send("NOT HTTP AT ALL\r\n\r\n"));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(client.WaitForClose());
  }
}

// Requests whose body length two parsers could read differently (the
// ground of request smuggling behind a proxy) are refused with 400 and the
// connection closed; none reaches the handler.
TEST(HttpServerTest, AmbiguousBodyLengthsAre400AndClose) {
  std::atomic<int> handled{0};
  ServerPtr server = Start([&handled](Request request, ResponseWriterPtr writer) {
    ++handled;
    Echo(std::move(request), std::move(writer));
  });
  const std::string head = "POST /x HTTP/1.1\r\nHost: h\r\n";
  const struct {
    const char* name;
    std::string bytes;
  } cases[] = {
      {"conflicting Content-Length",
       head + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
      {"duplicate Content-Length",
       head + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
      {"Content-Length list", head + "Content-Length: 5, 5\r\n\r\nhello"},
      {"Content-Length with Transfer-Encoding",
       head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n0\r\n\r\n"},
      {"Transfer-Encoding not ending in chunked",
       head + "Transfer-Encoding: gzip\r\n\r\nhello"},
      {"Transfer-Encoding chunked twice",
       head + "Transfer-Encoding: chunked, chunked\r\n\r\n"
              "5\r\nhello\r\n0\r\n\r\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TestClient client(server->port());
    ASSERT_TRUE(client.Send(c.bytes));
    std::optional<TestResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(client.WaitForClose());
  }
  EXPECT_EQ(handled.load(), 0);
  // A plain chunked body still works.
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(head +
                          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  std::optional<TestResponse> ok = client.ReadResponse();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(handled.load(), 1);
}

TEST(HttpServerTest, StreamsEventsWrittenFromAnotherThread) {
  WriterSlot slot;
  ServerPtr server = Start(
      [&](Request, ResponseWriterPtr writer) { slot.Put(std::move(writer)); });
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("POST", "/stream", "{}")));
  ResponseWriterPtr writer = slot.Take();
  ASSERT_NE(writer, nullptr);

  std::thread producer([writer] {
    writer->StartStream(200, {{"content-type", "text/event-stream"}});
    writer->WriteEvent("one");
    writer->WriteEvent("two\nlines");
    writer->WriteRaw(": keep-alive\n\n");
    writer->WriteEvent("[DONE]");
    writer->EndStream();
  });
  std::optional<TestResponse> response = client.ReadResponse();
  producer.join();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->chunked);
  EXPECT_EQ(response->headers["content-type"], "text/event-stream");
  EXPECT_EQ(response->body,
            "data: one\n\ndata: two\ndata: lines\n\n: keep-alive\n\n"
            "data: [DONE]\n\n");
  EXPECT_FALSE(writer->ClientGone());

  // The connection is still usable, and late calls on the old writer are
  // ignored rather than leaking into the next response.
  writer->WriteEvent("late");
  writer->Respond(500, {}, "late");
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/next")));
  ResponseWriterPtr second = slot.Take();
  ASSERT_NE(second, nullptr);
  second->Respond(200, {}, "second");
  std::optional<TestResponse> next = client.ReadResponse();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "second");
}

TEST(HttpServerTest, ClientDisconnectMidStreamFiresCallbackOnce) {
  WriterSlot slot;
  std::atomic<int> gone_calls{0};
  absl::Notification gone;
  ServerPtr server = Start([&](Request request, ResponseWriterPtr writer) {
    if (request.path != "/stream") return writer->Respond(200, {}, "ok");
    writer->SetOnClientGone([&] {
      ++gone_calls;
      gone.Notify();
    });
    writer->StartStream(200, {{"content-type", "text/event-stream"}});
    slot.Put(std::move(writer));
  });
  auto client = std::make_unique<TestClient>(server->port());
  ASSERT_TRUE(client->Send(MakeRequest("POST", "/stream", "{}")));
  ResponseWriterPtr writer = slot.Take();
  ASSERT_NE(writer, nullptr);
  writer->WriteEvent("first");
  ASSERT_TRUE(client->ReadHead().has_value());
  client->Close();

  // Detection comes from the pending read; writing helps it along if the
  // peer's close is only seen on a write.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!gone.WaitForNotificationWithTimeout(absl::Milliseconds(50)) &&
         absl::Now() < deadline) {
    writer->WriteEvent("ping");
  }
  ASSERT_TRUE(gone.HasBeenNotified());
  EXPECT_TRUE(writer->ClientGone());
  writer->WriteEvent("dropped");
  writer->EndStream();
  // A round trip on another connection lets any stray second call land.
  TestClient other(server->port());
  ASSERT_TRUE(other.Send(MakeRequest("GET", "/")));
  ASSERT_TRUE(other.ReadResponse().has_value());
  EXPECT_EQ(gone_calls.load(), 1);
  server->Shutdown();
  EXPECT_EQ(gone_calls.load(), 1);
}

TEST(HttpServerTest, ShutdownWithOpenConnectionsDoesNotHang) {
  WriterSlot slot;
  ServerPtr server = Start(
      [&](Request, ResponseWriterPtr writer) { slot.Put(std::move(writer)); });
  TestClient idle(server->port());
  TestClient streaming(server->port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(streaming.Send(MakeRequest("GET", "/stream")));
  ResponseWriterPtr writer = slot.Take();
  ASSERT_NE(writer, nullptr);
  writer->StartStream(200, {{"content-type", "text/event-stream"}});
  ASSERT_TRUE(streaming.ReadHead().has_value());

  absl::Time start = absl::Now();
  server->Shutdown();
  server->Shutdown();  // idempotent
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(streaming.WaitForClose());
  EXPECT_TRUE(idle.WaitForClose());
  // The writer outlives the server; calls on it are harmless.
  writer->WriteEvent("after shutdown");
  writer->EndStream();
  server.reset();
  writer->WriteEvent("after destruction");
}

TEST(HttpServerTest, StartFailsOnBadHost) {
  ServerOptions options;
  options.host = "not-an-address";
  EXPECT_FALSE(StartServer(options, Echo).ok());
}

TEST(PathRouterTest, RoutesExactAndPrefixAnd404And405) {
  PathRouter router;
  router.Add("GET", "/v1/models", [](Request, ResponseWriterPtr w) {
    w->Respond(200, {}, "models");
  });
  router.AddPrefix("GET", "/v1/models/", [](Request r, ResponseWriterPtr w) {
    w->Respond(200, {}, "model " + r.path.substr(11));
  });
  ServerPtr server = Start([&router](Request request, ResponseWriterPtr w) {
    router.Dispatch(std::move(request), std::move(w));
  });
  TestClient client(server->port());
  auto fetch = [&](const char* method, const char* target) {
    EXPECT_TRUE(client.Send(MakeRequest(method, target)));
    std::optional<TestResponse> response = client.ReadResponse();
    EXPECT_TRUE(response.has_value());
    return response.value_or(TestResponse{});
  };
  EXPECT_EQ(fetch("GET", "/v1/models").body, "models");
  EXPECT_EQ(fetch("GET", "/v1/models/gpt-4o").body, "model gpt-4o");
  TestResponse missing = fetch("GET", "/v2/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(
      missing.body,
      R"({"error":{"message":"Unknown request URL: GET /v2/nothing",)"
      R"("type":"invalid_request_error","param":null,"code":"not_found"}})");
  EXPECT_EQ(fetch("POST", "/v1/models").status, 405);
}

}  // namespace
}  // namespace sluice::http

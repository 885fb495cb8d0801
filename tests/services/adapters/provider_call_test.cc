// The whole-answer call against a real HTTP server on loopback: an answer
// is read whole up to the cap, and one past it is cut, not buffered on.
#include "services/adapters/provider_call.h"

#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/http/server.h"
#include "libs/status/errors.h"
#include "libs/upstream/http_client.h"

namespace sluice::adapters {
namespace {

struct BodyResult {
  absl::Status status;
  int http_status = 0;
  size_t body_bytes = 0;
};

// Fetches an answer of `bytes` bytes through StartBodyCall.
BodyResult Fetch(size_t bytes) {
  auto server = http::StartServer(
      {}, [bytes](http::Request, http::ResponseWriterPtr writer) {
        writer->Respond(200, {{"content-type", "application/json"}},
                        std::string(bytes, 'x'));
      });
  EXPECT_TRUE(server.ok()) << server.status();
  auto client = upstream::HttpClient::Create();
  EXPECT_TRUE(client.ok()) << client.status();
  upstream::HttpRequest request;
  request.method = "GET";
  request.url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/";
  BodyResult result;
  absl::Notification done;
  StartBodyCall(client->get(), std::move(request), nullptr,
                [&](absl::Status status, const upstream::HttpResponseHead& head,
                    std::string body) {
                  result = {std::move(status), head.status, body.size()};
                  done.Notify();
                });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  return result;
}

TEST(StartBodyCallTest, AnAnswerUpToTheCapIsReadWhole) {
  BodyResult result = Fetch(kMaxAnswerBody);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.body_bytes, kMaxAnswerBody);
}

TEST(StartBodyCallTest, AnAnswerPastTheCapIsCutAsABadUpstream) {
  BodyResult result = Fetch(kMaxAnswerBody + 1);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable)
      << result.status;
  EXPECT_EQ(status::ErrorFromStatus(result.status).http_status(), 502);
  EXPECT_EQ(result.body_bytes, 0u);
}

}  // namespace
}  // namespace sluice::adapters

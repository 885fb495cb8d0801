// The first slice end to end: HTTP and gRPC clients → ingress → router →
// adapters → upstream simulator → back, usage through Kafka into metering.
// Runs once with every service in one process and once split into four
// processes (ingress, router, adapters, metering).
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "sluice/v1/cache.grpc.pb.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kRequest[] =
    R"({"model":"deepseek-chat","messages":[{"role":"system","content":"Be brief."},)"
    R"({"role":"user","content":"What is a sluice gate?"}],"temperature":0})";
constexpr char kStreamRequest[] =
    R"({"model":"deepseek-chat","stream":true,"stream_options":{"include_usage":true},)"
    R"("messages":[{"role":"user","content":"Stream me a sluice story"}]})";

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

std::vector<std::string> Auth() {
  return {absl::StrCat("Authorization: Bearer ", kDemoKey),
          "Content-Type: application/json"};
}

class GatewayTest : public ::testing::TestWithParam<Gateway::Layout> {
 protected:
  void SetUp() override {
    auto gateway = Gateway::Start(GetParam());
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    // The same answers straight from a second, identical simulator.
    auto reference = sim::Simulator::Start(sim::SimulatorOptions{});
    ASSERT_TRUE(reference.ok()) << reference.status();
    reference_ = *std::move(reference);
  }

  std::string Direct(const std::string& body) {
    HttpAnswer answer = HttpCall(
        "POST",
        absl::StrCat("http://127.0.0.1:", reference_->port(),
                     "/v1/chat/completions"),
        {"Content-Type: application/json"}, body);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return answer.body;
  }

  HttpAnswer ViaGateway(const std::string& body) {
    return HttpCall("POST", gateway_->http_base() + "/v1/chat/completions",
                    Auth(), body);
  }

  // Polls GET /v1/usage until `requests` requests are counted.
  rapidjson::Document WaitForUsage(int requests) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    std::string last;
    while (absl::Now() < deadline) {
      HttpAnswer answer =
          HttpCall("GET", gateway_->http_base() + "/v1/usage", Auth());
      last = answer.body;
      if (answer.status == 200) {
        rapidjson::Document doc = Json(answer.body);
        int64_t total = 0;
        for (const auto& row : doc["data"].GetArray()) {
          total += row["requests"].GetInt64();
        }
        if (total >= requests) return doc;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "usage never reached " << requests << " requests: " << last;
    return Json("{}");
  }

  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<sim::Simulator> reference_;
};

TEST_P(GatewayTest, NonStreamedCompletionMatchesUpstreamAndIsMetered) {
  HttpAnswer answer = ViaGateway(kRequest);
  ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
  EXPECT_EQ(answer.Header("content-type"), "application/json");
  EXPECT_EQ(answer.Header("x-sluice-route"), "sim/deepseek-chat");
  EXPECT_FALSE(answer.Header("x-request-id").empty());

  std::string direct = Direct(kRequest);
  // Same JSON document as the upstream's (member order aside)...
  EXPECT_EQ(Json(answer.body), Json(direct)) << answer.body << "\n" << direct;
  // ...and the answer text byte for byte.
  rapidjson::Document ours = Json(answer.body);
  rapidjson::Document theirs = Json(direct);
  EXPECT_EQ(std::string(ours["choices"][0]["message"]["content"].GetString()),
            std::string(theirs["choices"][0]["message"]["content"].GetString()));

  rapidjson::Document usage = WaitForUsage(1);
  ASSERT_EQ(usage["data"].Size(), 1u);
  const auto& row = usage["data"][0];
  EXPECT_STREQ(row["tenant"].GetString(), "demo");
  EXPECT_STREQ(row["model"].GetString(), "deepseek-chat");
  EXPECT_EQ(row["requests"].GetInt64(), 1);
  EXPECT_EQ(row["errors"].GetInt64(), 0);
  EXPECT_EQ(row["prompt_tokens"].GetInt64(),
            theirs["usage"]["prompt_tokens"].GetInt64());
  EXPECT_EQ(row["completion_tokens"].GetInt64(),
            theirs["usage"]["completion_tokens"].GetInt64());

  HttpAnswer metrics = HttpCall("GET", gateway_->http_base() + "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body,
              HasSubstr("sluice_requests_total{status=\"200\",stream=\"false\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE sluice_request_duration_seconds histogram"));
}

TEST_P(GatewayTest, StreamedCompletionMatchesUpstreamChunkForChunk) {
  HttpAnswer answer = ViaGateway(kStreamRequest);
  ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
  EXPECT_EQ(answer.Header("content-type"), "text/event-stream");
  std::vector<std::string> ours = SseData(answer.body);
  std::vector<std::string> theirs = SseData(Direct(kStreamRequest));
  ASSERT_EQ(ours.size(), theirs.size()) << answer.body;
  ASSERT_GE(ours.size(), 4u);
  EXPECT_EQ(ours.back(), "[DONE]");
  std::string our_text, their_text;
  for (size_t i = 0; i + 1 < ours.size(); ++i) {
    rapidjson::Document a = Json(ours[i]);
    rapidjson::Document b = Json(theirs[i]);
    EXPECT_EQ(a, b) << "chunk " << i << ":\n" << ours[i] << "\n" << theirs[i];
    if (a["choices"].Size() > 0 && a["choices"][0]["delta"].HasMember("content")) {
      our_text += a["choices"][0]["delta"]["content"].GetString();
      their_text += b["choices"][0]["delta"]["content"].GetString();
    }
  }
  EXPECT_EQ(our_text, their_text);
  EXPECT_FALSE(our_text.empty());
  // The include_usage chunk: no choices, a usage object.
  rapidjson::Document usage_chunk = Json(ours[ours.size() - 2]);
  EXPECT_EQ(usage_chunk["choices"].Size(), 0u);
  EXPECT_TRUE(usage_chunk["usage"].IsObject());

  rapidjson::Document usage = WaitForUsage(1);
  EXPECT_EQ(usage["data"][0]["completion_tokens"].GetInt64(),
            usage_chunk["usage"]["completion_tokens"].GetInt64());
}

TEST_P(GatewayTest, RejectedRequestsGetOpenAIErrorsAndAreMetered) {
  HttpAnswer bad_key = HttpCall(
      "POST", gateway_->http_base() + "/v1/chat/completions",
      {"Authorization: Bearer sk-wrong", "Content-Type: application/json"},
      kRequest);
  EXPECT_EQ(bad_key.status, 401);
  EXPECT_THAT(bad_key.body, HasSubstr("\"code\":\"invalid_api_key\""));
  EXPECT_THAT(bad_key.body, ::testing::Not(HasSubstr("sk-wrong")));

  HttpAnswer bad_json = ViaGateway("{\"model\": ");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_TRUE(Json(bad_json.body)["error"].IsObject()) << bad_json.body;

  HttpAnswer unknown_model =
      ViaGateway(R"({"model":"nope","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unknown_model.status, 404);
  EXPECT_THAT(unknown_model.body, HasSubstr("model_not_found"));

  // The bad-JSON and unknown-model requests belong to the demo tenant.
  rapidjson::Document usage = WaitForUsage(2);
  int64_t errors = 0;
  for (const auto& row : usage["data"].GetArray()) errors += row["errors"].GetInt64();
  EXPECT_EQ(errors, 2);
}

TEST_P(GatewayTest, GrpcGatewayGivesTheSameAnswers) {
  auto channel = grpc::CreateChannel(gateway_->ingress_grpc(),
                                     grpc::InsecureChannelCredentials());
  auto stub = sluice::v1::Gateway::NewStub(channel);
  sluice::v1::ChatRequest request;
  request.set_model("deepseek-chat");
  auto* message = request.add_messages();
  message->set_role("user");
  message->set_text("What is a sluice gate?");

  grpc::ClientContext unauthenticated;
  unauthenticated.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(10));
  sluice::v1::ChatResponse response;
  EXPECT_EQ(stub->Complete(&unauthenticated, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", kDemoKey));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status status = stub->Complete(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  rapidjson::Document direct = Json(Direct(
      R"({"model":"deepseek-chat","messages":[{"role":"user","content":"What is a sluice gate?"}]})"));
  EXPECT_EQ(response.choices(0).message().text(),
            direct["choices"][0]["message"]["content"].GetString());
  EXPECT_EQ(response.route(), "sim/deepseek-chat");

  grpc::ClientContext stream_context;
  stream_context.AddMetadata("authorization", absl::StrCat("Bearer ", kDemoKey));
  stream_context.set_deadline(std::chrono::system_clock::now() +
                              std::chrono::seconds(10));
  auto reader = stub->StreamComplete(&stream_context, request);
  sluice::v1::ChatChunk chunk;
  std::string text;
  bool saw_usage = false;
  while (reader->Read(&chunk)) {
    for (const auto& choice : chunk.choices()) text += choice.delta().text();
    saw_usage |= chunk.has_usage();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(text, response.choices(0).message().text());
  EXPECT_TRUE(saw_usage);

  if (GetParam() == Gateway::Layout::kOneProcess) {
    // Services whose issues come later are hosted and answer UNIMPLEMENTED.
    auto cache = sluice::v1::Cache::NewStub(channel);
    grpc::ClientContext cache_context;
    cache_context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(10));
    sluice::v1::CacheLookupResponse lookup;
    EXPECT_EQ(cache->Lookup(&cache_context, {}, &lookup).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, GatewayTest,
    ::testing::Values(Gateway::Layout::kOneProcess, Gateway::Layout::kSplit),
    [](const auto& info) {
      return info.param == Gateway::Layout::kOneProcess ? "OneProcess"
                                                        : "FourProcesses";
    });

}  // namespace
}  // namespace sluice::testing

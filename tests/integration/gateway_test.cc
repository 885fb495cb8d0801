// The first slice end to end: HTTP and gRPC clients → ingress → router →
// adapters → upstream simulator → back, usage through Kafka into metering.
// Runs once with every service in one process and once split into four
// processes (ingress, router, adapters, metering).
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "sluice/v1/adapter.grpc.pb.h"
#include "sluice/v1/cache.grpc.pb.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "sluice/v1/metering.grpc.pb.h"
#include "sluice/v1/router.grpc.pb.h"
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
    EXPECT_EQ(answer.status, 200) << answer.body << " curl: " << answer.error;
    return answer.body;
  }

  HttpAnswer ViaGateway(const std::string& body) {
    return HttpCall("POST", gateway_->http_base() + "/v1/chat/completions",
                    Auth(), body);
  }

  rapidjson::Document WaitForUsage(int requests) {
    return testing::WaitForUsage(*gateway_, requests);
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

  // Refused by the HTTP server itself, before any handler: still metered.
  std::string huge(5 * 1024 * 1024, 'x');
  HttpAnswer too_large = ViaGateway(
      absl::StrCat(R"({"model":"deepseek-chat","messages":[{"role":"user","content":")",
                   huge, "\"}]}"));
  EXPECT_EQ(too_large.status, 413);
  EXPECT_THAT(too_large.body, HasSubstr("\"code\":\"request_too_large\""));
  HttpAnswer huge_head = HttpCall(
      "POST", gateway_->http_base() + "/v1/chat/completions",
      {absl::StrCat("Authorization: Bearer ", kDemoKey),
       "X-Padding: " + std::string(70 * 1024, 'p')},
      kRequest);
  EXPECT_EQ(huge_head.status, 431);

  // All four rejected requests belong to the demo tenant.
  rapidjson::Document usage = WaitForUsage(4);
  int64_t errors = 0;
  for (const auto& row : usage["data"].GetArray()) errors += row["errors"].GetInt64();
  EXPECT_EQ(errors, 4);
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

}

// The gRPC Gateway refuses what the HTTP API refuses, in the same words: for
// each bad request the gRPC status details carry the error HTTP's 400 body
// carries. Deep JSON in a raw field is an error (never a crash); a message
// over the body limit is refused; every refusal is metered.
TEST_P(GatewayTest, GrpcBadInputMirrorsHttp) {
  auto stub = sluice::v1::Gateway::NewStub(grpc::CreateChannel(
      gateway_->ingress_grpc(), grpc::InsecureChannelCredentials()));
  auto grpc_error = [&](const sluice::v1::ChatRequest& request,
                        grpc::StatusCode* code) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kDemoKey));
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    sluice::v1::ChatResponse response;
    grpc::Status status = stub->Complete(&context, request, &response);
    *code = status.error_code();
    sluice::v1::Error error;
    error.ParseFromString(status.error_details());
    return error;
  };
  struct Case {
    std::function<void(sluice::v1::ChatRequest&)> mutate;
    std::string json;  // the same request over HTTP
  };
  const std::string hi = R"([{"role":"user","content":"hi"}])";
  std::vector<Case> cases = {
      {[](auto& r) { r.set_temperature(2.5); },
       R"({"model":"deepseek-chat","messages":)" + hi + R"(,"temperature":2.5})"},
      {[](auto& r) { r.mutable_messages(0)->set_role("wizard"); },
       R"({"model":"deepseek-chat","messages":[{"role":"wizard","content":"hi"}]})"},
      {[](auto& r) { r.set_max_tokens(0); },
       R"({"model":"deepseek-chat","messages":)" + hi + R"(,"max_tokens":0})"},
      {[](auto& r) { r.set_tools_json(R"([{"type":"retrieval"}])"); },
       R"({"model":"deepseek-chat","messages":)" + hi +
           R"(,"tools":[{"type":"retrieval"}]})"},
      {[](auto& r) { r.set_model(""); },
       R"({"model":"","messages":)" + hi + "}"},
  };
  for (const Case& c : cases) {
    sluice::v1::ChatRequest request;
    request.set_model("deepseek-chat");
    auto* message = request.add_messages();
    message->set_role("user");
    message->set_text("hi");
    c.mutate(request);
    grpc::StatusCode code;
    sluice::v1::Error grpc_side = grpc_error(request, &code);
    HttpAnswer http = ViaGateway(c.json);
    ASSERT_EQ(http.status, 400) << http.body;
    rapidjson::Document body = Json(http.body);
    EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT) << c.json;
    EXPECT_EQ(grpc_side.http_status(), 400);
    EXPECT_EQ(grpc_side.param(), body["error"]["param"].GetString()) << c.json;
    EXPECT_EQ(grpc_side.message(), body["error"]["message"].GetString());
  }
  // Only a proto carries raw JSON: deep or broken, it is named.
  sluice::v1::ChatRequest deep;
  deep.set_model("deepseek-chat");
  deep.add_messages()->set_text("hi");
  deep.mutable_messages(0)->set_role("user");
  deep.set_tools_json(std::string(100000, '[') + std::string(100000, ']'));
  grpc::StatusCode code;
  sluice::v1::Error error = grpc_error(deep, &code);
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(error.param(), "tools");
  deep.clear_tools_json();
  deep.set_extra_json(R"({"model":"gpt-4o-mini"})");
  error = grpc_error(deep, &code);
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(error.param(), "extra_json.model");
  // Over the body limit (4 MiB), like HTTP's 413.
  deep.clear_extra_json();
  deep.mutable_messages(0)->set_text(std::string(5 << 20, 'x'));
  grpc_error(deep, &code);
  EXPECT_EQ(code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The gRPC and HTTP refusals above (the oversize one never reached us).
  rapidjson::Document usage = WaitForUsage(2 * static_cast<int>(cases.size()) + 2);
  int64_t errors = 0;
  for (const auto& row : usage["data"].GetArray()) errors += row["errors"].GetInt64();
  EXPECT_EQ(errors, 2 * static_cast<int64_t>(cases.size()) + 2);
}

// The value of a Prometheus series in /metrics text; -1 when absent.
double MetricValue(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

grpc::StatusCode CallStatus(std::function<grpc::Status(grpc::ClientContext*)> call,
                            const std::string& secret = "") {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  if (!secret.empty()) context.AddMetadata("x-sluice-internal-auth", secret);
  return call(&context).error_code();
}

// Every internal service reached on `address`, each with one call.
std::vector<std::function<grpc::Status(grpc::ClientContext*)>> InternalCalls(
    const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  std::shared_ptr<sluice::v1::Router::Stub> router =
      sluice::v1::Router::NewStub(channel);
  std::shared_ptr<sluice::v1::Metering::Stub> metering =
      sluice::v1::Metering::NewStub(channel);
  std::shared_ptr<sluice::v1::Cache::Stub> cache =
      sluice::v1::Cache::NewStub(channel);
  std::shared_ptr<sluice::v1::Adapter::Stub> adapters =
      sluice::v1::Adapter::NewStub(channel);
  sluice::v1::ChatRequest chat;
  chat.set_model("deepseek-chat");
  chat.add_messages()->set_text("hi");
  chat.mutable_context()->set_tenant("demo");
  return {
      [router, chat](grpc::ClientContext* c) {
        sluice::v1::ChatResponse response;
        return router->Route(c, chat, &response);
      },
      [metering](grpc::ClientContext* c) {
        sluice::v1::UsageReport report;
        return metering->GetUsage(c, sluice::v1::UsageQuery(), &report);
      },
      [cache](grpc::ClientContext* c) {
        sluice::v1::CacheStatsResponse stats;
        return cache->Stats(c, sluice::v1::CacheStatsRequest(), &stats);
      },
      [adapters, chat](grpc::ClientContext* c) {
        sluice::v1::AdapterRequest request;
        request.set_provider("sim");
        *request.mutable_request() = chat;
        sluice::v1::ChatResponse response;
        return adapters->Complete(c, request, &response);
      },
  };
}

TEST_P(GatewayTest, ListenersServeWhatTheyShouldAndNoMore) {
  // Traffic first: every kind of request a client can make.
  ASSERT_EQ(ViaGateway(kRequest).status, 200);
  ASSERT_EQ(ViaGateway(kStreamRequest).status, 200);
  ASSERT_EQ(HttpCall("GET", gateway_->http_base() + "/v1/usage", Auth()).status,
            200);
  auto gateway = sluice::v1::Gateway::NewStub(grpc::CreateChannel(
      gateway_->ingress_grpc(), grpc::InsecureChannelCredentials()));
  sluice::v1::ChatRequest chat;
  chat.set_model("deepseek-chat");
  auto* message = chat.add_messages();
  message->set_role("user");
  message->set_text("hi");
  EXPECT_EQ(CallStatus([&](grpc::ClientContext* c) {
              c->AddMetadata("authorization",
                             absl::StrCat("Bearer ", kDemoKey));
              sluice::v1::ChatResponse response;
              return gateway->Complete(c, chat, &response);
            }),
            grpc::StatusCode::OK);

  // The public port serves the Gateway and nothing else.
  for (auto& call : InternalCalls(gateway_->ingress_grpc())) {
    EXPECT_EQ(CallStatus(call), grpc::StatusCode::UNIMPLEMENTED);
  }
  if (GetParam() == Gateway::Layout::kOneProcess) {
    // In one process the requests above never touched the internal
    // listener: co-hosted components call each other directly.
    std::string metrics =
        HttpCall("GET", gateway_->http_base() + "/metrics").body;
    EXPECT_EQ(MetricValue(metrics,
                          "sluice_internal_grpc_calls_total{result=\"ok\"}"),
              0)
        << metrics;
  }
  // The internal port refuses calls without the secret, or with a wrong one
  // (split, the router's process hosts the router alone).
  auto internal = InternalCalls(gateway_->internal_grpc());
  if (GetParam() != Gateway::Layout::kOneProcess) internal.resize(1);
  for (auto& call : internal) {
    EXPECT_EQ(CallStatus(call), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(CallStatus(call, "not-the-secret"),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  if (GetParam() == Gateway::Layout::kOneProcess) {
    std::string metrics =
        HttpCall("GET", gateway_->http_base() + "/metrics").body;
    EXPECT_EQ(MetricValue(metrics, "sluice_internal_grpc_calls_total{result="
                                   "\"unauthenticated\"}"),
              8)
        << metrics;
  } else {
    // The router's process takes the secret the processes share.
    auto router = InternalCalls(gateway_->internal_grpc())[0];
    EXPECT_EQ(CallStatus(router, kInternalSecret), grpc::StatusCode::OK);
  }
}

TEST_P(GatewayTest, RouteDecisionShowsInHeaders) {
  HttpAnswer plain = HttpCall(
      "POST", gateway_->http_base() + "/v1/chat/completions", Auth(),
      R"({"model":"chat-default","messages":[{"role":"user","content":"What is a sluice gate?"}]})");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.Header("x-sluice-route"), "sim/deepseek-chat");
  EXPECT_EQ(plain.Header("x-sluice-task"), "simple_qa");
  EXPECT_EQ(plain.Header("x-sluice-attempts"), "1");
  // A short prompt is routed on the bound of its size, and says so.
  EXPECT_EQ(plain.Header("x-sluice-prompt-count"), "bound");
  int64_t bound = 0;
  ASSERT_TRUE(absl::SimpleAtoi(plain.Header("x-sluice-prompt-tokens"), &bound))
      << plain.Header("x-sluice-prompt-tokens");
  EXPECT_GE(bound, 6);  // at least the question's words

  std::vector<std::string> named = Auth();
  named.push_back("x-sluice-task: code_generation");
  HttpAnswer code = HttpCall(
      "POST", gateway_->http_base() + "/v1/chat/completions", named,
      R"({"model":"chat-default","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(code.status, 200) << code.body;
  EXPECT_EQ(code.Header("x-sluice-route"), "sim/deepseek-coder");
  EXPECT_EQ(code.Header("x-sluice-task"), "code_generation");
  EXPECT_EQ(code.Header("x-sluice-task-reason"), "header");

  std::vector<std::string> bad = Auth();
  bad.push_back("x-sluice-task: Not A Task");
  HttpAnswer rejected = HttpCall(
      "POST", gateway_->http_base() + "/v1/chat/completions", bad,
      R"({"model":"chat-default","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(rejected.status, 400);
  EXPECT_EQ(std::string(Json(rejected.body)["error"]["param"].GetString()),
            "x-sluice-task");
}

TEST_P(GatewayTest, AnthropicUpstreamStreamsToAnOpenAIClient) {
  constexpr char kAsk[] =
      R"({"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"Be brief."},)"
      R"({"role":"user","content":"What is a sluice gate?"}])";
  HttpAnswer whole = ViaGateway(absl::StrCat(kAsk, "}"));
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(whole.Header("x-sluice-route"), "sim-anthropic/claude-sonnet-4-5");
  rapidjson::Document answer = Json(whole.body);
  EXPECT_STREQ(answer["object"].GetString(), "chat.completion");
  std::string expected = answer["choices"][0]["message"]["content"].GetString();
  EXPECT_FALSE(expected.empty());
  EXPECT_GT(answer["usage"]["prompt_tokens"].GetInt64(), 0);

  HttpAnswer streamed = ViaGateway(absl::StrCat(
      kAsk, R"(,"stream":true,"stream_options":{"include_usage":true}})"));
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  std::vector<std::string> events = SseData(streamed.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  std::string finish;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    rapidjson::Document chunk = Json(events[i]);
    EXPECT_STREQ(chunk["object"].GetString(), "chat.completion.chunk");
    for (const auto& choice : chunk["choices"].GetArray()) {
      if (choice["delta"].HasMember("content") && choice["delta"]["content"].IsString()) {
        text += choice["delta"]["content"].GetString();
      }
      if (choice["finish_reason"].IsString()) finish = choice["finish_reason"].GetString();
    }
  }
  EXPECT_EQ(text, expected);
  EXPECT_EQ(finish, "stop");
  rapidjson::Document usage = Json(events[events.size() - 2]);
  EXPECT_EQ(usage["choices"].Size(), 0u);
  EXPECT_EQ(usage["usage"]["prompt_tokens"].GetInt64(),
            answer["usage"]["prompt_tokens"].GetInt64());
}

TEST_P(GatewayTest, FailureAfterTheFirstByteEndsWithAnErrorEvent) {
  HttpAnswer queued = HttpCall("POST", gateway_->sim_base() + "/sim/faults",
                               {"Content-Type: application/json"},
                               R"({"fault":"stall","count":1,"after":3})");
  ASSERT_EQ(queued.status, 200) << queued.body;
  HttpAnswer answer = ViaGateway(kStreamRequest);
  ASSERT_EQ(answer.status, 200) << answer.body;
  std::vector<std::string> events = SseData(answer.body);
  ASSERT_GE(events.size(), 3u) << answer.body;
  // Never a silent success: no [DONE], a finish_reason that says so, then
  // an error event in OpenAI's shape.
  EXPECT_NE(events.back(), "[DONE]");
  rapidjson::Document error = Json(events.back());
  ASSERT_TRUE(error.HasMember("error")) << events.back();
  EXPECT_THAT(std::string(error["error"]["message"].GetString()), HasSubstr("stall"));
  bool saw_error_finish = false;
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    rapidjson::Document chunk = Json(events[i]);
    for (const auto& choice : chunk["choices"].GetArray()) {
      if (choice["finish_reason"].IsString() &&
          std::string(choice["finish_reason"].GetString()) == "error") {
        saw_error_finish = true;
      }
      if (choice["delta"].HasMember("content") && choice["delta"]["content"].IsString()) {
        text += choice["delta"]["content"].GetString();
      }
    }
  }
  EXPECT_TRUE(saw_error_finish) << answer.body;
  EXPECT_FALSE(text.empty());
  // Metered as an error, with tokens counted by us.
  rapidjson::Document usage = WaitForUsage(1);
  EXPECT_EQ(usage["data"][0]["errors"].GetInt64(), 1);
  EXPECT_GT(usage["data"][0]["completion_tokens"].GetInt64(), 0);
}

TEST_P(GatewayTest, TokenCountUsesTheModelsTokenizer) {
  HttpAnswer count = HttpCall(
      "POST", gateway_->http_base() + "/v1/token-count", Auth(),
      R"({"model":"deepseek-chat","messages":[{"role":"user","content":"What is a sluice gate?"}]})");
  ASSERT_EQ(count.status, 200) << count.body;
  rapidjson::Document doc = Json(count.body);
  EXPECT_STREQ(doc["tokenizer"].GetString(), "deepseek-llm");
  EXPECT_GT(doc["template_tokens"].GetInt64(), 0);
  EXPECT_GT(doc["prompt_tokens"].GetInt64(), doc["template_tokens"].GetInt64());

  HttpAnswer unauthenticated = HttpCall(
      "POST", gateway_->http_base() + "/v1/token-count",
      {"Content-Type: application/json"}, R"({"model":"deepseek-chat","messages":[]})");
  EXPECT_EQ(unauthenticated.status, 401);
  HttpAnswer no_messages = HttpCall("POST", gateway_->http_base() + "/v1/token-count",
                                    Auth(), R"({"model":"deepseek-chat","messages":[]})");
  EXPECT_EQ(no_messages.status, 400);
}

// Provider metrics live in the registry of the process that hosts the
// router; only ingress serves /metrics, so this holds in one process.
class OneProcessGatewayTest : public GatewayTest {};

TEST_P(OneProcessGatewayTest, ProviderMetricsAreExported) {
  ASSERT_EQ(ViaGateway(kRequest).status, 200);
  HttpAnswer metrics = HttpCall("GET", gateway_->http_base() + "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr(
      "sluice_provider_requests_total{model=\"deepseek-chat\",provider=\"sim\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr(
      "sluice_provider_circuit_state{model=\"deepseek-chat\",provider=\"sim\"} 0\n"));
  EXPECT_THAT(metrics.body, HasSubstr(
      "sluice_provider_latency_seconds_count{model=\"deepseek-chat\",provider=\"sim\"} 1\n"));
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, GatewayTest,
    ::testing::Values(Gateway::Layout::kOneProcess, Gateway::Layout::kSplit),
    [](const auto& info) {
      return info.param == Gateway::Layout::kOneProcess ? "OneProcess"
                                                        : "FourProcesses";
    });
// In both layouts: across processes ingress asks the router to wind the
// stream down instead of cutting its call, so the usage of what was relayed
// still reaches it.
TEST_P(GatewayTest, AClientThatLeavesAStreamIsBilledForWhatWasSent) {
  // The upstream stalls after three chunks; the client hangs up once it has
  // content, while the stream waits.
  HttpAnswer queued = HttpCall("POST", gateway_->sim_base() + "/sim/faults",
                               {"Content-Type: application/json"},
                               R"({"fault":"stall","count":1,"after":3})");
  ASSERT_EQ(queued.status, 200) << queued.body;
  HttpAnswer answer = HttpCallUntil(
      "POST", gateway_->http_base() + "/v1/chat/completions",
      Auth(), kStreamRequest, [](const std::string& body) {
        size_t content = 0;
        for (size_t at = 0; (at = body.find("\"content\":\"", at)) != std::string::npos; ++at) {
          ++content;
        }
        return content >= 2;
      });
  ASSERT_FALSE(answer.error.empty()) << "the client did not hang up: " << answer.body;
  // Metered once, with the prompt and the tokens the upstream sent: never
  // zero (a client closing before [DONE] must not get free output).
  rapidjson::Document usage = WaitForUsage(1);
  EXPECT_EQ(usage["data"][0]["requests"].GetInt64(), 1);
  EXPECT_GT(usage["data"][0]["prompt_tokens"].GetInt64(), 0);
  EXPECT_GT(usage["data"][0]["completion_tokens"].GetInt64(), 0);
}

INSTANTIATE_TEST_SUITE_P(Layouts, OneProcessGatewayTest,
                         ::testing::Values(Gateway::Layout::kOneProcess),
                         [](const auto&) { return "OneProcess"; });

}  // namespace
}  // namespace sluice::testing

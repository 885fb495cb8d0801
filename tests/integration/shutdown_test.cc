// A gateway stopped (SIGTERM) with requests in flight drains them: it waits
// for them until its drain timeout, cancels the rest, meters each of them
// exactly once, and exits cleanly. It runs an AddressSanitizer build of
// sluice (./dev test makes it; SLUICE_ASAN_SLUICE names it), so a request
// record that outlived what it points to, or a callback into a stopped
// component, fails the test.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "libs/kafka/consumer.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "sluice/v1/metering.pb.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/usage_events.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {
namespace {

constexpr int kHttpStreams = 4;
constexpr int kHttpUnary = 2;
constexpr int kGrpcStreams = 2;
constexpr int kRequests = kHttpStreams + kHttpUnary + kGrpcStreams;

std::string AsanBinary() {
  const char* path = std::getenv("SLUICE_ASAN_SLUICE");
  return path == nullptr ? "" : path;
}

TEST(ShutdownTest, InFlightRequestsAreDrainedAndMeteredOnce) {
  const std::string binary = AsanBinary();
  ASSERT_FALSE(binary.empty())
      << "SLUICE_ASAN_SLUICE is not set: run the suite with ./dev test, which "
         "builds sluice with AddressSanitizer";
  ASSERT_TRUE(std::filesystem::exists(binary)) << binary;
  std::string asan_log = ::testing::TempDir() + "/sluice-asan";
  // Leaks at exit are not this test's business (gRPC and singletons keep
  // some); use-after-free and the like are.
  setenv("ASAN_OPTIONS",
         absl::StrCat("detect_leaks=0:log_path=", asan_log).c_str(), 1);

  GatewayOptions options;
  options.sluice_binary = binary;
  options.sim_fill_to_max_tokens = true;
  options.sim_per_token = absl::Milliseconds(50);  // ~50 s per answer
  options.drain_timeout = absl::Milliseconds(800);
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  UsageEvents usage((*gateway)->brokers(), "shutdown-test");

  std::set<std::string> ids;
  std::vector<std::thread> clients;
  auto body = [](bool stream) {
    return absl::StrCat(R"({"model":"deepseek-chat","max_tokens":1000,)",
                        stream ? R"("stream":true,)" : "",
                        R"("messages":[{"role":"user","content":"A long one"}]})");
  };
  for (int i = 0; i < kHttpStreams + kHttpUnary; ++i) {
    std::string id = absl::StrCat("shutdown-http-", i);
    ids.insert(id);
    bool stream = i < kHttpStreams;
    clients.emplace_back([&, id, stream] {
      HttpCall("POST", (*gateway)->http_base() + "/v1/chat/completions",
               {absl::StrCat("Authorization: Bearer ", kDemoKey),
                "Content-Type: application/json",
                absl::StrCat("x-request-id: ", id)},
               body(stream));
    });
  }
  auto stub = sluice::v1::Gateway::NewStub(grpc::CreateChannel(
      (*gateway)->ingress_grpc(), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < kGrpcStreams; ++i) {
    std::string id = absl::StrCat("shutdown-grpc-", i);
    ids.insert(id);
    clients.emplace_back([&, id] {
      grpc::ClientContext context;
      context.AddMetadata("authorization", absl::StrCat("Bearer ", kDemoKey));
      context.AddMetadata("x-request-id", id);
      sluice::v1::ChatRequest request;
      request.set_model("deepseek-chat");
      request.set_max_tokens(1000);
      auto* message = request.add_messages();
      message->set_role("user");
      message->set_text("A long one");
      auto reader = stub->StreamComplete(&context, request);
      sluice::v1::ChatChunk chunk;
      while (reader->Read(&chunk)) {
      }
      reader->Finish();
    });
  }
  // Every request is upstream, streaming, before the stop.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((*gateway)->UpstreamRequests() < kRequests && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ((*gateway)->UpstreamRequests(), kRequests);
  absl::SleepFor(absl::Milliseconds(300));

  absl::Time stop = absl::Now();
  int exit_code = (*gateway)->ingress_process().Terminate(absl::Seconds(60));
  absl::Duration stopping = absl::Now() - stop;
  for (std::thread& client : clients) client.join();
  std::string report;
  for (const auto& entry :
       std::filesystem::directory_iterator(::testing::TempDir())) {
    if (entry.path().filename().string().rfind("sluice-asan", 0) == 0) {
      std::ifstream in(entry.path());
      report += std::string(std::istreambuf_iterator<char>(in), {});
      std::filesystem::remove(entry.path());
    }
  }
  EXPECT_EQ(report, "") << "AddressSanitizer found an error";
  EXPECT_EQ(exit_code, 0) << (*gateway)->ingress_process().Output();
  // The drain waited its 0.8 s, then cancelled: no answer ran to its end.
  EXPECT_GE(stopping, absl::Milliseconds(700));
  EXPECT_LT(stopping, absl::Seconds(30));

  std::vector<sluice::v1::UsageEvent> events = usage.WaitFor(ids);
  std::map<std::string, int> per_id;
  for (const auto& event : events) {
    if (!ids.contains(event.client_request_id())) continue;
    ++per_id[event.client_request_id()];
    EXPECT_EQ(event.status(), 499) << event.client_request_id() << ": "
                                   << event.error_type();
    EXPECT_EQ(event.tenant(), "demo");
  }
  for (const std::string& id : ids) {
    EXPECT_EQ(per_id[id], 1) << id << " was metered " << per_id[id] << " times";
  }
}

// A request that failed upstream after retries (the router waited between
// its attempts) has answered and left: a stop right after it has nothing
// to wait for, exits 0 long before the drain timeout, and the request is
// metered once. Runs the AddressSanitizer build when there is one, else
// this build tree's sluice.
TEST(ShutdownTest, StopAfterARetriedFailureDoesNotWaitForIt) {
  const std::string binary = AsanBinary();
  if (!binary.empty()) {
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
  }
  GatewayOptions options;
  options.sluice_binary = binary;
  options.drain_timeout = absl::Seconds(8);
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  UsageEvents usage((*gateway)->brokers(), "shutdown-test-retried");

  const std::string id = "shutdown-retried";
  HttpAnswer answer = HttpCall(
      "POST", (*gateway)->http_base() + "/v1/chat/completions",
      {absl::StrCat("Authorization: Bearer ", kDemoKey),
       "Content-Type: application/json", absl::StrCat("x-request-id: ", id)},
      R"({"model":"deepseek-chat","max_tokens":20,)"
      R"("messages":[{"role":"user","content":"x-sim-fault=500"}]})");
  EXPECT_GE(answer.status, 500) << answer.body << answer.error;
  EXPECT_GE((*gateway)->UpstreamRequests(), 2) << "the router did not retry";

  absl::Time stop = absl::Now();
  int exit_code = (*gateway)->ingress_process().Terminate(absl::Seconds(20));
  absl::Duration stopping = absl::Now() - stop;
  EXPECT_EQ(exit_code, 0) << (*gateway)->ingress_process().Output();
  EXPECT_LT(stopping, options.drain_timeout)
      << "the drain waited for a request that had answered";

  int metered = 0;
  for (const auto& event : usage.WaitFor({id})) {
    if (event.client_request_id() != id) continue;
    ++metered;
    EXPECT_GE(event.status(), 500) << event.error_type();
  }
  EXPECT_EQ(metered, 1);
}

// A process killed outright (SIGKILL: nothing drained, nothing flushed)
// with requests in flight: the one that takes its place reads the usage
// journal it left, so each request still has exactly one usage record,
// those it never finished as gateway_restarted (500, tokens unknown).
TEST(ShutdownTest, SigkillWithRequestsInFlightLeavesOneUsageRecordEach) {
  GatewayOptions options;
  options.sim_fill_to_max_tokens = true;
  options.sim_per_token = absl::Milliseconds(50);
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  Gateway& g = **gateway;
  UsageEvents usage(g.brokers(), "shutdown-test-sigkill");
  auto ask = [&g](const std::string& id, int max_tokens, bool stream) {
    return HttpCallWithin(
        "POST", g.http_base() + "/v1/chat/completions",
        {absl::StrCat("Authorization: Bearer ", kDemoKey),
         "Content-Type: application/json",
         absl::StrCat("x-client-request-id: ", id)},
        absl::StrCat(R"({"model":"deepseek-chat","max_tokens":)", max_tokens,
                     R"(,"stream":)", stream ? "true" : "false",
                     R"(,"messages":[{"role":"user","content":")", id,
                     R"("}]})"),
        30000);
  };
  ASSERT_EQ(ask("before-kill", 2, false).status, 200);
  constexpr int kCut = 4;
  std::vector<std::thread> clients;
  for (int i = 0; i < kCut; ++i) {
    clients.emplace_back([&ask, i] {
      ask(absl::StrCat("cut-", i), 400, i % 2 == 0);  // ~20 s each
    });
  }
  // Until the simulator is answering all of them.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (g.UpstreamRequests() < 1 + kCut && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(g.UpstreamRequests(), 1 + kCut);
  ASSERT_TRUE(g.KillAndRestart().ok());
  for (std::thread& client : clients) client.join();
  ASSERT_EQ(ask("after-restart", 2, false).status, 200);

  std::set<std::string> ids = {"before-kill", "after-restart"};
  for (int i = 0; i < kCut; ++i) ids.insert(absl::StrCat("cut-", i));
  // By client id, then by sluice's request id: the event, as sent. An
  // event the journal sends again (its segment held a request still in
  // flight) is the same event, which metering counts once.
  std::map<std::string, std::map<std::string, sluice::v1::UsageEvent>> by_id;
  for (auto& event : usage.WaitFor(ids)) {
    auto [it, first] = by_id[event.client_request_id()].emplace(
        event.request_id(), event);
    if (!first) {
      EXPECT_EQ(it->second.SerializeAsString(), event.SerializeAsString())
          << event.client_request_id() << " sent again, but changed";
    }
  }
  for (const std::string& id : ids) {
    ASSERT_EQ(by_id[id].size(), 1u) << id;
    const sluice::v1::UsageEvent& event = by_id[id].begin()->second;
    EXPECT_EQ(event.tenant(), "demo") << id;
    if (id.rfind("cut-", 0) == 0) {
      EXPECT_EQ(event.status(), 500) << id;
      EXPECT_EQ(event.error_type(), "gateway_restarted") << id;
      EXPECT_TRUE(event.usage().completion_tokens_estimated()) << id;
    } else {
      EXPECT_EQ(event.status(), 200) << id;
    }
  }
  // Metering's own count: six requests of the demo tenant, the four cut
  // ones its errors.
  rapidjson::Document totals = WaitForUsage(g, 1 + kCut + 1);
  ASSERT_TRUE(totals.IsObject() && totals["data"].Size() == 1u);
  EXPECT_EQ(totals["data"][0]["requests"].GetInt64(), 1 + kCut + 1);
  EXPECT_EQ(totals["data"][0]["errors"].GetInt64(), kCut);
}

}  // namespace
}  // namespace sluice::testing

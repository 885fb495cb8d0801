#include "tests/services/router/router_fixture.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "libs/config/config_loader.h"
#include "services/adapters/adapters_service.h"
#include "services/router/router_service.h"
#include "services/worker/worker_service.h"
#include "tests/support/grpc_callback_queue.h"
#include "tests/support/http_test_client.h"

namespace sluice::router::testing {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);

host::CallContextPtr Context() {
  return host::CallContext::Create({absl::Now() + kWait, "test"});
}

// Collects a stream for Stream().
class Collector final : public host::Sink<sluice::v1::ChatChunk> {
 public:
  bool Next(sluice::v1::ChatChunk chunk) override {
    for (const auto& choice : chunk.choices()) {
      absl::StrAppend(&result.text, choice.delta().reasoning_content(),
                      choice.delta().text());
    }
    result.chunks.push_back(std::move(chunk));
    return true;
  }
  void Done(absl::Status status) override {
    result.status = std::move(status);
    done.Notify();
  }

  StreamResult result;
  absl::Notification done;
};

}  // namespace

void RouterTest::StartAll(const std::string& yaml, sim::SimulatorOptions a,
                          sim::SimulatorOptions b) {
  sluice::testing::HoldGrpcCallbackQueue();
  auto sim_a = sim::Simulator::Start(a);
  ASSERT_TRUE(sim_a.ok()) << sim_a.status();
  sim_a_ = *std::move(sim_a);
  auto sim_b = sim::Simulator::Start(b);
  ASSERT_TRUE(sim_b.ok()) << sim_b.status();
  sim_b_ = *std::move(sim_b);
  std::string text =
      absl::StrReplaceAll(yaml, {{"A_PORT", absl::StrCat(sim_a_->port())},
                                 {"B_PORT", absl::StrCat(sim_b_->port())}});
  auto config = config::ParseConfig(text, "router_test.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  config_ = *std::move(config);
  auto host = host::Host::Start(
      config_, {{worker::WorkerServiceDefinition(),
                 adapters::AdaptersServiceDefinition(),
                 RouterServiceDefinition()},
                {}});
  ASSERT_TRUE(host.ok()) << host.status();
  host_ = *std::move(host);
  router_ = host_->components().Find<Router>(kServiceName);
  ASSERT_NE(router_, nullptr);
}

void RouterTest::TearDown() {
  host_.reset();
  sim_a_.reset();
  sim_b_.reset();
}

absl::StatusOr<sluice::v1::ChatResponse> RouterTest::Route(
    const sluice::v1::ChatRequest& request) {
  absl::Notification done;
  absl::StatusOr<sluice::v1::ChatResponse> out =
      absl::DeadlineExceededError("no answer");
  router_->Route(Context(), request,
                 [&](absl::StatusOr<sluice::v1::ChatResponse> answer) {
                   out = std::move(answer);
                   done.Notify();
                 });
  if (!done.WaitForNotificationWithTimeout(kWait + absl::Seconds(5))) {
    ADD_FAILURE() << "Route() did not answer";
    std::abort();  // `out` and `done` would dangle
  }
  return out;
}

StreamResult RouterTest::Stream(const sluice::v1::ChatRequest& request) {
  Collector collector;
  sluice::v1::ChatRequest streamed = request;
  streamed.set_stream(true);
  router_->StreamRoute(Context(), std::move(streamed), &collector);
  if (!collector.done.WaitForNotificationWithTimeout(kWait + absl::Seconds(5))) {
    ADD_FAILURE() << "StreamRoute() did not end";
    std::abort();
  }
  return std::move(collector.result);
}

absl::StatusOr<sluice::v1::TokenCountResponse> RouterTest::CountTokens(
    const sluice::v1::TokenCountRequest& request) {
  absl::Notification done;
  absl::StatusOr<sluice::v1::TokenCountResponse> out =
      absl::DeadlineExceededError("no answer");
  router_->CountTokens(
      Context(), request,
      [&](absl::StatusOr<sluice::v1::TokenCountResponse> answer) {
        out = std::move(answer);
        done.Notify();
      });
  done.WaitForNotification();
  return out;
}

void RouterTest::QueueFaults(sim::Simulator& sim, const std::string& fault,
                             int count, int after) {
  sluice::testing::HttpAnswer answer = sluice::testing::HttpCall(
      "POST", absl::StrCat("http://127.0.0.1:", sim.port(), "/sim/faults"),
      {"content-type: application/json"},
      absl::StrCat(R"({"fault":")", fault, R"(","count":)", count,
                   after >= 0 ? absl::StrCat(R"(,"after":)", after) : "", "}"));
  ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
}

sluice::v1::ChatRequest RouterTest::Ask(const std::string& model,
                                        const std::string& question,
                                        const std::string& tenant) {
  sluice::v1::ChatRequest request;
  request.set_model(model);
  sluice::v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_text(question);
  request.mutable_context()->set_tenant(tenant);
  request.mutable_context()->set_request_id("test");
  return request;
}

}  // namespace sluice::router::testing

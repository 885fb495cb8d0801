#include "tests/services/router/router_fixture.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "libs/config/config_loader.h"
#include "tests/support/grpc_callback_queue.h"
#include "tests/support/http_test_client.h"

namespace sluice::router::testing {

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

  host_ = std::make_unique<host::ServiceHost>(
      absl::flat_hash_map<std::string, std::string>{});
  auto adapters = adapters::AdapterService::Create(config_, host_.get());
  ASSERT_TRUE(adapters.ok()) << adapters.status();
  adapters_ = *std::move(adapters);
  auto router = RouterService::Create(config_, host_.get());
  ASSERT_TRUE(router.ok()) << router.status();
  router_ = *std::move(router);
  host_->AddService("adapters", adapters_.get());
  host_->AddService("router", router_.get());
  host_->AddService("worker", &worker_);
  ASSERT_TRUE(host_->Start("127.0.0.1:0").ok());
  stub_ = sluice::v1::Router::NewStub(host_->ChannelFor("router"));
}

void RouterTest::TearDown() {
  if (host_ != nullptr) host_->Shutdown();
  stub_.reset();
  host_.reset();
  router_.reset();
  adapters_.reset();
  sim_a_.reset();
  sim_b_.reset();
}

absl::StatusOr<sluice::v1::ChatResponse> RouterTest::Route(
    const sluice::v1::ChatRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  sluice::v1::ChatResponse response;
  grpc::Status status = stub_->Route(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return response;
}

StreamResult RouterTest::Stream(const sluice::v1::ChatRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  StreamResult result;
  sluice::v1::ChatRequest streamed = request;
  streamed.set_stream(true);
  auto reader = stub_->StreamRoute(&context, streamed);
  sluice::v1::ChatChunk chunk;
  while (reader->Read(&chunk)) {
    for (const auto& choice : chunk.choices()) {
      absl::StrAppend(&result.text, choice.delta().reasoning_content(),
                      choice.delta().text());
    }
    result.chunks.push_back(chunk);
  }
  result.status = reader->Finish();
  return result;
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

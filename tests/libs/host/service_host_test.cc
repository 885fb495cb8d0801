// The service host gives the same answers whether a service is co-hosted
// (in-process channel) or remote (network channel).
#include "libs/host/service_host.h"

#include <memory>

#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "libs/host/grpc_context.h"
#include "services/adapters/adapter_service.h"
#include "sluice/v1/adapter.grpc.pb.h"
#include "tests/support/grpc_callback_queue.h"
#include "tools/upstream-sim/simulator.h"

namespace sluice::host {
namespace {

class ServiceHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::HoldGrpcCallbackQueue();
    auto sim = sim::Simulator::Start(sim::SimulatorOptions{});
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
    sluice::v1::Config config;
    auto* provider = config.add_providers();
    provider->set_name("sim");
    provider->set_kind(sluice::v1::PROVIDER_KIND_OPENAI);
    provider->set_base_url(absl::StrCat("http://127.0.0.1:", sim_->port(), "/v1"));
    auto adapters = adapters::AdapterService::Create(config);
    ASSERT_TRUE(adapters.ok()) << adapters.status();
    adapters_ = *std::move(adapters);
  }


  static absl::StatusOr<sluice::v1::ChatResponse> Call(ChannelProvider& host) {
    LazyStub<sluice::v1::Adapter> stub(&host, "adapters");
    if (stub.get() == nullptr) return absl::UnavailableError("no channel");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    sluice::v1::ChatResponse response;
    sluice::v1::AdapterRequest request;
    request.set_provider("sim");
    request.set_upstream_model("deepseek-chat");
    request.mutable_request()->set_model("deepseek-chat");
    auto* message = request.mutable_request()->add_messages();
    message->set_role("user");
    message->set_text("same answer either way?");
    grpc::Status status = stub.get()->Complete(&context, request, &response);
    if (!status.ok()) return absl::UnknownError(status.error_message());
    return response;
  }

  std::unique_ptr<sim::Simulator> sim_;
  std::unique_ptr<adapters::AdapterService> adapters_;
};

TEST_F(ServiceHostTest, InProcessAndNetworkChannelsGiveTheSameAnswer) {
  ServiceHost hosting({});
  hosting.AddService("adapters", adapters_.get());
  EXPECT_TRUE(hosting.Hosts("adapters"));
  // Before Start() there is no in-process channel yet.
  EXPECT_EQ(hosting.ChannelFor("adapters"), nullptr);
  ASSERT_TRUE(hosting.Start("127.0.0.1:0").ok());
  ASSERT_GT(hosting.port(), 0);

  ServiceHost remote({{"adapters", absl::StrCat("127.0.0.1:", hosting.port())}});
  ASSERT_TRUE(remote.Start("127.0.0.1:0").ok());
  EXPECT_FALSE(remote.Hosts("adapters"));

  absl::StatusOr<sluice::v1::ChatResponse> in_process = Call(hosting);
  absl::StatusOr<sluice::v1::ChatResponse> network = Call(remote);
  ASSERT_TRUE(in_process.ok()) << in_process.status();
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_FALSE(in_process->choices(0).message().text().empty());
  EXPECT_EQ(in_process->choices(0).message().text(),
            network->choices(0).message().text());
  EXPECT_EQ(in_process->route(), "sim/deepseek-chat");
  EXPECT_EQ(network->route(), in_process->route());
  EXPECT_EQ(in_process->usage().completion_tokens(),
            network->usage().completion_tokens());
}

TEST_F(ServiceHostTest, UnknownServiceHasNoChannel) {
  ServiceHost host({});
  ASSERT_TRUE(host.Start("127.0.0.1:0").ok());
  EXPECT_EQ(host.ChannelFor("router"), nullptr);
  LazyStub<sluice::v1::Adapter> stub(&host, "adapters");
  EXPECT_EQ(stub.get(), nullptr);
}

TEST(CallContextTest, RootContextCarriesRequestIdAndTraceparent) {
  // The metadata a root context sends is visible to a server as client
  // metadata: checked end to end through the integration tests; here the
  // deadline is set from the timeout.
  auto context = RootContext("req_1", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                             absl::Seconds(5));
  auto left = context->deadline() - std::chrono::system_clock::now();
  EXPECT_GT(left, std::chrono::seconds(3));
  EXPECT_LE(left, std::chrono::seconds(5));
}

}  // namespace
}  // namespace sluice::host

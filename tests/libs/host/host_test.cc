// A Host gives the same answers whether a component is co-hosted (a method
// call, no gRPC) or remote (a gRPC client on the internal listener), and
// the internal listener takes only calls that carry the shared secret.
#include "libs/host/host.h"

#include <atomic>
#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/obs/metrics.h"
#include "services/adapters/adapters.h"
#include "services/adapters/adapters_client.h"
#include "services/adapters/adapters_service.h"
#include "services/worker/worker_service.h"
#include "sluice/v1/adapter.grpc.pb.h"
#include "tests/support/grpc_callback_queue.h"
#include "tests/support/http_test_client.h"
#include "tools/upstream-sim/simulator.h"

namespace sluice::host {
namespace {

constexpr char kSecret[] = "host-test-secret";

double InternalCalls(const char* result) {
  return obs::MetricsRegistry::Default()
      .counter("sluice_internal_grpc_calls_total", "", {{"result", result}})
      .value();
}

sluice::v1::AdapterRequest Question() {
  sluice::v1::AdapterRequest request;
  request.set_provider("sim");
  request.set_upstream_model("deepseek-chat");
  request.mutable_request()->set_model("deepseek-chat");
  auto* message = request.mutable_request()->add_messages();
  message->set_role("user");
  message->set_text("same answer either way?");
  return request;
}

CallContextPtr Context() {
  return CallContext::Create({absl::Now() + absl::Seconds(20), "req_host"});
}

absl::StatusOr<sluice::v1::ChatResponse> Complete(adapters::Adapters& adapters) {
  absl::Notification done;
  absl::StatusOr<sluice::v1::ChatResponse> out = absl::UnknownError("none");
  adapters.Complete(Context(), Question(),
                    [&](absl::StatusOr<sluice::v1::ChatResponse> answer) {
                      out = std::move(answer);
                      done.Notify();
                    });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  return out;
}

class ChunkCounter final : public Sink<sluice::v1::ChatChunk> {
 public:
  bool Next(sluice::v1::ChatChunk chunk) override {
    for (const auto& choice : chunk.choices()) text += choice.delta().text();
    ++chunks;
    return true;
  }
  void Done(absl::Status s) override {
    status = std::move(s);
    done.Notify();
  }
  int chunks = 0;
  std::string text;
  absl::Status status;
  absl::Notification done;
};

class HostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sluice::testing::HoldGrpcCallbackQueue();
    setenv("SLUICE_INTERNAL_SECRET", kSecret, 1);
    auto sim = sim::Simulator::Start(sim::SimulatorOptions{});
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
    auto* provider = config_.add_providers();
    provider->set_name("sim");
    provider->set_kind(sluice::v1::PROVIDER_KIND_OPENAI);
    provider->set_base_url(
        absl::StrCat("http://127.0.0.1:", sim_->port(), "/v1"));
  }
  void TearDown() override { unsetenv("SLUICE_INTERNAL_SECRET"); }

  absl::StatusOr<std::unique_ptr<Host>> HostAdapters() {
    return Host::Start(config_, {{worker::WorkerServiceDefinition(),
                                  adapters::AdaptersServiceDefinition()},
                                 {}});
  }

  absl::StatusOr<std::unique_ptr<Host>> ReachAdapters(const Host& at) {
    sluice::v1::Config config = config_;
    auto* remote = config.add_remotes();
    remote->set_name("adapters");
    remote->set_address(absl::StrCat("127.0.0.1:", at.internal_port()));
    return Host::Start(config, {{}, {adapters::AdaptersClientDefinition()}});
  }

  std::unique_ptr<sim::Simulator> sim_;
  sluice::v1::Config config_;
};

TEST_F(HostTest, CoHostedAndRemoteComponentsGiveTheSameAnswer) {
  auto hosting = HostAdapters();
  ASSERT_TRUE(hosting.ok()) << hosting.status();
  ASSERT_GT((*hosting)->internal_port(), 0);
  EXPECT_EQ((*hosting)->public_port(), 0);  // nothing public to serve
  auto calling = ReachAdapters(**hosting);
  ASSERT_TRUE(calling.ok()) << calling.status();
  EXPECT_EQ((*calling)->internal_port(), 0);  // hosts nothing

  auto* local = (*hosting)->components().Find<adapters::Adapters>("adapters");
  auto* remote = (*calling)->components().Find<adapters::Adapters>("adapters");
  ASSERT_NE(local, nullptr);
  ASSERT_NE(remote, nullptr);
  EXPECT_NE(local, remote);

  double before = InternalCalls("ok");
  absl::StatusOr<sluice::v1::ChatResponse> direct = Complete(*local);
  // A co-hosted call never reaches the internal listener.
  EXPECT_EQ(InternalCalls("ok"), before);
  absl::StatusOr<sluice::v1::ChatResponse> network = Complete(*remote);
  EXPECT_EQ(InternalCalls("ok"), before + 1);
  ASSERT_TRUE(direct.ok()) << direct.status();
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_FALSE(direct->choices(0).message().text().empty());
  EXPECT_EQ(direct->choices(0).message().text(),
            network->choices(0).message().text());
  EXPECT_EQ(direct->route(), "sim/deepseek-chat");
  EXPECT_EQ(network->route(), direct->route());
  EXPECT_EQ(direct->usage().completion_tokens(),
            network->usage().completion_tokens());

  ChunkCounter direct_stream, remote_stream;
  local->StreamComplete(Context(), Question(), &direct_stream);
  remote->StreamComplete(Context(), Question(), &remote_stream);
  ASSERT_TRUE(direct_stream.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(remote_stream.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(direct_stream.status.ok()) << direct_stream.status;
  EXPECT_TRUE(remote_stream.status.ok()) << remote_stream.status;
  EXPECT_GT(direct_stream.chunks, 2);
  EXPECT_EQ(direct_stream.chunks, remote_stream.chunks);
  EXPECT_EQ(direct_stream.text, remote_stream.text);
}

TEST_F(HostTest, InternalCallsWithoutTheSecretAreRefused) {
  auto hosting = HostAdapters();
  ASSERT_TRUE(hosting.ok()) << hosting.status();
  auto stub = sluice::v1::Adapter::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*hosting)->internal_port()),
      grpc::InsecureChannelCredentials()));
  double refused = InternalCalls("unauthenticated");
  for (const char* secret : {"", "wrong", "host-test-secreT"}) {
    grpc::ClientContext context;
    if (*secret != '\0') context.AddMetadata("x-sluice-internal-auth", secret);
    sluice::v1::ChatResponse response;
    grpc::Status status = stub->Complete(&context, Question(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << "secret \"" << secret << "\": " << status.error_message();
  }
  {
    grpc::ClientContext context;  // a stream is refused the same way
    auto reader = stub->StreamComplete(&context, Question());
    sluice::v1::ChatChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(InternalCalls("unauthenticated"), refused + 4);
  EXPECT_EQ(sim_->stats().requests, 0);  // nothing reached the provider

  grpc::ClientContext context;
  context.AddMetadata("x-sluice-internal-auth", kSecret);
  sluice::v1::ChatResponse response;
  EXPECT_TRUE(stub->Complete(&context, Question(), &response).ok());
}

TEST_F(HostTest, CallingRemoteServicesNeedsTheSharedSecret) {
  auto hosting = HostAdapters();
  ASSERT_TRUE(hosting.ok()) << hosting.status();
  unsetenv("SLUICE_INTERNAL_SECRET");
  auto calling = ReachAdapters(**hosting);
  EXPECT_EQ(calling.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(calling.status().message().find("SLUICE_INTERNAL_SECRET"),
            std::string::npos);
}

TEST_F(HostTest, AnUnknownServiceIsAConfigError) {
  config_.add_services("nonesuch");
  auto hosting = HostAdapters();
  EXPECT_EQ(hosting.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HostTest, ShutdownCancelsCallsStillRunningAfterTheDrainTimeout) {
  sim::SimulatorOptions slow;
  slow.ttft = absl::Seconds(20);
  auto sim = sim::Simulator::Start(slow);
  ASSERT_TRUE(sim.ok());
  config_.mutable_providers(0)->set_base_url(
      absl::StrCat("http://127.0.0.1:", (*sim)->port(), "/v1"));
  config_.mutable_server()->mutable_drain_timeout()->set_nanos(200'000'000);
  auto hosting = HostAdapters();
  ASSERT_TRUE(hosting.ok()) << hosting.status();
  auto* local = (*hosting)->components().Find<adapters::Adapters>("adapters");
  ChunkCounter stream;
  local->StreamComplete(Context(), Question(), &stream);
  absl::Time start = absl::Now();
  (*hosting)->Shutdown();
  // The call ended (cancelled at the drain's deadline) before the host let
  // go of the adapters, and well before the upstream would have answered.
  ASSERT_TRUE(stream.done.HasBeenNotified());
  EXPECT_EQ(stream.status.code(), absl::StatusCode::kCancelled) << stream.status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  // A call after the drain is refused, not lost.
  hosting->reset();
}

// A remote name that resolves to several addresses (a headless Service, a
// scaled compose service) spreads its calls over all of them.
TEST_F(HostTest, CallsSpreadOverEveryAddressOfARemoteService) {
  auto other_sim = sim::Simulator::Start(sim::SimulatorOptions{});
  ASSERT_TRUE(other_sim.ok()) << other_sim.status();
  auto first = HostAdapters();
  ASSERT_TRUE(first.ok()) << first.status();
  config_.mutable_providers(0)->set_base_url(
      absl::StrCat("http://127.0.0.1:", (*other_sim)->port(), "/v1"));
  auto second = HostAdapters();
  ASSERT_TRUE(second.ok()) << second.status();

  sluice::v1::Config calling_config = config_;
  auto* remote = calling_config.add_remotes();
  remote->set_name("adapters");
  remote->set_address(absl::StrCat("ipv4:127.0.0.1:", (*first)->internal_port(),
                                   ",127.0.0.1:", (*second)->internal_port()));
  auto calling =
      Host::Start(calling_config, {{}, {adapters::AdaptersClientDefinition()}});
  ASSERT_TRUE(calling.ok()) << calling.status();
  auto* adapters =
      (*calling)->components().Find<adapters::Adapters>("adapters");
  ASSERT_NE(adapters, nullptr);
  // (Calls go to the addresses connected so far: the second may take a
  // few calls to join.)
  int calls = 0;
  while (calls < 100 && ((sim_->stats().requests == 0 ||
                          (*other_sim)->stats().requests == 0))) {
    absl::StatusOr<sluice::v1::ChatResponse> answer = Complete(*adapters);
    ASSERT_TRUE(answer.ok()) << answer.status();
    ++calls;
  }
  EXPECT_GT(sim_->stats().requests, 0);
  EXPECT_GT((*other_sim)->stats().requests, 0) << "after " << calls << " calls";
  EXPECT_EQ(sim_->stats().requests + (*other_sim)->stats().requests, calls);
}

using ::sluice::testing::HttpAnswer;
using ::sluice::testing::HttpCall;

// A service whose readiness the test sets, and which reads the host's
// /ready while it drains.
class ProbedService final : public HostedService {
 public:
  struct State {
    std::atomic<bool> ready{true};
    std::string ready_url;
    HttpAnswer while_draining;
  };
  explicit ProbedService(State* state) : state_(state) {}
  absl::Status Ready() const override {
    return state_->ready ? absl::OkStatus()
                         : absl::UnavailableError("its store is down");
  }
  void Drain(absl::Time) override {
    state_->while_draining = HttpCall("GET", state_->ready_url);
  }

 private:
  State* state_;
};

TEST_F(HostTest, MetricsListenerSaysWhetherTheHostedServicesAreReady) {
  ProbedService::State state;
  config_.mutable_server()->set_metrics_listen("127.0.0.1:0");
  auto hosting = Host::Start(
      config_, {{{"probed", /*uses_kafka=*/false,
                  [&state](HostEnvironment&)
                      -> absl::StatusOr<std::unique_ptr<HostedService>> {
                    return std::make_unique<ProbedService>(&state);
                  }}},
                {}});
  ASSERT_TRUE(hosting.ok()) << hosting.status();
  ASSERT_GT((*hosting)->metrics_port(), 0);
  const std::string base =
      absl::StrCat("http://127.0.0.1:", (*hosting)->metrics_port());
  state.ready_url = base + "/ready";

  HttpAnswer ready = HttpCall("GET", base + "/ready");
  EXPECT_EQ(ready.status, 200) << ready.error << ready.body;
  state.ready = false;
  HttpAnswer not_ready = HttpCall("GET", base + "/ready");
  EXPECT_EQ(not_ready.status, 503) << not_ready.error;
  EXPECT_NE(not_ready.body.find("probed: its store is down"), std::string::npos)
      << not_ready.body;
  // Metrics and liveness do not depend on it.
  EXPECT_EQ(HttpCall("GET", base + "/metrics").status, 200);
  EXPECT_EQ(HttpCall("GET", base + "/health").status, 200);
  state.ready = true;
  EXPECT_EQ(HttpCall("GET", base + "/ready").status, 200);

  // A draining process is taken out of load balancing at once.
  (*hosting)->Shutdown();
  EXPECT_EQ(state.while_draining.status, 503) << state.while_draining.error;
  EXPECT_NE(state.while_draining.body.find("not serving"), std::string::npos);
}

}  // namespace
}  // namespace sluice::host

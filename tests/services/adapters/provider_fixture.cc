// See provider_fixture.h.
#include "tests/services/adapters/provider_fixture.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

namespace sluice::adapters::testing {

host::CallContextPtr TestContext() {
  return host::CallContext::Create({absl::Now() + absl::Seconds(60)});
}

bool ChunkCollector::Next(sluice::v1::ChatChunk chunk) {
  absl::MutexLock lock(&mu_);
  chunks_.push_back(std::move(chunk));
  return true;
}

void ChunkCollector::Done(absl::Status status) {
  absl::MutexLock lock(&mu_);
  ++ends_;
  end_ = status;
}

absl::Status ChunkCollector::WaitEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return end_.has_value();
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ended), timeout)) {
    return absl::DeadlineExceededError("the stream did not end in time");
  }
  return *end_;
}

std::vector<sluice::v1::ChatChunk> ChunkCollector::chunks() const {
  absl::MutexLock lock(&mu_);
  return chunks_;
}

int ChunkCollector::ends() const {
  absl::MutexLock lock(&mu_);
  return ends_;
}

StreamText JoinDeltas(const std::vector<sluice::v1::ChatChunk>& chunks) {
  StreamText text;
  for (const auto& chunk : chunks) {
    for (const auto& choice : chunk.choices()) {
      absl::StrAppend(&text.content, choice.delta().text());
      absl::StrAppend(&text.reasoning, choice.delta().reasoning_content());
    }
  }
  return text;
}

void ProviderTest::SetUp() {
  auto client = upstream::HttpClient::Create();
  ASSERT_TRUE(client.ok()) << client.status();
  client_ = *std::move(client);
  StartSimulator(sim::SimulatorOptions{});
}

void ProviderTest::TearDown() {
  client_.reset();  // ends calls still running before the simulator goes
  sim_.reset();
}

void ProviderTest::StartSimulator(const sim::SimulatorOptions& options) {
  sim_.reset();
  auto sim = sim::Simulator::Start(options);
  ASSERT_TRUE(sim.ok()) << sim.status();
  sim_ = *std::move(sim);
}

std::string ProviderTest::BaseUrl() const {
  return absl::StrCat("http://127.0.0.1:", sim_->port(), "/v1");
}

sluice::v1::ProviderConfig ProviderTest::Config(
    sluice::v1::ProviderKind kind) const {
  sluice::v1::ProviderConfig config;
  config.set_name(kind == sluice::v1::PROVIDER_KIND_ANTHROPIC ? "anthropic"
                                                              : "openai");
  config.set_kind(kind);
  config.set_base_url(BaseUrl());
  return config;
}

void ProviderTest::QueueFault(const std::string& fault, int count) {
  upstream::HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", sim_->port(), "/sim/faults");
  request.headers = {{"content-type", "application/json"}};
  request.body =
      absl::StrCat(R"({"fault":")", fault, R"(","count":)", count, "}");
  absl::StatusOr<upstream::HttpResult> result =
      upstream::Fetch(*client_, std::move(request));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->status, 200) << result->body;
}

absl::StatusOr<sluice::v1::ChatResponse> ProviderTest::CompleteNow(
    Provider& provider, const sluice::v1::AdapterRequest& request) {
  absl::Notification done;
  absl::StatusOr<sluice::v1::ChatResponse> out =
      absl::DeadlineExceededError("Complete() did not answer in time");
  provider.Complete(TestContext(), request,
                    [&](absl::StatusOr<sluice::v1::ChatResponse> result) {
                      out = std::move(result);
                      done.Notify();
                    });
  if (!done.WaitForNotificationWithTimeout(kWait)) {
    // `out` and `done` would dangle: fail loudly rather than return.
    ADD_FAILURE() << "Complete() did not answer in time";
    std::abort();
  }
  return out;
}

}  // namespace sluice::adapters::testing

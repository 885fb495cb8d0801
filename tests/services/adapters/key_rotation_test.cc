// API key rotation in both providers against the simulator, which records
// the last 4 characters of each request's key: a key answered with 429 rests
// for its Retry-After while the other serves, then comes back.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/adapters/anthropic_provider.h"
#include "services/adapters/openai_provider.h"
#include "tests/services/adapters/provider_fixture.h"

namespace sluice::adapters::testing {
namespace {

constexpr char kKeyA[] = "sk-rotate-aaaa1111";
constexpr char kKeyB[] = "sk-rotate-bbbb2222";

class KeyRotationTest
    : public ProviderTest,
      public ::testing::WithParamInterface<sluice::v1::ProviderKind> {
 protected:
  void SetUp() override {
    ProviderTest::SetUp();
    setenv("SLUICE_TEST_ROTATE_A", kKeyA, 1);
    setenv("SLUICE_TEST_ROTATE_B", kKeyB, 1);
    unsetenv("SLUICE_TEST_ROTATE_UNSET");
    sluice::v1::ProviderConfig config = Config(GetParam());
    config.set_api_key_env("SLUICE_TEST_ROTATE_A");
    // A repeat and an unset variable are skipped: two keys in all.
    config.add_api_key_envs("SLUICE_TEST_ROTATE_B");
    config.add_api_key_envs("SLUICE_TEST_ROTATE_A");
    config.add_api_key_envs("SLUICE_TEST_ROTATE_UNSET");
    if (GetParam() == sluice::v1::PROVIDER_KIND_ANTHROPIC) {
      provider_ = std::make_unique<AnthropicProvider>(config, client_.get());
    } else {
      provider_ = std::make_unique<OpenAIProvider>(config, client_.get());
    }
  }

  sluice::v1::AdapterRequest Request() const {
    sluice::v1::AdapterRequest request;
    request.set_provider(Config(GetParam()).name());
    request.set_upstream_model("claude-sonnet-4-5");
    auto* user = request.mutable_request()->add_messages();
    user->set_role("user");
    user->set_text("hello");
    return request;
  }

  // Sends one request; returns the key suffix the simulator saw and its
  // status.
  sim::Arrival Send() {
    absl::StatusOr<sluice::v1::ChatResponse> response =
        CompleteNow(*provider_, Request());
    sim::Stats stats = sim_->stats();
    EXPECT_FALSE(stats.arrivals.empty());
    if (stats.arrivals.empty()) return {};
    sim::Arrival last = stats.arrivals.back();
    EXPECT_EQ(response.ok(), last.status == 200) << response.status();
    if (!response.ok()) {
      // Keys never leak into statuses.
      std::string text = response.status().ToString();
      EXPECT_EQ(text.find("aaaa1111"), std::string::npos) << text;
      EXPECT_EQ(text.find("bbbb2222"), std::string::npos) << text;
    }
    return last;
  }

  std::unique_ptr<Provider> provider_;
};

TEST_P(KeyRotationTest, KeysAlternateWhenNoneRests) {
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i) keys.push_back(Send().key);
  EXPECT_EQ(keys, (std::vector<std::string>{"1111", "2222", "1111", "2222"}));
}

TEST_P(KeyRotationTest, RateLimitedKeyRestsForItsRetryAfterThenReturns) {
  QueueFault("429");  // Retry-After: 1 (the simulator's default)
  sim::Arrival limited = Send();
  ASSERT_EQ(limited.status, 429);
  ASSERT_EQ(limited.key, "1111");

  // While the first key rests, every request uses the second one.
  for (int i = 0; i < 2; ++i) {
    sim::Arrival served = Send();
    EXPECT_EQ(served.status, 200);
    EXPECT_EQ(served.key, "2222");
  }

  // Polls until the first key serves again; that is after its rest.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  sim::Arrival back;
  while (absl::Now() < deadline) {
    back = Send();
    if (back.key == "1111") break;
    EXPECT_EQ(back.key, "2222");
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(back.key, "1111");
  EXPECT_EQ(back.status, 200);
  EXPECT_GE(back.ms - limited.ms, 900);  // ~1 s rest, less clock slack
}

TEST_P(KeyRotationTest, AllKeysRestingUsesTheOneFreeSoonest) {
  QueueFault("429", 2);
  ASSERT_EQ(Send().key, "1111");  // rests until ~t+1s
  ASSERT_EQ(Send().key, "2222");  // rests until ~t+1s, a little later
  sim::Arrival next = Send();
  EXPECT_EQ(next.key, "1111");
  EXPECT_EQ(next.status, 200);
}

TEST_P(KeyRotationTest, StreamedRateLimitAlsoRestsTheKey) {
  QueueFault("429");
  ChunkCollector sink;
  provider_->Stream(TestContext(), Request(), &sink);
  absl::Status end = sink.WaitEnd();
  EXPECT_EQ(end.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(end.ToString().find("aaaa1111"), std::string::npos);
  ASSERT_EQ(sim_->stats().arrivals.back().key, "1111");
  // Round-robin alone would also give the second key next; the third
  // request shows the first one is resting.
  EXPECT_EQ(Send().key, "2222");
  EXPECT_EQ(Send().key, "2222");
}

INSTANTIATE_TEST_SUITE_P(
    Providers, KeyRotationTest,
    ::testing::Values(sluice::v1::PROVIDER_KIND_OPENAI,
                      sluice::v1::PROVIDER_KIND_ANTHROPIC),
    [](const ::testing::TestParamInfo<sluice::v1::ProviderKind>& info) {
      return std::string(info.param == sluice::v1::PROVIDER_KIND_ANTHROPIC
                             ? "Anthropic"
                             : "OpenAI");
    });

}  // namespace
}  // namespace sluice::adapters::testing

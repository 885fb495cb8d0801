// AdaptersImpl against the in-process upstream simulator: a provider whose
// error quotes the API key we sent it (the simulator's echo-key fault, as
// some providers' 401s do) is passed on with the key masked, unary and
// streamed, for both provider families.
#include "services/adapters/adapters_impl.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/status/errors.h"
#include "tests/services/adapters/provider_fixture.h"

namespace sluice::adapters::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKeyEnv[] = "SLUICE_TEST_ADAPTERS_KEY";
// A key no prefix rule recognizes (not "sk-...").
constexpr char kKey[] = "gsk_adaptersTestKey0123456789";

class AdaptersImplTest : public ProviderTest {
 protected:
  void SetUp() override {
    ProviderTest::SetUp();
    setenv(kKeyEnv, kKey, 1);
    sim::SimulatorOptions options;
    options.required_api_key = kKey;
    StartSimulator(options);
    sluice::v1::Config config;
    for (auto kind : {sluice::v1::PROVIDER_KIND_OPENAI,
                      sluice::v1::PROVIDER_KIND_ANTHROPIC}) {
      *config.add_providers() = Config(kind);
      config.mutable_providers()->rbegin()->set_api_key_env(kKeyEnv);
    }
    auto adapters = AdaptersImpl::Create(config);
    ASSERT_TRUE(adapters.ok()) << adapters.status();
    adapters_ = *std::move(adapters);
  }

  void TearDown() override {
    adapters_.reset();
    ProviderTest::TearDown();
  }

  static sluice::v1::AdapterRequest Request(const std::string& provider,
                                            const std::string& words) {
    sluice::v1::AdapterRequest request;
    request.set_provider(provider);
    request.set_upstream_model(provider == "anthropic" ? "claude-sonnet-4-5"
                                                       : "deepseek-chat");
    auto* chat = request.mutable_request();
    chat->set_model(request.upstream_model());
    auto* user = chat->add_messages();
    user->set_role("user");
    user->set_text(words);
    return request;
  }

  absl::StatusOr<sluice::v1::ChatResponse> Complete(
      sluice::v1::AdapterRequest request) {
    absl::Notification done;
    absl::StatusOr<sluice::v1::ChatResponse> out =
        absl::DeadlineExceededError("no answer");
    adapters_->Complete(TestContext(), std::move(request),
                        [&](absl::StatusOr<sluice::v1::ChatResponse> result) {
                          out = std::move(result);
                          done.Notify();
                        });
    if (!done.WaitForNotificationWithTimeout(kWait)) {
      ADD_FAILURE() << "Complete() did not answer in time";
      std::abort();  // `out` and `done` would dangle
    }
    return out;
  }

  static void ExpectMasked(const absl::Status& status) {
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("Incorrect API key provided: ***"));
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kKey)));
    sluice::v1::Error error = status::ErrorFromStatus(status);
    EXPECT_THAT(error.message(), Not(HasSubstr(kKey)));
    EXPECT_EQ(error.http_status(), 502);
  }

  std::unique_ptr<AdaptersImpl> adapters_;
};

TEST_F(AdaptersImplTest, ProviderErrorsQuotingOurKeyLeaveWithTheKeyMasked) {
  for (const std::string provider : {"openai", "anthropic"}) {
    SCOPED_TRACE(provider);
    // The key works (the simulator refuses any other)...
    EXPECT_TRUE(Complete(Request(provider, "hello")).ok());
    // ...and comes back in the provider's error, masked.
    ExpectMasked(Complete(Request(provider, "x-sim-fault=echo-key")).status());
    sluice::v1::AdapterRequest streamed =
        Request(provider, "x-sim-fault=echo-key");
    streamed.mutable_request()->set_stream(true);
    ChunkCollector collector;
    adapters_->StreamComplete(TestContext(), std::move(streamed), &collector);
    ExpectMasked(collector.WaitEnd());
  }
}

}  // namespace
}  // namespace sluice::adapters::testing

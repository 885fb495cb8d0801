// HealthBoard: circuit breaker transitions, rest after 429, latency stats,
// slow flag, error rate and the circuit metrics. Time is passed in, so
// nothing sleeps.
#include "services/router/candidate_health.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "libs/obs/metrics.h"

namespace sluice::router {
namespace {

const std::string kRoute = "sim/model-a";

class HealthBoardTest : public ::testing::Test {
 protected:
  HealthOptions Options() {
    HealthOptions options;
    options.failure_threshold = 3;
    options.window = absl::Seconds(10);
    options.cooldown = absl::Seconds(20);
    return options;
  }

  // Opens kRoute's circuit at t0_.
  void Open(HealthBoard& board) {
    for (int i = 0; i < 3; ++i) board.RecordFailure(kRoute, t0_);
    ASSERT_EQ(board.State(kRoute, t0_), CircuitState::kOpen);
  }

  double StateGauge() {
    return registry_
        .gauge("sluice_provider_circuit_state", "",
               {{"provider", "sim"}, {"model", "model-a"}})
        .value();
  }

  obs::MetricsRegistry registry_;
  absl::Time t0_ = absl::FromUnixSeconds(1'700'000'000);
};

TEST_F(HealthBoardTest, OpensAfterThresholdFailuresWithinWindow) {
  HealthBoard board(Options(), &registry_);
  board.RecordFailure(kRoute, t0_);
  board.RecordFailure(kRoute, t0_ + absl::Seconds(4));
  EXPECT_EQ(board.State(kRoute, t0_ + absl::Seconds(4)), CircuitState::kClosed);
  EXPECT_TRUE(board.Admit(kRoute, t0_ + absl::Seconds(4)));
  board.RecordFailure(kRoute, t0_ + absl::Seconds(9));
  EXPECT_EQ(board.State(kRoute, t0_ + absl::Seconds(9)), CircuitState::kOpen);
  std::string why;
  EXPECT_FALSE(board.Admit(kRoute, t0_ + absl::Seconds(9), &why));
  EXPECT_EQ(why, "open_circuit");
}

TEST_F(HealthBoardTest, FailuresSpreadBeyondWindowDoNotOpen) {
  HealthBoard board(Options(), &registry_);
  absl::Time t = t0_;
  for (int i = 0; i < 10; ++i, t += absl::Seconds(6)) {
    board.RecordFailure(kRoute, t);
    EXPECT_EQ(board.State(kRoute, t), CircuitState::kClosed) << i;
  }
  EXPECT_TRUE(board.Admit(kRoute, t));
}

TEST_F(HealthBoardTest, StaysOpenDuringCooldownThenAdmitsOneProbe) {
  HealthBoard board(Options(), &registry_);
  Open(board);
  EXPECT_FALSE(board.Admit(kRoute, t0_ + absl::Seconds(1)));
  EXPECT_FALSE(board.Admit(kRoute, t0_ + absl::Seconds(19)));
  EXPECT_FALSE(board.WouldAdmit(kRoute, t0_ + absl::Seconds(19)));
  EXPECT_EQ(board.State(kRoute, t0_ + absl::Seconds(19)), CircuitState::kOpen);

  absl::Time later = t0_ + absl::Seconds(20);
  EXPECT_EQ(board.State(kRoute, later), CircuitState::kHalfOpen);
  EXPECT_TRUE(board.WouldAdmit(kRoute, later));
  EXPECT_TRUE(board.Admit(kRoute, later));  // the probe
  std::string why;
  EXPECT_FALSE(board.Admit(kRoute, later, &why));
  EXPECT_EQ(why, "half_open_probe_busy");
  EXPECT_FALSE(board.WouldAdmit(kRoute, later + absl::Seconds(1)));
  EXPECT_FALSE(board.Admit(kRoute, later + absl::Seconds(1)));
}

TEST_F(HealthBoardTest, ConcurrentCallersGetExactlyOneProbe) {
  HealthBoard board(Options(), &registry_);
  Open(board);
  absl::Time later = t0_ + absl::Seconds(20);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        if (board.Admit(kRoute, later)) ++admitted;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1);
}

TEST_F(HealthBoardTest, ProbeSuccessCloses) {
  HealthBoard board(Options(), &registry_);
  Open(board);
  absl::Time later = t0_ + absl::Seconds(20);
  ASSERT_TRUE(board.Admit(kRoute, later));
  board.RecordSuccess(kRoute, absl::Milliseconds(50), later);
  EXPECT_EQ(board.State(kRoute, later), CircuitState::kClosed);
  EXPECT_TRUE(board.Admit(kRoute, later));
  EXPECT_TRUE(board.Admit(kRoute, later));
  // Failures from before it opened no longer count: it takes a full
  // threshold's worth again.
  board.RecordFailure(kRoute, later);
  board.RecordFailure(kRoute, later);
  EXPECT_EQ(board.State(kRoute, later), CircuitState::kClosed);
}

TEST_F(HealthBoardTest, ProbeFailureReopensForFullCooldown) {
  HealthBoard board(Options(), &registry_);
  Open(board);
  absl::Time probe = t0_ + absl::Seconds(25);
  ASSERT_TRUE(board.Admit(kRoute, probe));
  board.RecordFailure(kRoute, probe);
  EXPECT_EQ(board.State(kRoute, probe), CircuitState::kOpen);
  EXPECT_FALSE(board.Admit(kRoute, probe + absl::Seconds(19)));
  EXPECT_EQ(board.State(kRoute, probe + absl::Seconds(19)),
            CircuitState::kOpen);
  EXPECT_TRUE(board.Admit(kRoute, probe + absl::Seconds(20)));
}

TEST_F(HealthBoardTest, LostProbeFreesTheSlotAfterACooldown) {
  HealthBoard board(Options(), &registry_);
  Open(board);
  absl::Time probe = t0_ + absl::Seconds(20);
  ASSERT_TRUE(board.Admit(kRoute, probe));
  EXPECT_FALSE(board.Admit(kRoute, probe + absl::Seconds(19)));
  EXPECT_TRUE(board.Admit(kRoute, probe + absl::Seconds(20)));
}

TEST_F(HealthBoardTest, RestAfter429BlocksUntilTheTime) {
  HealthBoard board(Options(), &registry_);
  board.Rest(kRoute, t0_ + absl::Seconds(5));
  std::string why;
  EXPECT_FALSE(board.Admit(kRoute, t0_, &why));
  EXPECT_EQ(why, "resting");
  EXPECT_TRUE(board.Resting(kRoute, t0_ + absl::Seconds(4)));
  EXPECT_FALSE(board.WouldAdmit(kRoute, t0_ + absl::Seconds(4)));
  EXPECT_EQ(board.State(kRoute, t0_), CircuitState::kClosed);
  EXPECT_FALSE(board.Resting(kRoute, t0_ + absl::Seconds(5)));
  EXPECT_TRUE(board.Admit(kRoute, t0_ + absl::Seconds(5)));
  // An earlier rest does not shorten a later one.
  board.Rest(kRoute, t0_ + absl::Seconds(30));
  board.Rest(kRoute, t0_ + absl::Seconds(10));
  EXPECT_FALSE(board.Admit(kRoute, t0_ + absl::Seconds(20)));
}

TEST_F(HealthBoardTest, EwmaMovesTowardNewSamples) {
  HealthBoard board(Options(), &registry_);
  EXPECT_EQ(board.LatencyEwmaMs(kRoute), std::nullopt);
  board.RecordSuccess(kRoute, absl::Milliseconds(100), t0_);
  ASSERT_TRUE(board.LatencyEwmaMs(kRoute).has_value());
  EXPECT_DOUBLE_EQ(*board.LatencyEwmaMs(kRoute), 100);
  board.RecordSuccess(kRoute, absl::Milliseconds(200), t0_);
  EXPECT_DOUBLE_EQ(*board.LatencyEwmaMs(kRoute), 0.3 * 200 + 0.7 * 100);
  double before = *board.LatencyEwmaMs(kRoute);
  for (int i = 0; i < 50; ++i) {
    board.RecordSuccess(kRoute, absl::Milliseconds(10), t0_);
  }
  EXPECT_LT(*board.LatencyEwmaMs(kRoute), before);
  EXPECT_NEAR(*board.LatencyEwmaMs(kRoute), 10, 0.01);
}

TEST_F(HealthBoardTest, P95OfKnownSamples) {
  HealthBoard board(Options(), &registry_);
  for (int ms = 1; ms <= 4; ++ms) {
    board.RecordSuccess(kRoute, absl::Milliseconds(ms), t0_);
  }
  EXPECT_EQ(board.LatencyP95(kRoute), std::nullopt);  // below 5 samples
  // 1..100 ms shuffled by a fixed stride: p95 (nearest rank) is 95 ms.
  HealthBoard full(Options(), &registry_);
  for (int i = 0; i < 100; ++i) {
    full.RecordSuccess(kRoute, absl::Milliseconds((i * 37) % 100 + 1), t0_);
  }
  EXPECT_EQ(full.LatencyP95(kRoute), absl::Milliseconds(95));
  // Only the last 100 count: 100 more at 1 s replace them all.
  for (int i = 0; i < 100; ++i) {
    full.RecordSuccess(kRoute, absl::Seconds(1), t0_);
  }
  EXPECT_EQ(full.LatencyP95(kRoute), absl::Seconds(1));
}

TEST_F(HealthBoardTest, SlowWhileP95AboveThresholdForSlowCooldown) {
  HealthOptions options = Options();
  options.p95_threshold = absl::Milliseconds(500);
  options.slow_cooldown = absl::Seconds(15);
  HealthBoard board(options, &registry_);
  for (int i = 0; i < 10; ++i) {
    board.RecordSuccess(kRoute, absl::Milliseconds(100), t0_);
  }
  EXPECT_FALSE(board.Slow(kRoute, t0_));
  absl::Time t = t0_;
  for (int i = 0; i < 2; ++i) {
    t += absl::Seconds(1);
    board.RecordSuccess(kRoute, absl::Seconds(2), t);
  }
  EXPECT_TRUE(board.Slow(kRoute, t));
  EXPECT_TRUE(board.Slow(kRoute, t + absl::Seconds(14)));
  EXPECT_FALSE(board.Slow(kRoute, t + absl::Seconds(15)));
  // Slow does not touch the breaker.
  EXPECT_TRUE(board.Admit(kRoute, t));
}

TEST_F(HealthBoardTest, SlowIsOffWithoutThreshold) {
  HealthBoard board(Options(), &registry_);
  for (int i = 0; i < 10; ++i) {
    board.RecordSuccess(kRoute, absl::Seconds(30), t0_);
  }
  EXPECT_FALSE(board.Slow(kRoute, t0_));
}

TEST_F(HealthBoardTest, ErrorRateOverWindow) {
  HealthBoard board(Options(), &registry_);
  EXPECT_EQ(board.ErrorRate(kRoute, t0_), 0);
  for (int i = 0; i < 3; ++i) {
    board.RecordSuccess(kRoute, absl::Milliseconds(10), t0_);
  }
  board.RecordFailure(kRoute, t0_);
  EXPECT_DOUBLE_EQ(board.ErrorRate(kRoute, t0_), 0.25);
  // A window later the old attempts have aged out.
  absl::Time later = t0_ + absl::Seconds(11);
  EXPECT_EQ(board.ErrorRate(kRoute, later), 0);
  board.RecordFailure(kRoute, later);
  EXPECT_DOUBLE_EQ(board.ErrorRate(kRoute, later), 1);
}

TEST_F(HealthBoardTest, MetricsFollowTheState) {
  HealthBoard board(Options(), &registry_);
  board.RecordSuccess(kRoute, absl::Milliseconds(10), t0_);
  EXPECT_EQ(StateGauge(), 0);
  Open(board);
  EXPECT_EQ(StateGauge(), 2);
  ASSERT_TRUE(board.Admit(kRoute, t0_ + absl::Seconds(20)));
  EXPECT_EQ(StateGauge(), 1);
  board.RecordFailure(kRoute, t0_ + absl::Seconds(20));
  EXPECT_EQ(StateGauge(), 2);
  ASSERT_TRUE(board.Admit(kRoute, t0_ + absl::Seconds(40)));
  board.RecordSuccess(kRoute, absl::Milliseconds(10), t0_ + absl::Seconds(40));
  EXPECT_EQ(StateGauge(), 0);

  std::string text = registry_.RenderPrometheusText();
  EXPECT_NE(text.find("sluice_provider_circuit_state{model=\"model-a\","
                      "provider=\"sim\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_provider_circuit_opens_total{model=\"model-a\","
                      "provider=\"sim\"} 2\n"),
            std::string::npos)
      << text;
}

TEST_F(HealthBoardTest, RouteSplitsAtFirstSlash) {
  HealthBoard board(Options(), &registry_);
  board.RecordSuccess("hf/meta-llama/Llama-3", absl::Milliseconds(1), t0_);
  EXPECT_NE(registry_.RenderPrometheusText().find(
                "{model=\"meta-llama/Llama-3\",provider=\"hf\"}"),
            std::string::npos);
}

TEST(HealthOptionsTest, FromConfigKeepsDefaultsForZeroFields) {
  sluice::v1::CircuitBreakerConfig config;
  config.set_failure_threshold(7);
  config.mutable_cooldown()->set_seconds(5);
  config.mutable_p95_threshold()->set_nanos(250'000'000);
  HealthOptions options = HealthOptions::FromConfig(config);
  EXPECT_EQ(options.failure_threshold, 7);
  EXPECT_EQ(options.window, absl::Seconds(30));
  EXPECT_EQ(options.cooldown, absl::Seconds(5));
  EXPECT_EQ(options.p95_threshold, absl::Milliseconds(250));
  EXPECT_EQ(options.slow_cooldown, absl::Seconds(30));
  EXPECT_EQ(options.ewma_alpha, 0.3);
}

}  // namespace
}  // namespace sluice::router

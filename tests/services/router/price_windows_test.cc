// Price windows: the prices in force at a time of day (start inclusive, end
// exclusive, past midnight when the end is not after the start), the
// highest prices for reservations, the config check, and the cheapest start
// of a batch that may wait.
#include "services/router/price_windows.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/config/config_loader.h"

namespace sluice::router {
namespace {

using ::testing::HasSubstr;

// 2025-03-10 (a Monday) at hh:mm:ss UTC, plus `days`.
absl::Time At(int hh, int mm, int ss = 0, int days = 0) {
  return absl::FromCivil(absl::CivilSecond(2025, 3, 10 + days, hh, mm, ss),
                         absl::UTCTimeZone());
}

void AddWindow(sluice::v1::ModelSpec& spec, const std::string& start,
               const std::string& end, double input, double output,
               double cached_input = 0) {
  sluice::v1::PriceWindow* window = spec.add_price_windows();
  window->set_start(start);
  window->set_end(end);
  window->set_input_usd_per_mtok(input);
  window->set_output_usd_per_mtok(output);
  window->set_cached_input_usd_per_mtok(cached_input);
}

// DeepSeek: off-peak 16:30–00:30 UTC at half price.
sluice::v1::ModelSpec DeepSeek() {
  sluice::v1::ModelSpec spec;
  spec.set_provider("deepseek");
  spec.set_model("deepseek-chat");
  spec.set_input_usd_per_mtok(0.28);
  spec.set_output_usd_per_mtok(0.42);
  spec.set_cached_input_usd_per_mtok(0.028);
  AddWindow(spec, "16:30", "00:30", 0.14, 0.21, 0.014);
  return spec;
}

// Reasoning at the output price: neither the spec nor its window has one.
const TokenPrices kPeak = {0.28, 0.42, 0.028, 0.42};
const TokenPrices kOffPeak = {0.14, 0.21, 0.014, 0.21};

TEST(PriceWindowsTest, OutsideEveryWindowTheSpecsPricesApply) {
  sluice::v1::ModelSpec spec = DeepSeek();
  EXPECT_EQ(PricesAt(spec, At(10, 0)), kPeak);
  EXPECT_EQ(PricesAt(spec, At(0, 45)), kPeak);
  EXPECT_EQ(PricesAt(spec, At(16, 29, 59)), kPeak);
}

TEST(PriceWindowsTest, AWindowRunsPastMidnight) {
  sluice::v1::ModelSpec spec = DeepSeek();
  EXPECT_EQ(PricesAt(spec, At(18, 0)), kOffPeak);
  EXPECT_EQ(PricesAt(spec, At(23, 59, 59)), kOffPeak);
  EXPECT_EQ(PricesAt(spec, At(0, 0)), kOffPeak);
  EXPECT_EQ(PricesAt(spec, At(0, 29, 59)), kOffPeak);
}

TEST(PriceWindowsTest, StartIsInsideAndEndIsOutside) {
  sluice::v1::ModelSpec spec = DeepSeek();
  EXPECT_EQ(PricesAt(spec, At(16, 30)), kOffPeak);
  EXPECT_EQ(PricesAt(spec, At(16, 30) - absl::Nanoseconds(1)), kPeak);
  EXPECT_EQ(PricesAt(spec, At(0, 30)), kPeak);
  EXPECT_EQ(PricesAt(spec, At(0, 30) - absl::Nanoseconds(1)), kOffPeak);
}

TEST(PriceWindowsTest, AWindowWithinOneDay) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(2);
  spec.set_output_usd_per_mtok(4);
  AddWindow(spec, "02:00", "04:00", 1, 3);
  EXPECT_EQ(PricesAt(spec, At(1, 59)), (TokenPrices{2, 4, 2, 4}));
  EXPECT_EQ(PricesAt(spec, At(2, 0)), (TokenPrices{1, 3, 1, 3}));
  EXPECT_EQ(PricesAt(spec, At(4, 0)), (TokenPrices{2, 4, 2, 4}));
  EXPECT_EQ(PricesAt(spec, At(20, 0)), (TokenPrices{2, 4, 2, 4}));
}

TEST(PriceWindowsTest, ACachedPriceOfZeroIsTheInputPriceOfTheSameWindow) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(2);
  spec.set_output_usd_per_mtok(4);
  AddWindow(spec, "02:00", "04:00", 1, 3);
  EXPECT_EQ(PricesAt(spec, At(3, 0)).cached_input_usd_per_mtok, 1);
  EXPECT_EQ(PricesAt(spec, At(5, 0)).cached_input_usd_per_mtok, 2);
}

TEST(PriceWindowsTest, AReasoningPriceOfZeroIsTheOutputPriceOfTheSameWindow) {
  sluice::v1::ModelSpec spec;
  spec.set_output_usd_per_mtok(4);
  spec.set_reasoning_usd_per_mtok(6);
  AddWindow(spec, "02:00", "04:00", 1, 3);
  EXPECT_EQ(PricesAt(spec, At(3, 0)).reasoning_usd_per_mtok, 3);
  EXPECT_EQ(PricesAt(spec, At(5, 0)).reasoning_usd_per_mtok, 6);
  spec.mutable_price_windows(0)->set_reasoning_usd_per_mtok(5);
  EXPECT_EQ(PricesAt(spec, At(3, 0)).reasoning_usd_per_mtok, 5);
  EXPECT_EQ(HighestPrices(spec).reasoning_usd_per_mtok, 6);
}

TEST(PriceWindowsTest, TheFirstWindowThatHoldsTheTimeWins) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(4);
  spec.set_output_usd_per_mtok(4);
  AddWindow(spec, "10:00", "12:00", 1, 1);
  AddWindow(spec, "11:00", "13:00", 2, 2);
  EXPECT_EQ(PricesAt(spec, At(11, 30)).input_usd_per_mtok, 1);
  EXPECT_EQ(PricesAt(spec, At(12, 30)).input_usd_per_mtok, 2);
}

TEST(PriceWindowsTest, TimesBeforeTheEpochAndInfiniteOnes) {
  sluice::v1::ModelSpec spec = DeepSeek();
  absl::Time before_epoch = absl::FromCivil(
      absl::CivilMinute(1969, 12, 31, 18, 0), absl::UTCTimeZone());
  EXPECT_EQ(PricesAt(spec, before_epoch), kOffPeak);
  EXPECT_EQ(PricesAt(spec, absl::InfiniteFuture()), kPeak);
}

TEST(PriceWindowsTest, HighestPricesArePerComponentOverSpecAndWindows) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(1);
  spec.set_output_usd_per_mtok(8);
  spec.set_cached_input_usd_per_mtok(0.1);
  // A peak surcharge on input; its cached price is its input price.
  AddWindow(spec, "08:00", "10:00", 3, 2);
  AddWindow(spec, "20:00", "22:00", 0.5, 9, 0.2);
  EXPECT_EQ(HighestPrices(spec), (TokenPrices{3, 9, 3, 9}));
  EXPECT_EQ(HighestPrices(DeepSeek()), kPeak);
}

TEST(PriceWindowsTest, WellFormedWindowsAreValid) {
  EXPECT_TRUE(ValidatePriceWindows(DeepSeek()).ok());
  sluice::v1::ModelSpec spec = DeepSeek();
  AddWindow(spec, "00:00", "23:59", 0, 0);  // free is a price
  EXPECT_TRUE(ValidatePriceWindows(spec).ok());
}

TEST(PriceWindowsTest, ValidationNamesTheModelAndTheField) {
  sluice::v1::ModelSpec spec = DeepSeek();
  spec.mutable_price_windows(0)->set_start("25:00");
  absl::Status status = ValidatePriceWindows(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "model \"deepseek/deepseek-chat\": price_windows[0].start: "
            "expected \"HH:MM\" in UTC (00:00 to 23:59), got \"25:00\"");

  for (const char* bad :
       {"", "9:30", "24:00", "12:60", "ab:cd", "12-30", "12:300", " 12:30"}) {
    spec = DeepSeek();
    AddWindow(spec, "01:00", bad, 1, 1);
    EXPECT_THAT(ValidatePriceWindows(spec).message(),
                HasSubstr("price_windows[1].end: expected \"HH:MM\""))
        << bad;
  }
}

TEST(PriceWindowsTest, AnEmptyWindowIsInvalid) {
  sluice::v1::ModelSpec spec = DeepSeek();
  spec.mutable_price_windows(0)->set_end("16:30");
  EXPECT_EQ(ValidatePriceWindows(spec).message(),
            "model \"deepseek/deepseek-chat\": price_windows[0].end: equals "
            "start (\"16:30\"): a window must not be empty or the whole day");
}

TEST(PriceWindowsTest, NegativeWindowPricesAreInvalid) {
  sluice::v1::ModelSpec spec = DeepSeek();
  spec.mutable_price_windows(0)->set_input_usd_per_mtok(-1);
  EXPECT_THAT(ValidatePriceWindows(spec).message(),
              HasSubstr("price_windows[0].input_usd_per_mtok: must not be "
                        "negative"));
  spec = DeepSeek();
  spec.mutable_price_windows(0)->set_output_usd_per_mtok(-0.5);
  EXPECT_THAT(ValidatePriceWindows(spec).message(),
              HasSubstr("price_windows[0].output_usd_per_mtok"));
  spec = DeepSeek();
  spec.mutable_price_windows(0)->set_cached_input_usd_per_mtok(-0.01);
  EXPECT_THAT(ValidatePriceWindows(spec).message(),
              HasSubstr("price_windows[0].cached_input_usd_per_mtok"));
}

// What `sluice serve` reads: a bad window fails the config with its line.
std::string ConfigYaml(const std::string& end) {
  return absl::StrCat(
      "providers:\n"
      "  - {name: deepseek, kind: openai, base_url: http://deepseek}\n"
      "models:\n"
      "  - provider: deepseek\n"
      "    model: deepseek-chat\n"
      "    input_usd_per_mtok: 0.28\n"
      "    output_usd_per_mtok: 0.42\n"
      "    price_windows:\n"
      "      - start: 16:30\n"
      "        end: \"",
      end,
      "\"\n"
      "        input_usd_per_mtok: 0.14\n"
      "        output_usd_per_mtok: 0.21\n");
}

TEST(PriceWindowsTest, TheConfigLoaderChecksWindows) {
  absl::StatusOr<sluice::v1::Config> good =
      config::ParseConfig(ConfigYaml("00:30"), "config.yaml");
  ASSERT_TRUE(good.ok()) << good.status();
  // An unquoted 16:30 stays the string it reads as.
  EXPECT_EQ(good->models(0).price_windows(0).start(), "16:30");
  EXPECT_EQ(PricesAt(good->models(0), At(17, 0)).input_usd_per_mtok, 0.14);

  absl::StatusOr<sluice::v1::Config> bad =
      config::ParseConfig(ConfigYaml("0:30"), "config.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("config.yaml:10:14: models[0].price_windows[0].end: "
                        "expected \"HH:MM\" in UTC (00:00 to 23:59), got "
                        "\"0:30\""));
}

TEST(CheapestStartTest, AtPeakTheNextOffPeakStart) {
  sluice::v1::ModelSpec spec = DeepSeek();
  EXPECT_EQ(CheapestStart({&spec}, At(10, 0), At(23, 0)), At(16, 30));
  // The boundary itself is in range.
  EXPECT_EQ(CheapestStart({&spec}, At(10, 0), At(16, 30)), At(16, 30));
  // A range of days: the first off-peak start.
  EXPECT_EQ(CheapestStart({&spec}, At(1, 0), At(1, 0, 0, 3)), At(16, 30));
  EXPECT_EQ(CheapestStart({&spec}, At(1, 0), absl::InfiniteFuture()),
            At(16, 30));
}

TEST(CheapestStartTest, AlreadyOffPeakStartsNow) {
  sluice::v1::ModelSpec spec = DeepSeek();
  EXPECT_EQ(CheapestStart({&spec}, At(18, 0), At(12, 0, 0, 1)), At(18, 0));
  EXPECT_EQ(CheapestStart({&spec}, At(0, 10), At(23, 0)), At(0, 10));
}

TEST(CheapestStartTest, AnOffPeakStartAfterLatestIsNoUse) {
  sluice::v1::ModelSpec spec = DeepSeek();
  EXPECT_EQ(CheapestStart({&spec}, At(10, 0), At(16, 0)), At(10, 0));
  EXPECT_EQ(CheapestStart({&spec}, At(10, 0), At(16, 29, 59)), At(10, 0));
}

TEST(CheapestStartTest, LatestBeforeEarliestIsEarliest) {
  sluice::v1::ModelSpec spec = DeepSeek();
  EXPECT_EQ(CheapestStart({&spec}, At(10, 0), At(9, 0)), At(10, 0));
  EXPECT_EQ(CheapestStart({&spec}, At(10, 0), At(10, 0)), At(10, 0));
}

TEST(CheapestStartTest, WithoutWindowsNowIsAsCheapAsEver) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(1);
  EXPECT_EQ(CheapestStart({&spec, nullptr}, At(10, 0), At(10, 0, 0, 2)),
            At(10, 0));
  EXPECT_EQ(CheapestStart({}, At(10, 0), At(10, 0, 0, 2)), At(10, 0));
}

TEST(CheapestStartTest, APeakSurchargeDoesNotDelay) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(1);
  AddWindow(spec, "12:00", "14:00", 2, 2);
  EXPECT_EQ(CheapestStart({&spec}, At(10, 0), At(20, 0)), At(10, 0));
  // Inside the surcharge: wait for its end.
  EXPECT_EQ(CheapestStart({&spec}, At(13, 0), At(20, 0)), At(14, 0));
}

TEST(CheapestStartTest, EqualPricesGoToTheEarlierTime) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(1);
  spec.set_output_usd_per_mtok(1);
  AddWindow(spec, "05:00", "06:00", 0.5, 0.5);
  AddWindow(spec, "02:00", "03:00", 0.5, 0.5);
  EXPECT_EQ(CheapestStart({&spec}, At(0, 0), At(23, 0)), At(2, 0));
}

TEST(CheapestStartTest, PricesAreSummedOverAllSpecs) {
  // a: 2 by day, 1 from 16:30 to 00:30; b: 2 by day, 0.5 from 20:00 to
  // 04:00. Summed: 4, 3 from 16:30, 1.5 from 20:00, 2.5 from 00:30.
  sluice::v1::ModelSpec a;
  a.set_input_usd_per_mtok(1);
  a.set_output_usd_per_mtok(1);
  AddWindow(a, "16:30", "00:30", 0.5, 0.5);
  sluice::v1::ModelSpec b;
  b.set_input_usd_per_mtok(1);
  b.set_output_usd_per_mtok(1);
  AddWindow(b, "20:00", "04:00", 0.25, 0.25);
  EXPECT_EQ(CheapestStart({&a, &b}, At(10, 0), At(10, 0, 0, 1)), At(20, 0));
  EXPECT_EQ(CheapestStart({&a, &b}, At(10, 0), At(19, 0)), At(16, 30));
  // From 01:00 (b alone off-peak, 2.5) the best is still tonight at 20:00.
  EXPECT_EQ(CheapestStart({&a, &b}, At(1, 0), At(1, 0, 0, 1)), At(20, 0));
  EXPECT_EQ(CheapestStart({&a, &b}, At(1, 0), At(12, 0)), At(1, 0));
}

TEST(NextPriceChangeTest, TheNextBoundaryThatChangesAPrice) {
  sluice::v1::ModelSpec spec = DeepSeek();
  EXPECT_EQ(NextPriceChange({&spec}, At(10, 0)), At(16, 30));
  EXPECT_EQ(NextPriceChange({&spec}, At(16, 30)), At(0, 30, 0, 1));
  EXPECT_EQ(NextPriceChange({&spec}, At(18, 0)), At(0, 30, 0, 1));
  EXPECT_EQ(NextPriceChange({&spec}, At(0, 10)), At(0, 30));
}

TEST(NextPriceChangeTest, NoChangeEver) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(1);
  EXPECT_EQ(NextPriceChange({&spec}, At(10, 0)), absl::InfiniteFuture());
  // A window priced as the spec changes nothing.
  AddWindow(spec, "12:00", "14:00", 1, 0);
  EXPECT_EQ(NextPriceChange({&spec}, At(10, 0)), absl::InfiniteFuture());
}

}  // namespace
}  // namespace sluice::router

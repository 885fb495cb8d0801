// SpendEstimator: the budget reservation of a request, priced at the highest
// catalog prices (price windows included) among the models its name may be
// served by.
#include "services/ingress/spend_estimate.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {
namespace {

void AddModel(sluice::v1::Config& config, const std::string& provider,
              const std::string& model, double input, double output,
              int64_t max_output_tokens) {
  sluice::v1::ModelSpec* spec = config.add_models();
  spec->set_provider(provider);
  spec->set_model(model);
  spec->set_input_usd_per_mtok(input);
  spec->set_output_usd_per_mtok(output);
  spec->set_max_output_tokens(max_output_tokens);
}

void AddCandidate(
    google::protobuf::RepeatedPtrField<sluice::v1::RouteCandidate>* candidates,
    const std::string& provider, const std::string& model) {
  sluice::v1::RouteCandidate* candidate = candidates->Add();
  candidate->set_provider(provider);
  candidate->set_model(model);
}

void AddAlias(sluice::v1::Config& config, const std::string& alias,
              const std::string& model) {
  sluice::v1::ModelAlias* entry = config.mutable_router()->add_aliases();
  entry->set_alias(alias);
  entry->set_model(model);
}

// Catalog (USD per million tokens, max output tokens):
//   sim/cheap 1/2 1000, sim/mid 3/4 none, sim/big 10/30 8000,
//   other/pricy 50/100 none (in no route), sim/frac 0.15/0.6, sim/cents
//   0.07/0.07.
sluice::v1::Config TestConfig() {
  sluice::v1::Config config;
  AddModel(config, "sim", "cheap", 1, 2, 1000);
  AddModel(config, "sim", "mid", 3, 4, 0);
  AddModel(config, "sim", "big", 10, 30, 8000);
  AddModel(config, "other", "pricy", 50, 100, 0);
  AddModel(config, "sim", "frac", 0.15, 0.6, 0);
  AddModel(config, "sim", "cents", 0.07, 0.07, 0);

  // Short form with an upstream model.
  sluice::v1::RouteConfig* route = config.add_routes();
  route->set_model("short");
  route->set_provider("sim");
  route->set_upstream_model("cheap");
  // Short form without one: the route's model is the upstream model.
  route = config.add_routes();
  route->set_model("mid");
  route->set_provider("sim");
  // Candidates: the highest of each price.
  route = config.add_routes();
  route->set_model("multi");
  AddCandidate(route->mutable_candidates(), "sim", "cheap");
  AddCandidate(route->mutable_candidates(), "sim", "mid");
  // A task class's candidates count too.
  route = config.add_routes();
  route->set_model("tasked");
  AddCandidate(route->mutable_candidates(), "sim", "cheap");
  sluice::v1::TaskRoute* task = route->add_tasks();
  task->set_task("code_generation");
  AddCandidate(task->mutable_candidates(), "sim", "big");
  route = config.add_routes();
  route->set_model("frac");
  route->set_provider("sim");
  route = config.add_routes();
  route->set_model("cents");
  route->set_provider("sim");

  AddAlias(config, "fast", "short");
  AddAlias(config, "dangling", "no-such-route");
  return config;
}

TEST(SpendEstimatorTest, ShortFormRouteUsesItsUpstreamModelsPrices) {
  SpendEstimator spend(TestConfig());
  // 1000 prompt tokens at $1/M + 100 completion tokens at $2/M.
  EXPECT_EQ(spend.MaxMicroUsd("short", "", 1000, 100), 1000 + 200);
}

TEST(SpendEstimatorTest, ShortFormWithoutUpstreamModelUsesTheRouteModel) {
  SpendEstimator spend(TestConfig());
  EXPECT_EQ(spend.MaxMicroUsd("mid", "", 10, 10), 30 + 40);
}

TEST(SpendEstimatorTest, HighestPricesAmongCandidates) {
  SpendEstimator spend(TestConfig());
  // Input from sim/mid (3), output from sim/mid (4).
  EXPECT_EQ(spend.MaxMicroUsd("multi", "", 100, 10), 300 + 40);
}

TEST(SpendEstimatorTest, TaskClassCandidatesAreIncluded) {
  SpendEstimator spend(TestConfig());
  // sim/big of the code_generation task outprices the default sim/cheap.
  EXPECT_EQ(spend.MaxMicroUsd("tasked", "", 1, 1), 10 + 30);
}

TEST(SpendEstimatorTest, AliasIsPricedAsItsTarget) {
  SpendEstimator spend(TestConfig());
  EXPECT_EQ(spend.MaxMicroUsd("fast", "", 1000, 100),
            spend.MaxMicroUsd("short", "", 1000, 100));
  EXPECT_EQ(spend.MaxMicroUsd("fast", "", 1000, 0),
            spend.MaxMicroUsd("short", "", 1000, 0));
}

TEST(SpendEstimatorTest, UnknownNamesCostTheCatalogsHighestPrices) {
  SpendEstimator spend(TestConfig());
  // other/pricy's prices, though it serves no route.
  EXPECT_EQ(spend.MaxMicroUsd("no-such-model", "", 1, 1), 50 + 100);
  // An alias whose target is no route is unknown too.
  EXPECT_EQ(spend.MaxMicroUsd("dangling", "", 1, 1), 50 + 100);
  // The completion allowance is the catalog's largest output limit.
  EXPECT_EQ(spend.MaxMicroUsd("no-such-model", "", 0, 0), 8000 * 100);
}

TEST(SpendEstimatorTest, CompletionAllowanceFallsBackToModelOutputLimit) {
  SpendEstimator spend(TestConfig());
  // sim/cheap's max_output_tokens is 1000.
  EXPECT_EQ(spend.MaxMicroUsd("short", "", 0, 0), 1000 * 2);
  // A negative limit is no limit either.
  EXPECT_EQ(spend.MaxMicroUsd("short", "", 0, -5), 1000 * 2);
  // The largest limit among the candidates, at the highest output price.
  EXPECT_EQ(spend.MaxMicroUsd("multi", "", 0, 0), 1000 * 4);
  EXPECT_EQ(spend.MaxMicroUsd("tasked", "", 0, 0), 8000 * 30);
}

TEST(SpendEstimatorTest, CompletionAllowanceDefaultsWithoutAnyOutputLimit) {
  SpendEstimator spend(TestConfig());
  EXPECT_EQ(spend.MaxMicroUsd("mid", "", 0, 0),
            SpendEstimator::kDefaultCompletionTokens * 4);
}

TEST(SpendEstimatorTest, AnExplicitCompletionLimitWinsOverTheModels) {
  SpendEstimator spend(TestConfig());
  EXPECT_EQ(spend.MaxMicroUsd("tasked", "", 0, 5), 5 * 30);
}

TEST(SpendEstimatorTest, ATokenAtXDollarsPerMillionCostsXMicroDollars) {
  SpendEstimator spend(TestConfig());
  EXPECT_EQ(spend.MaxMicroUsd("mid", "", 1'000'000, 1), 3'000'000 + 4);
  // 20 × 0.15 + 5 × 0.6 = 6 exactly.
  EXPECT_EQ(spend.MaxMicroUsd("frac", "", 20, 5), 6);
}

TEST(SpendEstimatorTest, FractionsOfAMicroDollarRoundUp) {
  SpendEstimator spend(TestConfig());
  // 0.15 + 0.6 = 0.75 micro-USD → 1.
  EXPECT_EQ(spend.MaxMicroUsd("frac", "", 1, 1), 1);
  // 3 × 0.15 + 0.6 = 1.05 → 2.
  EXPECT_EQ(spend.MaxMicroUsd("frac", "", 3, 1), 2);
}

// 100 × 0.07 is 7.000000000000001 in binary floating point: a whole amount
// must not round up to the next micro-dollar.
TEST(SpendEstimatorTest, WholeAmountsAreNotRoundedUpByFloatingPointError) {
  SpendEstimator spend(TestConfig());
  // 100 × 0.07 + 100 × 0.07 = 14.
  EXPECT_EQ(spend.MaxMicroUsd("cents", "", 100, 100), 14);
}

TEST(SpendEstimatorTest, EmptyConfigPricesEverythingAtZero) {
  SpendEstimator spend(sluice::v1::Config{});
  EXPECT_EQ(spend.MaxMicroUsd("anything", "", 1000, 0), 0);
}

TEST(SpendEstimatorTest, ATenantsOwnRouteIsPricedByItsCandidates) {
  sluice::v1::Config config = TestConfig();
  // acme's "short" goes to sim/big; everyone else's to sim/cheap.
  sluice::v1::RouteConfig* own = config.add_routes();
  own->set_model("short");
  own->set_tenant("acme");
  own->set_provider("sim");
  own->set_upstream_model("big");
  SpendEstimator spend(config);
  EXPECT_EQ(spend.MaxMicroUsd("short", "acme", 1, 1), 10 + 30);
  EXPECT_EQ(spend.MaxMicroUsd("short", "other", 1, 1), 1 + 2);
  EXPECT_EQ(spend.MaxMicroUsd("short", "", 1, 1), 1 + 2);
  // The alias follows each tenant's route.
  EXPECT_EQ(spend.MaxMicroUsd("fast", "acme", 1, 1), 10 + 30);
  EXPECT_EQ(spend.MaxMicroUsd("fast", "other", 1, 1), 1 + 2);
}

// Any completion token may be a reasoning one: the dearer of the two prices.
TEST(SpendEstimatorTest, ReasoningPricedAboveOutputRaisesTheReservation) {
  sluice::v1::Config config = TestConfig();
  config.mutable_models(0)->set_reasoning_usd_per_mtok(7);  // sim/cheap
  SpendEstimator spend(config);
  EXPECT_EQ(spend.MaxMicroUsd("short", "", 1000, 100), 1000 + 700);
  // A cheaper reasoning price leaves the output price in charge.
  config.mutable_models(0)->set_reasoning_usd_per_mtok(0.5);
  EXPECT_EQ(SpendEstimator(config).MaxMicroUsd("short", "", 1000, 100),
            1000 + 200);
}

// Whatever the time of day a request is priced at: the highest of each
// price in or out of the model's price windows.
TEST(SpendEstimatorTest, PriceWindowsNeverMakeAReservationTooSmall) {
  sluice::v1::Config config;
  AddModel(config, "sim", "windowed", 1, 2, 0);
  sluice::v1::PriceWindow* off_peak =
      config.mutable_models(0)->add_price_windows();
  off_peak->set_start("16:30");
  off_peak->set_end("00:30");
  off_peak->set_input_usd_per_mtok(0.5);
  off_peak->set_output_usd_per_mtok(1);
  sluice::v1::PriceWindow* surcharge =
      config.mutable_models(0)->add_price_windows();
  surcharge->set_start("08:00");
  surcharge->set_end("10:00");
  surcharge->set_input_usd_per_mtok(3);
  surcharge->set_output_usd_per_mtok(1.5);
  sluice::v1::RouteConfig* route = config.add_routes();
  route->set_model("windowed");
  route->set_provider("sim");
  SpendEstimator spend(config);
  // Input at the surcharge's 3, output at the spec's own 2.
  EXPECT_EQ(spend.MaxMicroUsd("windowed", "", 100, 10), 300 + 20);
  // The catalog's highest prices count windows too.
  EXPECT_EQ(spend.MaxMicroUsd("no-such-model", "", 100, 10), 300 + 20);
}

// Many aliases make the name table grow while the aliases are added; each
// must still carry its target's prices.
// (Copying from an iterator into the map while inserting into it read
// freed memory under ASan.)
TEST(SpendEstimatorTest, ManyAliasesAllKeepTheirTargetsPrices) {
  sluice::v1::Config config = TestConfig();
  for (int i = 0; i < 200; ++i) {
    AddAlias(config, absl::StrCat("alias-", i), i % 2 ? "tasked" : "short");
  }
  SpendEstimator spend(config);
  for (int i = 0; i < 200; ++i) {
    const std::string alias = absl::StrCat("alias-", i);
    EXPECT_EQ(spend.MaxMicroUsd(alias, "", 1, 1), i % 2 ? 10 + 30 : 1 + 2) << alias;
  }
}

}  // namespace
}  // namespace sluice::ingress

#include "services/router/route_strategy.h"

#include <algorithm>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"

namespace sluice::router {
namespace {

constexpr int64_t kExpectedOutputTokensWhenUnknown = 256;

// Why `c` cannot serve the request, or nullopt when it can.
std::optional<std::string> Unfit(const Candidate& c,
                                 const RequestNeeds& needs) {
  if (c.spec == nullptr) return std::nullopt;
  int64_t tokens = needs.prompt_tokens + needs.max_output_tokens;
  if (c.spec->context_window() > 0 && tokens > c.spec->context_window()) {
    return absl::StrCat(c.route(), ": context window ",
                        c.spec->context_window(), " < ", tokens, " tokens");
  }
  if (needs.needs_tools && !c.spec->supports_tools()) {
    return absl::StrCat(c.route(), ": no tool support");
  }
  return std::nullopt;
}

double Weight(const Candidate& c) { return c.weight > 0 ? c.weight : 1; }

void OrderByCost(std::vector<Candidate>& order, const RequestNeeds& needs) {
  std::vector<std::pair<std::optional<double>, Candidate>> priced;
  priced.reserve(order.size());
  for (Candidate& c : order) {
    priced.emplace_back(EstimatedCostUsd(c, needs), std::move(c));
  }
  // Unpriced candidates (no spec) go after all priced ones.
  std::stable_sort(priced.begin(), priced.end(),
                   [](const auto& a, const auto& b) {
                     if (!a.first.has_value()) return false;
                     if (!b.first.has_value()) return true;
                     return *a.first < *b.first;
                   });
  order.clear();
  for (auto& [cost, c] : priced) order.push_back(std::move(c));
}

// Power of two choices: of two distinct candidates drawn at random, the one
// with the lower latency EWMA goes first; the rest follow by EWMA. A
// candidate with no sample yet counts as 0 ms so that it gets explored.
void OrderByLatency(std::vector<Candidate>& order, const HealthBoard& health,
                    absl::BitGenRef rng) {
  std::vector<std::pair<double, Candidate>> timed;
  timed.reserve(order.size());
  for (Candidate& c : order) {
    timed.emplace_back(health.LatencyEwmaMs(c.route()).value_or(0),
                       std::move(c));
  }
  if (timed.size() >= 2) {
    size_t a = absl::Uniform<size_t>(rng, 0, timed.size());
    size_t b = absl::Uniform<size_t>(rng, 0, timed.size() - 1);
    if (b >= a) ++b;
    size_t winner = timed[b].first < timed[a].first ? b : a;
    std::rotate(timed.begin(), timed.begin() + winner,
                timed.begin() + winner + 1);
    std::stable_sort(
        timed.begin() + 1, timed.end(),
        [](const auto& x, const auto& y) { return x.first < y.first; });
  }
  order.clear();
  for (auto& [ewma, c] : timed) order.push_back(std::move(c));
}

// The first is drawn in proportion to weight; the rest follow by weight.
void OrderByWeight(std::vector<Candidate>& order, absl::BitGenRef rng) {
  if (order.size() < 2) return;
  double total = 0;
  for (const Candidate& c : order) total += Weight(c);
  double draw = absl::Uniform<double>(rng, 0, total);
  size_t first = order.size() - 1;  // if rounding leaves `draw` unspent
  for (size_t i = 0; i < order.size(); ++i) {
    draw -= Weight(order[i]);
    if (draw < 0) {
      first = i;
      break;
    }
  }
  std::rotate(order.begin(), order.begin() + first, order.begin() + first + 1);
  std::stable_sort(order.begin() + 1, order.end(),
                   [](const Candidate& x, const Candidate& y) {
                     return Weight(x) > Weight(y);
                   });
}

}  // namespace

std::optional<double> EstimatedCostUsd(const Candidate& c,
                                       const RequestNeeds& needs) {
  if (c.spec == nullptr) return std::nullopt;
  int64_t output = needs.max_output_tokens > 0
                       ? needs.max_output_tokens
                       : kExpectedOutputTokensWhenUnknown;
  return (static_cast<double>(needs.prompt_tokens) *
              c.spec->input_usd_per_mtok() +
          static_cast<double>(output) * c.spec->output_usd_per_mtok()) /
         1e6;
}

Ordering OrderCandidates(sluice::v1::RouteStrategy strategy,
                         const std::vector<Candidate>& candidates,
                         const RequestNeeds& needs, const HealthBoard& health,
                         absl::Time now, absl::BitGenRef rng) {
  Ordering result;
  for (const Candidate& c : candidates) {
    if (std::optional<std::string> why = Unfit(c, needs)) {
      result.skipped.push_back(*std::move(why));
    } else {
      result.order.push_back(c);
    }
  }

  switch (strategy) {
    case sluice::v1::ROUTE_STRATEGY_COST:
      OrderByCost(result.order, needs);
      break;
    case sluice::v1::ROUTE_STRATEGY_LATENCY:
      OrderByLatency(result.order, health, rng);
      break;
    case sluice::v1::ROUTE_STRATEGY_WEIGHTED:
      OrderByWeight(result.order, rng);
      break;
    default:  // PRIORITY: config order
      break;
  }

  // Last resorts go to the back, strategy order kept within each tier:
  // healthy, then slow, then those Admit would refuse now (open circuit,
  // resting after a 429, half-open with its probe out).
  auto tier = [&](const Candidate& c) {
    std::string route = c.route();
    if (!health.WouldAdmit(route, now)) return 2;
    if (health.Slow(route, now)) return 1;
    return 0;
  };
  std::vector<std::pair<int, Candidate>> tiered;
  tiered.reserve(result.order.size());
  for (Candidate& c : result.order) tiered.emplace_back(tier(c), std::move(c));
  std::stable_sort(
      tiered.begin(), tiered.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  result.order.clear();
  for (auto& [t, c] : tiered) result.order.push_back(std::move(c));
  return result;
}

}  // namespace sluice::router

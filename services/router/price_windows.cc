#include "services/router/price_windows.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/config/config_validation.h"
#include "libs/config/time_of_day.h"

namespace sluice::router {
namespace {

using Specs = std::vector<const sluice::v1::ModelSpec*>;

constexpr absl::Duration kDay = absl::Hours(24);

// A window's span as offsets from UTC midnight; nullopt for one the config
// check rejects (it then holds no time).
struct Span {
  absl::Duration start;
  absl::Duration end;
};

std::optional<Span> SpanOf(const sluice::v1::PriceWindow& window) {
  absl::StatusOr<int> start = config::ParseTimeOfDay(window.start());
  absl::StatusOr<int> end = config::ParseTimeOfDay(window.end());
  if (!start.ok() || !end.ok() || *start == *end) return std::nullopt;
  return Span{absl::Minutes(*start), absl::Minutes(*end)};
}

bool Holds(const Span& span, absl::Duration time_of_day) {
  if (span.start < span.end) {
    return time_of_day >= span.start && time_of_day < span.end;
  }
  // Past midnight: from start to midnight, then from midnight to end.
  return time_of_day >= span.start || time_of_day < span.end;
}

// The UTC midnight at or before `at` (a finite time).
absl::Time MidnightBefore(absl::Time at) {
  return absl::UnixEpoch() + absl::Floor(at - absl::UnixEpoch(), kDay);
}

template <typename PricesMessage>  // ModelSpec or PriceWindow
TokenPrices PricesOf(const PricesMessage& m) {
  return {m.input_usd_per_mtok(), m.output_usd_per_mtok(),
          m.cached_input_usd_per_mtok() > 0 ? m.cached_input_usd_per_mtok()
                                            : m.input_usd_per_mtok(),
          m.reasoning_usd_per_mtok() > 0 ? m.reasoning_usd_per_mtok()
                                         : m.output_usd_per_mtok()};
}

// What a batch over `specs` pays per million tokens in and out at `at`.
double SummedPrice(const Specs& specs, absl::Time at) {
  double sum = 0;
  for (const sluice::v1::ModelSpec* spec : specs) {
    if (spec == nullptr) continue;
    TokenPrices prices = PricesAt(*spec, at);
    sum += prices.input_usd_per_mtok + prices.output_usd_per_mtok;
  }
  return sum;
}

// Every window start and end of `specs` in (after, until], in order, for a
// finite `after` and until <= after + 1 day.
std::vector<absl::Time> Boundaries(const Specs& specs, absl::Time after,
                                   absl::Time until) {
  // (after, after + 1 day] lies within the day of `after` and the next.
  absl::Time midnight = MidnightBefore(after);
  std::vector<absl::Time> times;
  for (const sluice::v1::ModelSpec* spec : specs) {
    if (spec == nullptr) continue;
    for (const sluice::v1::PriceWindow& window : spec->price_windows()) {
      std::optional<Span> span = SpanOf(window);
      if (!span) continue;
      for (absl::Time day : {midnight, midnight + kDay}) {
        for (absl::Duration offset : {span->start, span->end}) {
          absl::Time t = day + offset;
          if (t > after && t <= until) times.push_back(t);
        }
      }
    }
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  return times;
}

}  // namespace

TokenPrices PricesAt(const sluice::v1::ModelSpec& spec, absl::Time at) {
  if (at != absl::InfiniteFuture() && at != absl::InfinitePast()) {
    absl::Duration time_of_day = at - MidnightBefore(at);
    for (const sluice::v1::PriceWindow& window : spec.price_windows()) {
      std::optional<Span> span = SpanOf(window);
      if (span && Holds(*span, time_of_day)) {
        return PricesOf(window);
      }
    }
  }
  return PricesOf(spec);
}

TokenPrices HighestPrices(const sluice::v1::ModelSpec& spec) {
  TokenPrices highest = PricesOf(spec);
  // Every window counts, even one that never holds a time: a reservation
  // errs high.
  for (const sluice::v1::PriceWindow& window : spec.price_windows()) {
    TokenPrices prices = PricesOf(window);
    highest.input_usd_per_mtok =
        std::max(highest.input_usd_per_mtok, prices.input_usd_per_mtok);
    highest.output_usd_per_mtok =
        std::max(highest.output_usd_per_mtok, prices.output_usd_per_mtok);
    highest.cached_input_usd_per_mtok = std::max(
        highest.cached_input_usd_per_mtok, prices.cached_input_usd_per_mtok);
    highest.reasoning_usd_per_mtok = std::max(highest.reasoning_usd_per_mtok,
                                              prices.reasoning_usd_per_mtok);
  }
  return highest;
}

absl::Status ValidatePriceWindows(const sluice::v1::ModelSpec& spec) {
  std::optional<config::ConfigIssue> issue = config::FindPriceWindowIssue(spec);
  if (!issue) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("model \"", spec.provider(), "/", spec.model(),
                   "\": ", issue->path, ": ", issue->problem));
}

absl::Time CheapestStart(const Specs& specs, absl::Time earliest,
                         absl::Time latest) {
  if (latest <= earliest || earliest == absl::InfinitePast() ||
      earliest == absl::InfiniteFuture()) {
    return earliest;
  }
  // Prices repeat daily, so any time a day or more after `earliest` costs
  // what an earlier one does: the first day is all there is to search.
  absl::Time until = std::min(latest, earliest + kDay);
  absl::Time best = earliest;
  double best_price = SummedPrice(specs, earliest);
  for (absl::Time t : Boundaries(specs, earliest, until)) {
    double price = SummedPrice(specs, t);
    if (price < best_price) {  // strictly: ties go to the earlier time
      best = t;
      best_price = price;
    }
  }
  return best;
}

absl::Time NextPriceChange(const Specs& specs, absl::Time after) {
  if (after == absl::InfinitePast() || after == absl::InfiniteFuture()) {
    return absl::InfiniteFuture();
  }
  auto prices_at = [&specs](absl::Time at) {
    std::vector<TokenPrices> prices;
    for (const sluice::v1::ModelSpec* spec : specs) {
      if (spec != nullptr) prices.push_back(PricesAt(*spec, at));
    }
    return prices;
  };
  // Prices hold from one boundary to the next; a boundary may change
  // nothing (a window priced as the spec, one that another one shadows).
  // Change times repeat daily, so a day without one means none ever.
  std::vector<TokenPrices> before = prices_at(after);
  for (absl::Time t : Boundaries(specs, after, after + kDay)) {
    std::vector<TokenPrices> now = prices_at(t);
    if (now != before) return t;
    before = std::move(now);
  }
  return absl::InfiniteFuture();
}

}  // namespace sluice::router

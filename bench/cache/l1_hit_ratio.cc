// Hit ratio and cost of the L1 cache's policy (W-TinyLFU) against plain LRU.
// A cache-aside client replays a trace: Get, and Put the value on a miss.
// Traces: Zipf over 100k keys (skew 0.8, 1.0, 1.2), and Zipf 1.0 whose middle
// third is interleaved one-to-one with a sequential scan of never-repeated
// keys. Value sizes are drawn once per key (log-normal, 200 B to 20 KiB).
// Cache sizes are 1%, 5% and 10% of the bytes of all distinct Zipf keys.
// Single-threaded, seeded: the ratios repeat exactly from run to run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/strings/str_format.h"
#include "services/cache/l1_cache.h"
#include "services/cache/lru_cache.h"

namespace sluice::cache {
namespace {

constexpr int kKeys = 100'000;
constexpr int kRequests = 2'000'000;
constexpr int64_t kMinValue = 200;
constexpr int64_t kMaxValue = 20 << 10;
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// Ranks 0..n-1 with P(rank k) proportional to 1 / (k + 1)^s, by binary search
// in the cumulative distribution.
class ZipfSampler {
 public:
  ZipfSampler(int n, double s) : cdf_(n) {
    double sum = 0;
    for (int k = 0; k < n; ++k) cdf_[k] = sum += 1.0 / std::pow(k + 1.0, s);
    for (double& c : cdf_) c /= sum;
  }
  int Sample(std::mt19937_64& rng) const {
    const double u = absl::Uniform(rng, 0.0, 1.0);
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
    return static_cast<int>(
        std::min<size_t>(it - cdf_.begin(), cdf_.size() - 1));
  }

 private:
  std::vector<double> cdf_;
};

// Keys look like the real ones (64 hex characters of a SHA-256).
std::string KeyOf(uint64_t id) {
  std::mt19937_64 mix(id);
  return absl::StrFormat("%016x%016x%016x%016x", mix(), mix(), mix(), mix());
}

// The workload: every key a trace can name, and the value each key has.
// Values of equal size are one shared object (the cache only reads their
// size), so 100k keys cost a few MB, not hundreds.
struct Universe {
  std::vector<std::string> keys;
  std::vector<CachedValuePtr> values;
  int64_t zipf_bytes = 0;  // charge of all kKeys Zipf keys together
};

Universe MakeUniverse(int total_keys) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> size_of(std::log(1500.0), 1.0);
  std::map<int64_t, CachedValuePtr> by_size;
  Universe universe;
  for (int id = 0; id < total_keys; ++id) {
    const int64_t size =
        std::clamp<int64_t>(std::llround(size_of(rng)), kMinValue, kMaxValue);
    CachedValuePtr& value = by_size[size];
    if (value == nullptr) {
      auto made = std::make_shared<CachedValue>();
      made->tenant = "bench";
      made->model = "model";
      made->bytes.assign(size, 'v');
      made->expires = absl::InfiniteFuture();
      value = std::move(made);
    }
    universe.keys.push_back(KeyOf(id));
    universe.values.push_back(value);
    if (id < kKeys) {
      universe.zipf_bytes += EntryCharge(universe.keys.back(), *value);
    }
  }
  return universe;
}

struct Trace {
  std::string name;
  std::vector<int> ids;
};

Trace ZipfTrace(double s, bool with_scan) {
  ZipfSampler zipf(kKeys, s);
  std::mt19937_64 rng(static_cast<uint64_t>(s * 1000) + with_scan);
  Trace trace{with_scan ? absl::StrFormat("zipf %.1f + scan", s)
                        : absl::StrFormat("zipf %.1f", s),
              {}};
  trace.ids.reserve(kRequests);
  int next_scan_key = kKeys;
  while (static_cast<int>(trace.ids.size()) < kRequests) {
    const size_t at = trace.ids.size();
    if (with_scan && at >= kRequests / 3 && at < 2 * kRequests / 3 && at % 2) {
      trace.ids.push_back(next_scan_key++);
    } else {
      trace.ids.push_back(zipf.Sample(rng));
    }
  }
  return trace;
}

struct Result {
  double hit_ratio = 0;
  double ns_per_request = 0;
};

template <typename Cache>
Result Replay(Cache& cache, const Trace& trace, const Universe& universe) {
  int64_t hits = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int id : trace.ids) {
    const std::string& key = universe.keys[id];
    if (cache.Get(key, "bench", kNow) != nullptr) {
      ++hits;
    } else {
      cache.Put(key, universe.values[id], kNow);
    }
  }
  const std::chrono::duration<double, std::nano> took =
      std::chrono::steady_clock::now() - start;
  return {static_cast<double>(hits) / trace.ids.size(),
          took.count() / trace.ids.size()};
}

L1Options OptionsFor(int64_t max_bytes, int shards) {
  L1Options options;
  options.max_bytes = max_bytes;
  options.shards = shards;
  return options;
}

void Run() {
  std::vector<Trace> traces;
  for (double s : {0.8, 1.0, 1.2}) traces.push_back(ZipfTrace(s, false));
  traces.push_back(ZipfTrace(1.0, true));
  int max_id = 0;
  for (const Trace& trace : traces) {
    max_id =
        std::max(max_id, *std::max_element(trace.ids.begin(), trace.ids.end()));
  }
  const Universe universe = MakeUniverse(max_id + 1);

  absl::PrintF("%d Zipf keys, %.1f MiB in all; %d requests per trace\n", kKeys,
               universe.zipf_bytes / 1048576.0, kRequests);
  // L1Cache's cost includes its shard mutex and per-tenant stats, which the
  // bare LruCache does not have.
  absl::PrintF(
      "hit ratio (ns per Get [+ Put on miss]; W-TinyLFU is the full L1Cache "
      "with mutex and tenant stats, LRU a bare single-threaded map)\n\n");
  absl::PrintF("%-16s %5s %9s | %-15s %-15s %-15s | %s\n", "trace", "cache",
               "MiB", "W-TinyLFU 1 sh", "W-TinyLFU 16 sh", "LRU",
               "TinyLFU-LRU");
  for (const Trace& trace : traces) {
    for (int percent : {1, 5, 10}) {
      const int64_t max_bytes = universe.zipf_bytes * percent / 100;
      L1Cache one_shard(OptionsFor(max_bytes, 1));
      L1Cache sixteen_shards(OptionsFor(max_bytes, 16));
      LruCache lru(OptionsFor(max_bytes, 1));
      const Result a = Replay(one_shard, trace, universe);
      const Result b = Replay(sixteen_shards, trace, universe);
      const Result c = Replay(lru, trace, universe);
      absl::PrintF(
          "%-16s %4d%% %9.1f | %6.2f%% (%3.0f) %6.2f%% (%3.0f) %6.2f%% (%3.0f) "
          "| %+6.2f pp\n",
          trace.name, percent, max_bytes / 1048576.0, 100 * a.hit_ratio,
          a.ns_per_request, 100 * b.hit_ratio, b.ns_per_request,
          100 * c.hit_ratio, c.ns_per_request,
          100 * (a.hit_ratio - c.hit_ratio));
    }
  }
}

}  // namespace
}  // namespace sluice::cache

int main() {
  sluice::cache::Run();
  return 0;
}

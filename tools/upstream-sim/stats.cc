// Request statistics; see stats.h.
#include "tools/upstream-sim/stats.h"

#include "tools/upstream-sim/json.h"

namespace sluice::sim {

std::string StatsToJson(const Stats& stats) {
  return ToJson([&](JsonWriter& w) {
    w.StartObject();
    w.Key("requests");
    w.Int64(stats.requests);
    w.Key("by_status");
    w.StartObject();
    for (const auto& [status, count] : stats.by_status) {
      WriteString(w, std::to_string(status));
      w.Int64(count);
    }
    w.EndObject();
    w.Key("prompt_tokens");
    w.Int64(stats.prompt_tokens);
    w.Key("completion_tokens");
    w.Int64(stats.completion_tokens);
    w.Key("arrivals");
    w.StartArray();
    for (const Arrival& arrival : stats.arrivals) {
      w.StartObject();
      w.Key("ms");
      w.Int64(arrival.ms);
      w.Key("path");
      WriteString(w, arrival.path);
      w.Key("model");
      WriteString(w, arrival.model);
      w.Key("fault");
      WriteString(w, arrival.fault);
      w.Key("status");
      w.Int(arrival.status);
      w.Key("stream");
      w.Bool(arrival.stream);
      w.Key("key");
      WriteString(w, arrival.key);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
}

int64_t StatsRecorder::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - start_)
      .count();
}

void StatsRecorder::Record(Arrival arrival, int64_t prompt_tokens,
                           int64_t completion_tokens) {
  absl::MutexLock lock(&mu_);
  ++stats_.requests;
  ++stats_.by_status[arrival.status];
  stats_.prompt_tokens += prompt_tokens;
  stats_.completion_tokens += completion_tokens;
  stats_.arrivals.push_back(std::move(arrival));
}

Stats StatsRecorder::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void StatsRecorder::Clear() {
  absl::MutexLock lock(&mu_);
  stats_ = Stats();
}

}  // namespace sluice::sim

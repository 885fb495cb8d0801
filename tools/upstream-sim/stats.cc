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
      w.Key("prompt_key");
      WriteString(w, arrival.prompt_key);
      for (auto [name, value] :
           {std::pair<const char*, int64_t>{"prompt_tokens",
                                            arrival.prompt_tokens},
            {"cache_hit_tokens", arrival.cache_hit_tokens},
            {"completion_tokens", arrival.completion_tokens},
            {"reasoning_tokens", arrival.reasoning_tokens},
            {"sent_completion_tokens", arrival.sent_completion_tokens},
            {"sent_reasoning_tokens", arrival.sent_reasoning_tokens}}) {
        w.Key(name);
        w.Int64(value);
      }
      w.Key("sent_usage");
      w.Bool(arrival.sent_usage);
      w.Key("malformed");
      w.Bool(arrival.malformed);
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

size_t StatsRecorder::Record(Arrival arrival, int64_t prompt_tokens,
                             int64_t completion_tokens) {
  absl::MutexLock lock(&mu_);
  ++stats_.requests;
  ++stats_.by_status[arrival.status];
  stats_.prompt_tokens += prompt_tokens;
  stats_.completion_tokens += completion_tokens;
  stats_.arrivals.push_back(std::move(arrival));
  return stats_.arrivals.size() - 1;
}

void StatsRecorder::Sent(size_t index, int64_t reasoning, int64_t content,
                         bool whole, bool malformed) {
  absl::MutexLock lock(&mu_);
  // A Clear() since: nothing to add to.
  if (index >= stats_.arrivals.size()) return;
  Arrival& arrival = stats_.arrivals[index];
  if (malformed) arrival.malformed = true;
  if (arrival.malformed) return;
  arrival.sent_reasoning_tokens += reasoning;
  arrival.sent_completion_tokens += reasoning + content;
  if (whole) arrival.sent_usage = true;
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

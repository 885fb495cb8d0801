// Issue 13's accounting proof under faults: ten thousand requests, mixed at
// random from a seed the log prints (unary and streamed, two tenants, a
// reasoning model, upstream faults, clients that leave, answers from the
// cache), sent 24 at a time. Then, per request, its one usage event is
// checked against what the upstream simulator says it sent for it:
//   - an answer whose usage the simulator sent in full is metered with that
//     usage, per token kind (prompt, completion, reasoning, cached);
//   - a stream cut by the upstream, or left by its client, is metered for
//     what was relayed: the simulator's tokens up to the cut, counted the way
//     sluice estimates them (the model's vocabulary, its chat template);
//   - refused attempts (429, 5xx, resets, a cut before any token) and
//     answers from sluice's cache are no upstream traffic;
// no streamed request that got content is metered at $0, metering's totals
// are the sum of the events, and replaying `sluice.usage` from offset 0
// into a fresh metering gives the same totals.
//
// Faults ride in the prompt (`x-sim-fault=cut x-sim-fault-after=2
// x-sim-fault-times=1`, see tools/upstream-sim/controls.h), so each
// request gets its own whatever the concurrency, and a retry is answered.
// A client leaves a stream only once it has every token the upstream will
// send before stalling (and a unary client only while the upstream says
// nothing): what was relayed is then exactly what was sent, with no race.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"
#include "libs/kafka/consumer.h"
#include "libs/tokenizer/chat_token_counter.h"
#include "rapidjson/document.h"
#include "services/metering/metering_impl.h"
#include "services/metering/sqlite_usage_store.h"
#include "sluice/v1/metering.pb.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/support/http_test_client.h"
#include "tools/upstream-sim/answer.h"
#include "tools/upstream-sim/request.h"

namespace sluice::testing {
namespace {

constexpr char kClientIdPrefix[] = "acct-";
// Prices high enough that one token costs whole micro-dollars.
constexpr char kPrices[] =
    "input_usd_per_mtok: 100, output_usd_per_mtok: 200, "
    "cached_input_usd_per_mtok: 10";

int RequestCount() {
  const char* env = std::getenv("SLUICE_ACCOUNTING_REQUESTS");
  int n = 0;
  return env != nullptr && absl::SimpleAtoi(env, &n) && n > 0 ? n : 10000;
}

int Concurrency() {
  const char* env = std::getenv("SLUICE_ACCOUNTING_CONCURRENCY");
  int n = 0;
  return env != nullptr && absl::SimpleAtoi(env, &n) && n > 0 ? n : 24;
}

uint64_t Seed() {
  const char* env = std::getenv("SLUICE_ACCOUNTING_SEED");
  uint64_t seed = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  return 20261206;
}

enum class Leave { kNever, kStream, kUnary };

// One request of the mix.
struct Planned {
  const char* key = kDemoKey;
  std::string tenant;
  std::string model;
  std::string prompt;
  bool stream = false;
  Leave leave = Leave::kNever;
  int leave_after = 0;  // token chunks (Leave::kStream)
  long leave_ms = 0;    // Leave::kUnary
  std::string label;    // what the mix chose, for failure messages
  std::string body;
  std::string prompt_key;  // the simulator's
};

std::string Body(const Planned& p) {
  return absl::StrCat(
      R"({"model":")", p.model, R"(","temperature":0,)",
      p.stream ? R"("stream":true,"stream_options":{"include_usage":true},)"
               : "",
      R"("messages":[{"role":"user","content":")", p.prompt, R"("}]})");
}

std::string Directive(const std::string& fault, int after, int times) {
  std::string words =
      absl::StrCat(" x-sim-fault=", fault, " x-sim-fault-times=", times,
                   " x-sim-retry-after=0");
  if (after >= 0) absl::StrAppend(&words, " x-sim-fault-after=", after);
  return words;
}

std::vector<Planned> MakePlan(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  auto roll = [&rng](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  };
  constexpr const char* kWords[] = {
      "how",   "do",    "sluice", "gates",  "hold",   "back", "the",
      "river", "water", "in",     "spring", "floods", "and",  "why"};
  std::vector<Planned> plan;
  std::vector<int> plain;  // fault-free requests whose clients stay
  for (int i = 0; i < n; ++i) {
    Planned p;
    bool demo = roll(0, 1) == 0;
    p.key = demo ? kDemoKey : kAcmeKey;
    p.tenant = demo ? "demo" : "acme";
    p.stream = roll(0, 1) == 0;
    // A repeat of an earlier prompt of the tenant (served from the cache,
    // or shared with it in flight, or sent again when it was not kept).
    if (roll(0, 99) < 10 && !plain.empty()) {
      const Planned& original =
          plan[plain[roll(0, static_cast<int>(plain.size()) - 1)]];
      if (original.tenant == p.tenant) {
        p.model = original.model;
        p.prompt = original.prompt;
        p.label = "repeat";
        p.body = Body(p);
        plan.push_back(std::move(p));
        continue;
      }
    }
    p.model = roll(0, 3) == 0 ? "deepseek-reasoner" : "deepseek-chat";
    p.prompt = absl::StrCat("q", i);
    for (int w = roll(3, 20); w > 0; --w) {
      absl::StrAppend(&p.prompt, " ", kWords[roll(0, 13)]);
    }
    int r = roll(0, 99);
    std::string directive;
    if (roll(0, 1499) == 0) {
      // Rare: a provider's 429 pauses every call to it for a second (the
      // scheduler's rest, even for a Retry-After of 0).
      directive = Directive("429", -1, 1);
    } else if (r < 11) {
      directive = Directive("500", -1, 1);
    } else if (r < 14) {
      directive = Directive("503", -1, 2);
    } else if (r < 18) {
      directive = Directive("reset", -1, 1);
    } else if (r < 21) {
      directive = Directive("truncate", roll(1, 5), 1);
    } else if (p.stream && r < 27) {
      directive = Directive("cut", roll(0, 4), 1);
    } else if (p.stream && r < 32) {
      directive = Directive("malformed", roll(0, 4), 1);
    } else if (p.stream && r < 40) {
      // The upstream sends k tokens and waits; the client leaves once it
      // has them.
      p.leave = Leave::kStream;
      p.leave_after = roll(1, 4);
      directive = Directive("stall", p.leave_after, 1);
    } else if (!p.stream && r < 26) {
      directive = Directive(r < 24 ? "malformed" : "cut", -1, 1);
    } else if (!p.stream && r < 32) {
      // The upstream never answers; the client does not wait.
      p.leave = Leave::kUnary;
      p.leave_ms = roll(20, 150);
      directive = Directive("stall", -1, 1);
    }
    p.label = directive.empty() ? "plain" : directive;
    if (p.leave == Leave::kStream) absl::StrAppend(&p.label, " client-leaves");
    if (p.leave == Leave::kUnary) absl::StrAppend(&p.label, " client-gone");
    absl::StrAppend(&p.prompt, directive);
    if (directive.empty()) plain.push_back(i);
    p.body = Body(p);
    plan.push_back(std::move(p));
  }
  for (Planned& p : plan) {
    absl::StatusOr<sim::ChatRequest> request =
        sim::ParseChatRequest(p.body, sim::Api::kOpenAI);
    if (request.ok()) p.prompt_key = sim::MakeAnswer(*request).prompt_key;
  }
  return plan;
}

// Chunks of an SSE body that carry a token (content or reasoning).
int TokenChunks(const std::string& body) {
  int chunks = 0;
  for (const std::string& data : SseData(body)) {
    rapidjson::Document doc;
    doc.Parse(data.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("choices") ||
        !doc["choices"].IsArray() || doc["choices"].Empty()) {
      continue;
    }
    const auto& choice = doc["choices"][0];
    if (!choice.HasMember("delta") || !choice["delta"].IsObject()) continue;
    for (const char* field : {"content", "reasoning_content"}) {
      auto it = choice["delta"].FindMember(field);
      if (it != choice["delta"].MemberEnd() && it->value.IsString() &&
          it->value.GetStringLength() > 0) {
        ++chunks;
        break;
      }
    }
  }
  return chunks;
}

struct Outcome {
  long status = 0;
  std::string request_id;  // x-request-id, when the head came
  int token_chunks = 0;
  std::string error;
  absl::Duration took;
};

Outcome Send(const Gateway& gateway, const Planned& p, int index) {
  std::vector<std::string> headers = {
      absl::StrCat("Authorization: Bearer ", p.key),
      "Content-Type: application/json",
      absl::StrCat("x-client-request-id: ", kClientIdPrefix, index)};
  std::string url = gateway.http_base() + "/v1/chat/completions";
  absl::Time start = absl::Now();
  HttpAnswer answer;
  switch (p.leave) {
    case Leave::kNever:
      answer = HttpCall("POST", url, headers, p.body);
      break;
    case Leave::kStream:
      answer = HttpCallUntil("POST", url, headers, p.body,
                             [&p](const std::string& body) {
                               return TokenChunks(body) >= p.leave_after;
                             });
      break;
    case Leave::kUnary:
      answer = HttpCallWithin("POST", url, headers, p.body, p.leave_ms);
      break;
  }
  Outcome outcome;
  outcome.took = absl::Now() - start;
  outcome.status = answer.status;
  outcome.request_id = answer.Header("x-request-id");
  outcome.error = answer.error;
  if (p.stream) outcome.token_chunks = TokenChunks(answer.body);
  return outcome;
}

// Every usage event of the topic, by request id (a redelivered one once).
class UsageTail {
 public:
  absl::Status Start(const std::string& brokers) {
    kafka::ConsumerOptions options;
    options.brokers = brokers;
    options.group_id =
        absl::StrCat("accounting-tail-", absl::ToUnixNanos(absl::Now()));
    options.topics = {"sluice.usage"};
    absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
        kafka::Consumer::Create(options);
    if (!consumer.ok()) return consumer.status();
    consumer_ = *std::move(consumer);
    return consumer_->Start([this](const kafka::Message& message) {
      sluice::v1::UsageEvent event;
      if (event.ParseFromString(message.value)) {
        absl::MutexLock lock(&mu_);
        bool ours = event.client_request_id().rfind(kClientIdPrefix, 0) == 0;
        if (events_.emplace(event.request_id(), std::move(event)).second &&
            ours) {
          ++ours_;
        }
      }
      return absl::OkStatus();
    });
  }
  ~UsageTail() {
    if (consumer_ != nullptr) consumer_->Stop();
  }

  // Waits until `count` events with our client ids are in (or `timeout`).
  std::map<std::string, sluice::v1::UsageEvent> WaitFor(
      int count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return ours_ >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return events_;
  }

 private:
  std::unique_ptr<kafka::Consumer> consumer_;
  absl::Mutex mu_;
  std::map<std::string, sluice::v1::UsageEvent> events_ ABSL_GUARDED_BY(mu_);
  int ours_ ABSL_GUARDED_BY(mu_) = 0;
};

// Token kinds, summed.
struct Tokens {
  int64_t prompt = 0;
  int64_t completion = 0;
  int64_t reasoning = 0;
  int64_t cached = 0;

  void Add(const Tokens& o) {
    prompt += o.prompt;
    completion += o.completion;
    reasoning += o.reasoning;
    cached += o.cached;
  }
  bool operator==(const Tokens& o) const {
    return prompt == o.prompt && completion == o.completion &&
           reasoning == o.reasoning && cached == o.cached;
  }
  std::string ToString() const {
    return absl::StrCat("{prompt ", prompt, ", completion ", completion,
                        ", reasoning ", reasoning, ", cached ", cached, "}");
  }
};

Tokens Metered(const sluice::v1::Usage& usage) {
  return {usage.prompt_tokens(), usage.completion_tokens(),
          usage.reasoning_tokens(), usage.cached_tokens()};
}

// One simulator arrival, as GET /sim/stats reports it.
struct Arrival {
  std::string prompt_key;
  Tokens usage;  // what its answer reports
  int64_t sent_completion = 0;
  int64_t sent_reasoning = 0;
  bool sent_usage = false;
};

std::vector<Arrival> SimArrivals(const Gateway& gateway) {
  HttpAnswer stats = HttpCall("GET", gateway.sim_base() + "/sim/stats");
  rapidjson::Document doc;
  doc.Parse(stats.body.c_str());
  std::vector<Arrival> arrivals;
  if (doc.HasParseError() || !doc.HasMember("arrivals")) {
    ADD_FAILURE() << "no simulator stats: " << stats.body.substr(0, 200);
    return arrivals;
  }
  for (const auto& a : doc["arrivals"].GetArray()) {
    Arrival arrival;
    arrival.prompt_key = a["prompt_key"].GetString();
    arrival.usage = {
        a["prompt_tokens"].GetInt64(), a["completion_tokens"].GetInt64(),
        a["reasoning_tokens"].GetInt64(), a["cache_hit_tokens"].GetInt64()};
    arrival.sent_completion = a["sent_completion_tokens"].GetInt64();
    arrival.sent_reasoning = a["sent_reasoning_tokens"].GetInt64();
    arrival.sent_usage = a["sent_usage"].GetBool();
    arrivals.push_back(std::move(arrival));
  }
  return arrivals;
}

// What sluice meters for an answer the upstream cut (or its client left)
// after sending `sent` tokens of which `reasoning` reasoned: its own count,
// with the model's vocabulary and chat template, of the prompt and of what
// was relayed. The provider's cache hits are unknown then.
Tokens Relayed(tokenizer::TokenCounter& counter, const Planned& p, int64_t sent,
               int64_t reasoning) {
  Tokens tokens;
  absl::StatusOr<sluice::v1::ChatRequest> request =
      codec::ParseChatRequest(p.body);
  absl::StatusOr<sim::ChatRequest> sim_request =
      sim::ParseChatRequest(p.body, sim::Api::kOpenAI);
  if (!request.ok() || !sim_request.ok()) return tokens;
  absl::StatusOr<tokenizer::PromptCount> prompt =
      counter.CountPromptOnly(*request, "deepseek-llm", "deepseek3");
  if (prompt.ok()) tokens.prompt = prompt->prompt_tokens;
  sim::Answer answer = sim::MakeAnswer(*sim_request);
  std::vector<std::string> all = answer.reasoning;
  all.insert(all.end(), answer.content.begin(), answer.content.end());
  all.resize(std::min<size_t>(all.size(), sent));
  std::string text = absl::StrJoin(all, "");
  absl::StatusOr<int64_t> completion = counter.CountText(text, "deepseek-llm");
  if (completion.ok()) tokens.completion = *completion;
  if (reasoning > 0) {
    all.resize(std::min<size_t>(all.size(), reasoning));
    absl::StatusOr<int64_t> thought =
        counter.CountText(absl::StrJoin(all, ""), "deepseek-llm");
    if (thought.ok()) tokens.reasoning = *thought;
  }
  return tokens;
}

// A tenant's totals as GET /v1/usage reports them (the admin's view).
std::map<std::string, std::map<std::string, int64_t>> LiveTotals(
    const Gateway& gateway) {
  HttpAnswer answer =
      HttpCall("GET", gateway.http_base() + "/v1/usage?group_by=tenant",
               {absl::StrCat("Authorization: Bearer ", kAdminKey)});
  rapidjson::Document doc;
  doc.Parse(answer.body.c_str());
  std::map<std::string, std::map<std::string, int64_t>> totals;
  if (doc.HasParseError() || !doc.HasMember("data")) return totals;
  for (const auto& row : doc["data"].GetArray()) {
    auto& tenant = totals[row["tenant"].GetString()];
    for (const char* field :
         {"requests", "prompt_tokens", "completion_tokens", "reasoning_tokens",
          "cached_tokens", "price_micro_usd"}) {
      if (row.HasMember(field)) tenant[field] += row[field].GetInt64();
    }
  }
  return totals;
}

class AccountingTest : public ::testing::TestWithParam<Gateway::Layout> {};

TEST_P(AccountingTest, EveryTokenSentIsMeteredOnceUnderFaults) {
  const int n = RequestCount();
  const uint64_t seed = Seed();
  std::printf(
      "accounting mix: %d requests, seed %llu "
      "(SLUICE_ACCOUNTING_SEED / SLUICE_ACCOUNTING_REQUESTS)\n",
      n, static_cast<unsigned long long>(seed));
  GatewayOptions options;
  // Another build's sluice (e.g. to see what a fix changes).
  if (const char* binary = std::getenv("SLUICE_ACCOUNTING_SLUICE")) {
    options.sluice_binary = binary;
  }
  options.deepseek_prices = kPrices;
  options.extra_models = {absl::StrCat(
      "{provider: sim, model: deepseek-reasoner, tokenizer: deepseek-llm, "
      "chat_template: deepseek3, context_window: 131072, ",
      kPrices, "}")};
  // Retries right away, and a circuit that never opens: every fault is
  // retried by the same candidate, never refused wholesale.
  options.extra_yaml =
      "router:\n"
      "  retry: {max_attempts: 4, base_backoff: 1ms, max_backoff: 5ms}\n"
      "  circuit_breaker: {failure_threshold: 1000000000, window: 1s}\n";
  auto gateway = Gateway::Start(GetParam(), options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  UsageTail tail;
  ASSERT_TRUE(tail.Start((*gateway)->brokers()).ok());

  std::vector<Planned> plan = MakePlan(seed, n);
  std::vector<Outcome> outcomes(plan.size());
  absl::Time start = absl::Now();
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < Concurrency(); ++c) {
    clients.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        outcomes[i] = Send(**gateway, plan[i], i);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  std::printf("sent in %.1fs\n", absl::ToDoubleSeconds(absl::Now() - start));

  // Exactly one usage event per request, under the id its client was told.
  std::map<std::string, sluice::v1::UsageEvent> events =
      tail.WaitFor(n, absl::Seconds(60));
  std::map<int, std::vector<const sluice::v1::UsageEvent*>> by_index;
  for (const auto& [id, event] : events) {
    int index = -1;
    std::string client = event.client_request_id();
    if (client.rfind(kClientIdPrefix, 0) != 0 ||
        !absl::SimpleAtoi(client.substr(std::strlen(kClientIdPrefix)),
                          &index)) {
      continue;
    }
    by_index[index].push_back(&event);
  }
  int missing = 0, doubled = 0;
  for (int i = 0; i < n; ++i) {
    size_t count = by_index.count(i) ? by_index[i].size() : 0;
    if (count == 0 && ++missing <= 5) {
      ADD_FAILURE() << "request " << i << " (" << plan[i].label
                    << ") has no usage event; client saw " << outcomes[i].status
                    << " " << outcomes[i].error;
    }
    if (count > 1 && ++doubled <= 5) {
      ADD_FAILURE() << "request " << i << " has " << count << " usage events";
    }
    if (count == 1 && !outcomes[i].request_id.empty()) {
      EXPECT_EQ(by_index[i][0]->request_id(), outcomes[i].request_id) << i;
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(doubled, 0);
  ASSERT_EQ(missing + doubled, 0);

  // No stream that got content is metered at $0 (answers from sluice's
  // cache are free by default: their tenant's price, not the upstream's).
  int free_streams = 0, streams_with_content = 0, from_cache = 0;
  std::map<std::string, int> labels;
  std::map<std::string, absl::Duration> slowest;
  for (int i = 0; i < n; ++i) {
    const sluice::v1::UsageEvent& event = *by_index[i][0];
    bool cached = event.decision().cache() == "hit" ||
                  event.decision().cache() == "shared";
    from_cache += cached ? 1 : 0;
    std::string label =
        plan[i].label.substr(0, plan[i].label.find(" x-sim-fault-times"));
    ++labels[label];
    slowest[label] = std::max(slowest[label], outcomes[i].took);
    if (!plan[i].stream || outcomes[i].token_chunks == 0 || cached) continue;
    ++streams_with_content;
    if ((event.decision().price_micro_usd() <= 0 ||
         event.usage().completion_tokens() <= 0) &&
        ++free_streams <= 5) {
      ADD_FAILURE() << "stream " << i << " (" << plan[i].label << ") got "
                    << outcomes[i].token_chunks
                    << " token chunks but is metered "
                    << event.ShortDebugString();
    }
  }
  EXPECT_EQ(free_streams, 0) << "of " << streams_with_content;
  {
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&outcomes](int a, int b) {
      return outcomes[a].took > outcomes[b].took;
    });
    for (int k = 0; k < 8 && k < n; ++k) {
      int i = order[k];
      std::printf("slow: %d %s %s stream=%d status=%ld %s\n", i,
                  absl::FormatDuration(outcomes[i].took).c_str(),
                  plan[i].label.c_str(), plan[i].stream, outcomes[i].status,
                  by_index[i][0]->decision().ShortDebugString().c_str());
    }
  }
  std::printf("%d streams with content, %d answers from the cache\n",
              streams_with_content, from_cache);
  for (const auto& [label, count] : labels) {
    std::printf("  %5d %s (slowest %s)\n", count, label.c_str(),
                absl::FormatDuration(slowest[label]).c_str());
  }

  // Per prompt (a request, its retries and its repeats), per token kind:
  // metered = what the simulator sent.
  std::map<std::string, std::vector<int>> requests_of;
  for (int i = 0; i < n; ++i) requests_of[plan[i].prompt_key].push_back(i);
  std::map<std::string, std::vector<Arrival>> arrivals_of;
  for (Arrival& arrival : SimArrivals(**gateway)) {
    arrivals_of[arrival.prompt_key].push_back(std::move(arrival));
  }
  tokenizer::TokenCounter counter(tokenizer::DefaultVocabDir());
  Tokens metered_total, sent_total;
  int mismatches = 0;
  for (const auto& [key, indices] : requests_of) {
    Tokens metered_whole, metered_estimated, sent_whole, sent_relayed;
    for (int i : indices) {
      const sluice::v1::UsageEvent& event = *by_index[i][0];
      const std::string& cache = event.decision().cache();
      if (cache == "hit" || cache == "shared") continue;
      (event.usage().estimated() ? metered_estimated : metered_whole)
          .Add(Metered(event.usage()));
    }
    for (const Arrival& arrival : arrivals_of[key]) {
      if (arrival.sent_usage) {
        sent_whole.Add(arrival.usage);
      } else if (arrival.sent_completion > 0) {
        sent_relayed.Add(Relayed(counter, plan[indices[0]],
                                 arrival.sent_completion,
                                 arrival.sent_reasoning));
      }
    }
    metered_total.Add(metered_whole);
    metered_total.Add(metered_estimated);
    sent_total.Add(sent_whole);
    sent_total.Add(sent_relayed);
    if (metered_whole == sent_whole && metered_estimated == sent_relayed) {
      continue;
    }
    if (++mismatches > 10) continue;
    std::string who;
    for (int i : indices) {
      absl::StrAppend(&who, "\n  request ", i, " [", plan[i].label, "] client ",
                      outcomes[i].status, " ", outcomes[i].error, " chunks ",
                      outcomes[i].token_chunks, " event ",
                      by_index[i][0]->ShortDebugString());
    }
    for (const Arrival& arrival : arrivals_of[key]) {
      absl::StrAppend(&who, "\n  arrival usage ", arrival.usage.ToString(),
                      " sent ", arrival.sent_completion, " (reasoning ",
                      arrival.sent_reasoning, ") whole ", arrival.sent_usage);
    }
    ADD_FAILURE() << "prompt " << key << ": metered whole "
                  << metered_whole.ToString() << " vs sent "
                  << sent_whole.ToString() << "; metered estimated "
                  << metered_estimated.ToString() << " vs relayed "
                  << sent_relayed.ToString() << who;
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(metered_total, sent_total)
      << metered_total.ToString() << " vs " << sent_total.ToString();
  std::printf("metered %s, sent %s\n", metered_total.ToString().c_str(),
              sent_total.ToString().c_str());

  // Metering's totals are the events', per tenant.
  std::map<std::string, std::map<std::string, int64_t>> expected;
  for (const auto& [index, list] : by_index) {
    const sluice::v1::UsageEvent& event = *list[0];
    auto& tenant = expected[event.tenant()];
    tenant["requests"] += 1;
    tenant["prompt_tokens"] += event.usage().prompt_tokens();
    tenant["completion_tokens"] += event.usage().completion_tokens();
    tenant["reasoning_tokens"] += event.usage().reasoning_tokens();
    tenant["cached_tokens"] += event.usage().cached_tokens();
    tenant["price_micro_usd"] += event.decision().price_micro_usd();
  }
  std::map<std::string, std::map<std::string, int64_t>> live;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  do {
    live = LiveTotals(**gateway);
    if (live == expected) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  EXPECT_EQ(live, expected);

  // Replaying sluice.usage from offset 0 into a fresh metering changes no
  // total.
  char pattern[] = "/tmp/sluice-accounting.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  sluice::v1::Config config;
  config.mutable_metering()->set_sqlite_path(std::string(pattern) + "/m.db");
  config.mutable_metering()->set_consumer_group("accounting-replay");
  auto replay = metering::MeteringImpl::Create(config, (*gateway)->brokers());
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<metering::UsageStorePtr> replayed =
      metering::SqliteUsageStore::Open(std::string(pattern) + "/m.db");
  ASSERT_TRUE(replayed.ok());
  std::map<std::string, std::map<std::string, int64_t>> again;
  deadline = absl::Now() + absl::Seconds(60);
  do {
    again.clear();
    absl::StatusOr<sluice::v1::UsageReport> totals = (*replayed)->Totals("");
    if (totals.ok()) {
      for (const sluice::v1::UsageTotal& row : totals->totals()) {
        auto& tenant = again[row.tenant()];
        tenant["requests"] += row.requests();
        tenant["prompt_tokens"] += row.prompt_tokens();
        tenant["completion_tokens"] += row.completion_tokens();
        tenant["reasoning_tokens"] += row.reasoning_tokens();
        tenant["cached_tokens"] += row.cached_tokens();
        tenant["price_micro_usd"] += row.price_micro_usd();
      }
    }
    if (again == live) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  EXPECT_EQ(again, live);
  (*replay)->Stop();
  std::filesystem::remove_all(pattern);
}

INSTANTIATE_TEST_SUITE_P(Layouts, AccountingTest,
                         ::testing::Values(Gateway::Layout::kOneProcess,
                                           Gateway::Layout::kSplit),
                         [](const auto& info) {
                           return info.param == Gateway::Layout::kOneProcess
                                      ? "OneProcess"
                                      : "Split";
                         });

}  // namespace
}  // namespace sluice::testing

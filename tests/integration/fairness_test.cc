// Fairness at the issue's scale: tenant demo floods the provider with
// 10,000 Kafka job lines of long prompts (4 KB each) while tenant acme sends
// interactive requests to the same provider. acme's p99 stays within a
// stated bound of its unloaded p99, every line gets exactly one result, and
// the provider never sees more than its cap.
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/support/http_test_client.h"
#include "tests/support/subprocess.h"

namespace sluice::testing {
namespace {

// The provider: each call takes kUpstream and it takes kCap at once, so
// the flood runs at most kCap / kUpstream = 600 lines a second: 10,000
// lines take at least 17 s (about 27 s on 2 cores today), long enough to
// measure acme inside it, short enough for the suite. The jobs runner
// keeps up to kJobsAtOnce lines in the scheduler, so a FIFO queue would put
// an interactive request behind up to kJobsAtOnce / kCap * kUpstream =
// 1.7 s of batch work.
constexpr absl::Duration kUpstream = absl::Milliseconds(40);
constexpr int kCap = 24;
constexpr int kJobsAtOnce = 1024;
constexpr int kLines = 10000;
constexpr size_t kPromptBytes = 4096;
// The dev broker (librdkafka's mock cluster) keeps only the last 5 MB of
// each partition, dropping the oldest messages, read or not: 41 MB of lines
// produced at once would lose most of them. So demo produces like a client
// that respects its broker's retention: lines keyed by custom_id (spread
// over the topic's 4 partitions), in chunks of kChunk, never more than
// kAhead lines ahead of the results (12 MB: about 3 MB a partition). The
// gateway always has at least kAhead - kChunk lines waiting, more than it
// runs at once: the flood never lets up.
constexpr int kChunk = 1000;
constexpr int kAhead = 3000;
// acme's requests per measurement: the p99 of 100 is the second largest.
constexpr int kSamples = 100;

// One job line: a prompt of kPromptBytes, different for every line (the
// response cache must not answer any of them).
std::string LongJob(const std::string& custom_id) {
  std::string prompt = absl::StrCat("job ", custom_id, ":");
  static constexpr const char* kWords[] = {"river", "stone",  "lamp",   "orbit",
                                           "cedar", "violet", "harbor", "quartz"};
  for (size_t i = 0; prompt.size() < kPromptBytes; ++i) {
    absl::StrAppend(&prompt, " ", kWords[(i * 7 + custom_id.size()) % 8], i % 97);
  }
  return absl::StrCat(
      R"({"custom_id":")", custom_id,
      R"(","method":"POST","url":"/v1/chat/completions","body":{"model":"deepseek-chat",)",
      R"("temperature":0,"max_tokens":16,"messages":[{"role":"user","content":")", prompt,
      R"("}]}})");
}

absl::Duration P99(std::vector<absl::Duration> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() - 1 - samples.size() / 100];
}

class FairnessTest : public ::testing::Test {
 protected:
  // Runs a shell command line to its end; its stdout.
  static std::string Shell(const std::string& command) {
    absl::StatusOr<std::string> output = ShellOutput(command, absl::Seconds(120));
    EXPECT_TRUE(output.ok()) << output.status();
    return output.ok() ? *output : "";
  }

  // What `topic` holds now: key and value of each message (kcat -C).
  std::vector<std::pair<std::string, std::string>> Read(const std::string& topic) {
    std::string out = Shell(absl::StrCat("kcat -C -b ", gateway_->brokers(), " -t ", topic,
                                         " -o beginning -e -q -f '%k\\t%s\\n'"));
    std::vector<std::pair<std::string, std::string>> messages;
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      messages.push_back(absl::StrSplit(line, absl::MaxSplits('\t', 1)));
    }
    return messages;
  }

  // How many messages `topic` holds, cheaply: the offset after the last
  // message of each partition (only results are written to it). kcat reads
  // on from the last message while more arrive: the highest offset counts.
  int64_t CountOf(const std::string& topic) {
    std::string out = Shell(absl::StrCat("kcat -C -b ", gateway_->brokers(), " -t ", topic,
                                         " -o -1 -e -q -f '%p %o\\n'"));
    std::map<int, int64_t> ends;
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      std::pair<absl::string_view, absl::string_view> fields = absl::StrSplit(line, ' ');
      int partition = 0;
      int64_t offset = 0;
      if (absl::SimpleAtoi(fields.first, &partition) && absl::SimpleAtoi(fields.second, &offset)) {
        ends[partition] = std::max(ends[partition], offset + 1);
      }
    }
    int64_t count = 0;
    for (const auto& [partition, end] : ends) count += end;
    return count;
  }

  // Polls the results until there are `count` or `timeout` passes; the
  // last count.
  int64_t WaitForResults(int64_t count, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    int64_t done = CountOf("sluice.job-results");
    while (done < count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));  // a poll's period, not a wait for an event
      done = CountOf("sluice.job-results");
    }
    return done;
  }

  // demo's flood, kChunk lines at a time, at most kAhead ahead of the
  // results (see kAhead).
  void Flood() {
    for (int first = 0; first < kLines; first += kChunk) {
      if (WaitForResults(first + kChunk - kAhead, absl::Seconds(60)) < first + kChunk - kAhead) {
        ADD_FAILURE() << "the results stopped at fewer than " << first + kChunk - kAhead;
        return;
      }
      std::string file = absl::StrCat(::testing::TempDir(), "/flood-", first, ".jsonl");
      {
        std::ofstream out(file);
        for (int i = first; i < first + kChunk; ++i) {
          std::string custom_id = absl::StrCat("a-", i);
          out << custom_id << "\t" << LongJob(custom_id) << "\n";
        }
      }
      Shell(absl::StrCat("kcat -P -b ", gateway_->brokers(), " -t sluice.jobs -K '\\t'",
                         " -H 'authorization=Bearer ", kDemoKey, "' -l ", file));
      std::remove(file.c_str());
    }
  }

  // acme's interactive requests, one after another: how long each took.
  std::vector<absl::Duration> Interactive() {
    std::vector<absl::Duration> took;
    for (int i = 0; i < kSamples; ++i) {
      absl::Time start = absl::Now();
      HttpAnswer answer =
          HttpCall("POST", gateway_->http_base() + "/v1/chat/completions",
                   {absl::StrCat("Authorization: Bearer ", kAcmeKey),
                    "Content-Type: application/json", "x-sluice-cache: bypass"},
                   R"({"model":"deepseek-chat","messages":[{"role":"user","content":"now"}]})");
      took.push_back(absl::Now() - start);
      EXPECT_EQ(answer.status, 200) << answer.body << answer.error;
    }
    return took;
  }

  std::unique_ptr<Gateway> gateway_;
};

TEST_F(FairnessTest, InteractiveP99HoldsWhileTenThousandLongJobsFloodTheProvider) {
  GatewayOptions options;
  options.sim_ttft = kUpstream;
  options.sim_limits = absl::StrCat("{max_concurrency: ", kCap, "}");
  options.extra_yaml = absl::StrCat("jobs: {concurrency: ", kJobsAtOnce, "}\n");
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  gateway_ = *std::move(gateway);

  const absl::Duration unloaded = P99(Interactive());

  absl::Time flood_start = absl::Now();
  std::thread flood([this] { Flood(); });
  EXPECT_GE(WaitForResults(200, absl::Seconds(60)), 200) << "the flood never started";

  std::vector<absl::Duration> loaded_samples = Interactive();
  const absl::Duration loaded = P99(loaded_samples);
  const int64_t done_meanwhile = CountOf("sluice.job-results");
  std::cout << "acme's interactive p99: " << unloaded << " alone, " << loaded
            << " during the flood (slowest "
            << *std::max_element(loaded_samples.begin(), loaded_samples.end()) << "; "
            << done_meanwhile << " of " << kLines << " lines done by then)\n";
  // Measured inside the flood: it was still running when acme was done.
  EXPECT_LT(done_meanwhile, kLines) << "the flood ended too soon to tell";
  // The bound: the unloaded p99, plus one upstream call (an interactive
  // request waits for at most one in-flight call; batch work leaves it a
  // slot, so in fact it waits for none), plus 200 ms for the CPU the flood
  // takes from it: each line's 4 KB is parsed, routed, metered and its
  // result produced, on 2 cores that the suite shares between two tests
  // (two of these floods at once measured 47 -> 117 ms and 46 -> 149 ms;
  // alone 46 -> 52-61 ms). Still far under the 1.7 s a FIFO would cost.
  EXPECT_LE(loaded, unloaded + kUpstream + absl::Milliseconds(200));

  // Every line of demo's gets exactly one result, a success; none is
  // dead-lettered.
  flood.join();
  WaitForResults(kLines, absl::Seconds(120));
  std::vector<std::pair<std::string, std::string>> results = Read("sluice.job-results");
  std::cout << "the flood: " << results.size() << " results in " << absl::Now() - flood_start
            << "\n";
  std::map<std::string, int> per_line;
  int failed = 0;
  for (const auto& [custom_id, line] : results) {
    ++per_line[custom_id];
    rapidjson::Document result;
    result.Parse(line.c_str());
    bool ok = result.IsObject() && result.HasMember("response") && result["response"].IsObject() &&
              result["response"]["status_code"].IsInt() &&
              result["response"]["status_code"].GetInt() == 200;
    if (!ok && ++failed <= 3) ADD_FAILURE() << custom_id << ": " << line;
  }
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(per_line.size(), static_cast<size_t>(kLines));
  int missing = 0, repeated = 0;
  for (int i = 0; i < kLines; ++i) {
    auto it = per_line.find(absl::StrCat("a-", i));
    if (it == per_line.end()) {
      ++missing;
    } else if (it->second != 1) {
      ++repeated;
    }
  }
  EXPECT_EQ(missing, 0) << "lines without a result";
  EXPECT_EQ(repeated, 0) << "lines with more than one result";
  EXPECT_TRUE(Read("sluice.jobs.dlq").empty());

  // The provider never held more than kCap calls: a slot's next arrival
  // comes at least kUpstream after its last.
  HttpAnswer stats = HttpCall("GET", gateway_->sim_base() + "/sim/stats");
  rapidjson::Document doc;
  doc.Parse(stats.body.c_str());
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("arrivals")) << stats.error;
  std::vector<int64_t> ms;
  for (const auto& arrival : doc["arrivals"].GetArray()) ms.push_back(arrival["ms"].GetInt64());
  EXPECT_EQ(ms.size(), static_cast<size_t>(kLines + 2 * kSamples));
  std::sort(ms.begin(), ms.end());
  int overlaps = 0;
  for (size_t i = kCap; i < ms.size(); ++i) {
    overlaps += ms[i] - ms[i - kCap] < absl::ToInt64Milliseconds(kUpstream) - 1;
  }
  EXPECT_EQ(overlaps, 0) << "more than " << kCap << " calls reached the provider at once";
}

}  // namespace
}  // namespace sluice::testing

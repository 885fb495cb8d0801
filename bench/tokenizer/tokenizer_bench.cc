// Tokenizer speed, ours against llama.cpp's on the same vocabulary and text
// (bench/tokenizer/run.sh adds tiktoken from npm beside them). For each
// vocabulary and text: MB/s of both, the speed-up, and whether the tokens
// are the same. One thread each (our split of long texts into halves
// tokenized at once is off here; bench/tokenizer/run.sh's gateway table has
// it on); each is warmed once, then measured in five alternating rounds
// (medians, and the median ratio of the rounds). Times are the thread's
// CPU time, which other work on a shared machine disturbs far less than the
// wall clock.
//
//   sluice-tokenizer-bench VOCAB_DIR TEXT_DIR vocab[,vocab...] text[,text...]
//                          [--ours-only]
// --ours-only: ours alone for five seconds a text (to profile it).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/tokenizer/vocab_tokenizer.h"

namespace {

// The calling thread's CPU time.
struct Clock {
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<Clock, duration>;
  static time_point now() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return time_point(std::chrono::seconds(now.tv_sec) +
                      std::chrono::nanoseconds(now.tv_nsec));
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const bool ours_only =
      argc == 6 && absl::string_view(argv[5]) == "--ours-only";
  if (argc != 5 && !ours_only) {
    std::fprintf(stderr,
                 "usage: %s VOCAB_DIR TEXT_DIR vocab[,vocab...] "
                 "text[,text...]\n",
                 argv[0]);
    return 2;
  }
  const std::string vocab_dir = argv[1];
  const std::string text_dir = argv[2];
  std::printf(
      "vocab\ttext\tbytes\ttokens\tours_mb_s\tllama_mb_s\tspeedup\tsame\n");
  for (absl::string_view vocab : absl::StrSplit(argv[3], ',')) {
    auto tokenizer = sluice::tokenizer::VocabTokenizer::Load(
        absl::StrCat(vocab_dir, "/ggml-vocab-", vocab, ".gguf"));
    if (!tokenizer.ok()) {
      std::fprintf(stderr, "%s: %s\n", std::string(vocab).c_str(),
                   tokenizer.status().ToString().c_str());
      return 1;
    }
    // One thread, like llama.cpp's: no halves tokenized at once.
    (*tokenizer)->set_split_long_texts(false);
    if (!(*tokenizer)->fast()) {
      std::fprintf(stderr, "%s: not ours: %s\n", std::string(vocab).c_str(),
                   (*tokenizer)->fast_status().ToString().c_str());
    }
    for (absl::string_view name : absl::StrSplit(argv[4], ',')) {
      const std::string text =
          ReadFile(absl::StrCat(text_dir, "/", name, ".txt"));
      const double mb = static_cast<double>(text.size()) / 1e6;

      // Both warmed once (the first run of llama.cpp's regexes is slower),
      // then repeated for a while; the warm runs give the tokens compared.
      auto theirs = ours_only ? (*tokenizer)->Tokenize(text)
                              : (*tokenizer)->TokenizeWithLlama(text);
      auto ours = (*tokenizer)->Tokenize(text);
      auto repeat = [&](auto&& tokenize, double seconds) {
        int rounds = 0;
        const auto start = Clock::now();
        double spent = 0;
        do {
          if (!tokenize().ok()) return -1.0;
          ++rounds;
          spent = Seconds(Clock::now() - start);
        } while (spent < seconds);
        return mb * rounds / spent;
      };
      // Five rounds of each, side by side, so that a slower spell of the
      // shared machine falls on both: the medians, and the median of the
      // five ratios.
      const int rounds = ours_only ? 1 : 5;
      std::vector<double> llama_runs;
      std::vector<double> our_runs;
      std::vector<double> ratios;
      for (int round = 0; round < rounds; ++round) {
        const double llama =
            ours_only
                ? 1.0
                : repeat([&] { return (*tokenizer)->TokenizeWithLlama(text); },
                         0.2);
        const double mine = repeat([&] { return (*tokenizer)->Tokenize(text); },
                                   ours_only ? 5.0 : 0.2);
        if (mine < 0 || llama < 0) return 1;
        llama_runs.push_back(llama);
        our_runs.push_back(mine);
        ratios.push_back(mine / llama);
      }
      const double llama_mb_s = Median(llama_runs);
      const double ours_mb_s = Median(our_runs);
      const double speedup = Median(ratios);
      if (ours_mb_s < 0 || llama_mb_s < 0) return 1;
      const bool same = ours.ok() && theirs.ok() && *ours == *theirs;
      std::printf("%s\t%s\t%zu\t%zu\t%.1f\t%.2f\t%.0f\t%s\n",
                  std::string(vocab).c_str(), std::string(name).c_str(),
                  text.size(), ours.ok() ? ours->size() : 0, ours_mb_s,
                  llama_mb_s, speedup, same ? "yes" : "NO");
      std::fflush(stdout);
    }
  }
  return 0;
}

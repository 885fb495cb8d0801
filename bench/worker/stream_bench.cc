// sluice-stream-bench: streams chat completions from an OpenAI-compatible
// endpoint (sluice's gateway, or llama-server) with C concurrent streams,
// closed loop, and reports what an inference server's users feel: output
// tokens per second over the run, time to first token, and the time between
// tokens of a stream.
//
// Prompts: "plain" (a short question each) or "shared" (four long system
// prompts in a fixed shuffled order, a different question each: what prefix
// caches and prefix-aware routing are for). Several --url are used in turn,
// request by request (client-side round robin).
//
// Prints one line:
//   RESULT streams=C requests=N errors=E tokens=T seconds=S tok_s=..
//          ttft_p50=.. ttft_p99=.. itl_p50=.. itl_p99=.. cached=..
// (milliseconds; cached = cached prompt tokens / prompt tokens where the
// server reports them, else -1).
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> urls;
  std::vector<std::string> headers;
  std::string model = "local";
  std::string prompts = "plain";
  int concurrency = 1;
  int requests = 16;
  int max_tokens = 64;
  int system_bytes = 4000;
  bool trace = false;  // one TRACE line per request on stderr
};

struct Stream {
  Clock::time_point sent;
  std::vector<Clock::time_point> tokens;
  std::string pending;  // a partial SSE line
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = -1;
};

std::string JsonString(const std::string& text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  return buffer.GetString();
}

void OnEvent(Stream& stream, const std::string& data) {
  if (data == "[DONE]") return;
  rapidjson::Document doc;
  doc.Parse(data.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return;
  if (doc.HasMember("choices") && doc["choices"].IsArray()) {
    for (const auto& choice : doc["choices"].GetArray()) {
      if (!choice.HasMember("delta")) continue;
      const auto& delta = choice["delta"];
      for (const char* field : {"content", "reasoning_content"}) {
        if (delta.HasMember(field) && delta[field].IsString() &&
            delta[field].GetStringLength() > 0) {
          stream.tokens.push_back(Clock::now());
          break;
        }
      }
    }
  }
  if (doc.HasMember("usage") && doc["usage"].IsObject()) {
    const auto& usage = doc["usage"];
    if (usage.HasMember("prompt_tokens") && usage["prompt_tokens"].IsInt64()) {
      stream.prompt_tokens = usage["prompt_tokens"].GetInt64();
    }
    if (usage.HasMember("prompt_tokens_details") &&
        usage["prompt_tokens_details"].IsObject() &&
        usage["prompt_tokens_details"].HasMember("cached_tokens")) {
      stream.cached_tokens = usage["prompt_tokens_details"]["cached_tokens"].GetInt64();
    }
  }
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  Stream& stream = *static_cast<Stream*>(user);
  stream.pending.append(data, size * count);
  size_t start = 0;
  for (size_t end; (end = stream.pending.find('\n', start)) != std::string::npos;
       start = end + 1) {
    std::string line = stream.pending.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("data: ", 0) == 0) OnEvent(stream, line.substr(6));
  }
  stream.pending.erase(0, start);
  return size * count;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

std::vector<std::string> SystemPrompts(int bytes) {
  std::vector<std::string> prompts;
  for (const char* topic : {"rivers", "locks", "weirs", "canals"}) {
    std::string text = absl::StrCat("You answer questions about ", topic, ". ");
    while (static_cast<int>(text.size()) < bytes) {
      absl::StrAppend(&text, "Rule ", text.size(), ": be precise about ", topic,
                      " and cite the page. ");
    }
    prompts.push_back(text);
  }
  return prompts;
}

std::string Body(const Options& options, int index,
                 const std::vector<std::string>& systems,
                 const std::vector<int>& order) {
  std::string messages;
  if (options.prompts == "shared") {
    messages = absl::StrCat(R"({"role":"system","content":)",
                            JsonString(systems[order[index % order.size()]]),
                            R"(},{"role":"user","content":"Question number )",
                            index, R"("})");
  } else {
    messages = absl::StrCat(
        R"({"role":"user","content":"Request )", index,
        R"(: write a long story about a river and the people who live by it."})");
  }
  return absl::StrCat(R"({"model":")", options.model,
                      R"(","stream":true,"stream_options":{"include_usage":true},)",
                      R"("temperature":0,"max_tokens":)", options.max_tokens,
                      R"(,"messages":[)", messages, "]}");
}

bool Parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url") options.urls.push_back(value);
    else if (flag == "--header") options.headers.push_back(value);
    else if (flag == "--model") options.model = value;
    else if (flag == "--prompts") options.prompts = value;
    else if (flag == "--concurrency") { if (!absl::SimpleAtoi(value, &options.concurrency)) return false; }
    else if (flag == "--requests") { if (!absl::SimpleAtoi(value, &options.requests)) return false; }
    else if (flag == "--max-tokens") { if (!absl::SimpleAtoi(value, &options.max_tokens)) return false; }
    else if (flag == "--system-bytes") { if (!absl::SimpleAtoi(value, &options.system_bytes)) return false; }
    else if (flag == "--trace") options.trace = value == "1";
    else return false;
  }
  return !options.urls.empty() && options.concurrency > 0 && options.requests > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!Parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: sluice-stream-bench --url URL [--url URL]... "
                 "[--header 'K: V']... [--model M] [--prompts plain|shared] "
                 "[--concurrency C] [--requests N] [--max-tokens M] "
                 "[--system-bytes B] [--trace 1]\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::vector<std::string> systems = SystemPrompts(options.system_bytes);
  std::vector<int> order;
  std::mt19937 random(7);
  for (int i = 0; i < 64; ++i) order.push_back(static_cast<int>(random() % 4));

  std::atomic<int> next{0};
  std::atomic<int> errors{0};
  std::mutex mu;
  std::vector<double> ttft, itl;
  int64_t tokens = 0, prompt = 0, cached = 0;
  bool cached_known = false;
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < options.concurrency; ++t) {
    threads.emplace_back([&] {
      CURL* curl = curl_easy_init();
      curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
      for (const std::string& h : options.headers) headers = curl_slist_append(headers, h.c_str());
      for (int index; (index = next.fetch_add(1)) < options.requests;) {
        Stream stream;
        std::string body = Body(options, index, systems, order);
        const std::string& url = options.urls[index % options.urls.size()];
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &stream);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
        stream.sent = Clock::now();
        CURLcode code = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (code != CURLE_OK || status != 200 || stream.tokens.empty()) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        ttft.push_back(std::chrono::duration<double, std::milli>(
                           stream.tokens.front() - stream.sent).count());
        if (options.trace) {
          std::fprintf(stderr, "TRACE index=%d url=%zu sent=%.1f ttft=%.1f prompt=%lld cached=%lld\n",
                       index, index % options.urls.size(),
                       std::chrono::duration<double, std::milli>(stream.sent - start).count(),
                       ttft.back(), static_cast<long long>(stream.prompt_tokens),
                       static_cast<long long>(stream.cached_tokens));
        }
        for (size_t k = 1; k < stream.tokens.size(); ++k) {
          itl.push_back(std::chrono::duration<double, std::milli>(
                            stream.tokens[k] - stream.tokens[k - 1]).count());
        }
        tokens += static_cast<int64_t>(stream.tokens.size());
        if (stream.cached_tokens >= 0) {
          cached_known = true;
          prompt += stream.prompt_tokens;
          cached += stream.cached_tokens;
        }
      }
      curl_slist_free_all(headers);
      curl_easy_cleanup(curl);
    });
  }
  for (std::thread& thread : threads) thread.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "RESULT streams=%d requests=%d errors=%d tokens=%lld seconds=%.2f "
      "tok_s=%.1f ttft_p50=%.1f ttft_p99=%.1f itl_p50=%.2f itl_p99=%.2f "
      "cached=%.3f\n",
      options.concurrency, options.requests, errors.load(),
      static_cast<long long>(tokens), seconds, static_cast<double>(tokens) / seconds,
      Percentile(ttft, 0.5), Percentile(ttft, 0.99), Percentile(itl, 0.5),
      Percentile(itl, 0.99),
      cached_known && prompt > 0 ? static_cast<double>(cached) / static_cast<double>(prompt) : -1.0);
  curl_global_cleanup();
  return errors.load() == options.requests ? 1 : 0;
}

#include "tests/integration/api_calls.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"

namespace sluice::testing {
namespace {

constexpr char kBoundary[] = "sluice-test-boundary-5c2e";

}  // namespace

std::string Bearer(const std::string& key) {
  return absl::StrCat("Authorization: Bearer ", key);
}

HttpAnswer Call(const Gateway& gateway, const std::string& method,
                const std::string& path, const std::string& key,
                const std::string& body) {
  std::vector<std::string> headers = {"Content-Type: application/json"};
  if (!key.empty()) headers.push_back(Bearer(key));
  return HttpCall(method, gateway.http_base() + path, headers, body);
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return doc;
}

std::string Member(const rapidjson::Value& value, const char* name) {
  if (!value.IsObject() || !value.HasMember(name) || !value[name].IsString()) {
    return "";
  }
  return value[name].GetString();
}

std::string Ask(const std::string& content, const std::string& model,
                bool stream) {
  return absl::StrCat(
      R"({"model":")", model, R"(","stream":)", stream ? "true" : "false",
      R"(,"messages":[{"role":"user","content":")", content, R"("}]})");
}

std::string RandomText(int n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::uniform_int_distribution<int> pick(0, sizeof(kAlphabet) - 2);
  std::string text;
  for (int i = 0; i < n; ++i) text.push_back(kAlphabet[pick(device)]);
  return text;
}

HttpAnswer Upload(const Gateway& gateway, const std::string& jsonl,
                  const std::string& key) {
  std::string body = absl::StrCat(
      "--", kBoundary,
      "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n",
      "--", kBoundary,
      "\r\nContent-Disposition: form-data; name=\"file\"; "
      "filename=\"lines.jsonl\"\r\nContent-Type: "
      "application/octet-stream\r\n\r\n",
      jsonl, "\r\n--", kBoundary, "--\r\n");
  return HttpCall(
      "POST", gateway.http_base() + "/v1/files",
      {Bearer(key),
       absl::StrCat("content-type: multipart/form-data; boundary=", kBoundary)},
      body);
}

std::string BatchLines(const std::string& prefix, int lines,
                       const std::string& content) {
  std::string jsonl;
  for (int i = 0; i < lines; ++i) {
    absl::StrAppend(&jsonl, R"({"custom_id":")", prefix, "-", i,
                    R"(","method":"POST","url":"/v1/chat/completions","body":)",
                    Ask(absl::StrCat(content, " ", i)), "}\n");
  }
  return jsonl;
}

HttpAnswer CreateBatch(const Gateway& gateway, const std::string& file_id,
                       const std::string& key) {
  return Call(gateway, "POST", "/v1/batches", key,
              absl::StrCat(R"({"input_file_id":")", file_id,
                           R"(","endpoint":"/v1/chat/completions",)"
                           R"("completion_window":"24h","run_now":true})"));
}

rapidjson::Document AwaitBatch(const Gateway& gateway, const std::string& id,
                               const std::string& key,
                               const std::string& status) {
  rapidjson::Document batch;
  std::string last;
  absl::Time deadline = absl::Now() + kApiWait;
  while (absl::Now() < deadline) {
    HttpAnswer answer = Call(gateway, "GET", "/v1/batches/" + id, key);
    last = answer.body;
    batch = Json(answer.body);
    if (answer.status == 200 && Member(batch, "status") == status) {
      return batch;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ADD_FAILURE() << "batch " << id << " never got to " << status << ": " << last;
  return batch;
}

HttpAnswer AwaitAnswer(const Gateway& gateway, const std::string& path,
                       const std::string& key,
                       const std::function<bool(const std::string&)>& ready) {
  HttpAnswer answer;
  absl::Time deadline = absl::Now() + kApiWait;
  while (absl::Now() < deadline) {
    answer = Call(gateway, "GET", path, key);
    if (answer.status == 200 && ready(answer.body)) return answer;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ADD_FAILURE() << "GET " << path << " never got ready: " << answer.status
                << " " << answer.body;
  return answer;
}

bool HasUpstreamSpan(const std::string& body) {
  rapidjson::Document doc = Json(body);
  if (!doc.IsObject() || !doc.HasMember("trace")) return false;
  for (const auto& span : doc["trace"]["spans"].GetArray()) {
    if (span.HasMember("kind") && span["kind"].GetInt() == 3) return true;
  }
  return false;
}

std::string Shell(const std::string& command) {
  auto process = Subprocess::Start({"/bin/sh", "-c", command});
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return "";
  absl::StatusOr<int> code = (*process)->Wait(kApiWait);
  // (Every line it wrote has been read before its output is taken.)
  EXPECT_TRUE((*process)->WaitForEndOfOutput(kApiWait).ok());
  EXPECT_TRUE(code.ok() && *code == 0)
      << command << ": " << (*process)->Output();
  return (*process)->Output();
}

namespace {

// kcat -P of `jobs` (custom id, content) with `key`.
void ProduceJobLines(
    const Gateway& gateway,
    const std::vector<std::pair<std::string, std::string>>& jobs,
    const std::string& key) {
  std::string file = absl::StrCat(::testing::TempDir(), "/sluice-job-",
                                  RandomText(12), ".jsonl");
  {
    std::ofstream out(file);
    for (const auto& [custom_id, content] : jobs) {
      out << R"({"custom_id":")" << custom_id
          << R"(","method":"POST","url":"/v1/chat/completions",)"
          << R"("body":)" << Ask(content) << "}\n";
    }
  }
  Shell(absl::StrCat("kcat -P -b ", gateway.brokers(),
                     " -t sluice.jobs -k jobs -H 'authorization=Bearer ", key,
                     "' -l ", file));
  std::filesystem::remove(file);
}

}  // namespace

void ProduceJob(const Gateway& gateway, const std::string& custom_id,
                const std::string& key, const std::string& content) {
  ProduceJobLines(gateway, {{custom_id, content}}, key);
}

void ProduceJobs(const Gateway& gateway,
                 const std::vector<std::string>& custom_ids,
                 const std::string& key) {
  std::vector<std::pair<std::string, std::string>> jobs;
  for (const std::string& id : custom_ids) {
    jobs.emplace_back(id, absl::StrCat("job ", id));
  }
  ProduceJobLines(gateway, jobs, key);
}

std::vector<std::string> ReadTopic(const Gateway& gateway,
                                   const std::string& topic, size_t count) {
  absl::Time deadline = absl::Now() + kApiWait;
  std::vector<std::string> values;
  while (true) {
    std::string out = Shell(
        absl::StrCat("kcat -C -b ", gateway.brokers(), " -t ", topic,
                     " -o beginning -e -q -f '%s\\n' 2>/dev/null || true"));
    values = absl::StrSplit(out, '\n', absl::SkipEmpty());
    if (values.size() >= count) return values;
    if (absl::Now() > deadline) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ADD_FAILURE() << topic << " never held " << count << " messages (it has "
                << values.size() << ")";
  return values;
}

}  // namespace sluice::testing

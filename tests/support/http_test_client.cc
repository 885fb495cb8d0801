#include "tests/support/http_test_client.h"

#include <mutex>

#include <curl/curl.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"

namespace sluice::testing {
namespace {

size_t OnBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct Until {
  std::string* body;
  const std::function<bool(const std::string&)>* enough;
};

size_t OnBodyUntil(char* data, size_t size, size_t count, void* out) {
  Until& until = *static_cast<Until*>(out);
  until.body->append(data, size * count);
  return (*until.enough)(*until.body) ? 0 : size * count;  // 0: hang up
}

HttpAnswer Perform(const std::string& method, const std::string& url,
                   const std::vector<std::string>& headers,
                   const std::string& body,
                   std::function<bool(const std::string& body)> enough,
                   long timeout_ms);

size_t OnHeader(char* data, size_t size, size_t count, void* out) {
  absl::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    static_cast<HttpAnswer*>(out)->headers.emplace_back(
        absl::AsciiStrToLower(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * count;
}

ABSL_CONST_INIT absl::Mutex ca_mu(absl::kConstInit);
std::string& TrustedCaFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ca_mu) {
  static std::string* const file = new std::string();
  return *file;
}

}  // namespace

void TrustCaFile(const std::string& ca_file) {
  absl::MutexLock lock(&ca_mu);
  TrustedCaFile() = ca_file;
}

std::string HttpAnswer::Header(const std::string& lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

HttpAnswer HttpCall(const std::string& method, const std::string& url,
                    const std::vector<std::string>& headers,
                    const std::string& body) {
  return HttpCallUntil(method, url, headers, body, nullptr);
}

HttpAnswer HttpCallUntil(const std::string& method, const std::string& url,
                         const std::vector<std::string>& headers,
                         const std::string& body,
                         std::function<bool(const std::string& body)> enough) {
  return Perform(method, url, headers, body, std::move(enough), 30000);
}

HttpAnswer HttpCallWithin(const std::string& method, const std::string& url,
                          const std::vector<std::string>& headers,
                          const std::string& body, long timeout_ms) {
  return Perform(method, url, headers, body, nullptr, timeout_ms);
}

namespace {

HttpAnswer Perform(const std::string& method, const std::string& url,
                   const std::vector<std::string>& headers,
                   const std::string& body,
                   std::function<bool(const std::string& body)> enough,
                   long timeout_ms) {
  // curl_easy_init() would run curl_global_init() itself, which is not
  // thread-safe: the first calls of a test that starts with many threads
  // at once would race in it (and some of their transfers fail).
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpAnswer answer;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& header : headers) list = curl_slist_append(list, header.c_str());
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  std::string ca_file;
  {
    absl::MutexLock lock(&ca_mu);
    ca_file = TrustedCaFile();
  }
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  Until until{&answer.body, &enough};
  if (enough) {
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBodyUntil);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &until);
  } else {
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) answer.error = curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return answer;
}

}  // namespace

std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> data;
  for (absl::string_view event : absl::StrSplit(body, "\n\n", absl::SkipEmpty())) {
    for (absl::string_view line : absl::StrSplit(event, '\n')) {
      if (absl::ConsumePrefix(&line, "data: ")) data.emplace_back(line);
    }
  }
  return data;
}

}  // namespace sluice::testing

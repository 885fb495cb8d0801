#include "libs/trace/otlp_http_exporter.h"

#include <curl/curl.h>

#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/trace/otlp_json.h"

namespace sluice::trace {
namespace {

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

absl::StatusOr<std::unique_ptr<OtlpHttpExporter>> OtlpHttpExporter::Create(
    const std::string& endpoint, absl::Duration timeout) {
  if (!absl::StartsWith(endpoint, "http://") &&
      !absl::StartsWith(endpoint, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tracing.otlp_endpoint must be an http:// or https:// URL, not \"",
        endpoint, "\""));
  }
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string url = endpoint;
  while (absl::EndsWith(url, "/")) url.pop_back();
  if (!absl::EndsWith(url, "/v1/traces")) url += "/v1/traces";
  return std::unique_ptr<OtlpHttpExporter>(
      new OtlpHttpExporter(std::move(url), timeout, curl));
}

OtlpHttpExporter::~OtlpHttpExporter() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::Status OtlpHttpExporter::Export(sluice::v1::SpanBatch batch) {
  if (batch.spans_size() == 0) return absl::OkStatus();
  const std::string body = OtlpTracesJson(batch);
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout_)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("OTLP collector: ", curl_easy_strerror(code)));
  }
  if (status < 200 || status >= 300) {
    return absl::UnavailableError(
        absl::StrCat("OTLP collector answered HTTP ", status));
  }
  return absl::OkStatus();
}

}  // namespace sluice::trace

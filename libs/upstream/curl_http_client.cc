// HttpClient on libcurl's multi interface: one event thread drives every
// transfer; new calls and cancellations reach it through a queue and
// curl_multi_wakeup.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "libs/upstream/http_client.h"

namespace sluice::upstream {
namespace {

struct Transfer {
  CallId id = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpRequest request;
  HttpCallbacks callbacks;
  HttpResponseHead head;
  bool head_sent = false;
  bool got_byte = false;
  absl::Time started;
  absl::Time last_byte;
  char error[CURL_ERROR_SIZE] = {0};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (header_list != nullptr) curl_slist_free_all(header_list);
  }

  void SendHead() {
    if (head_sent) return;
    head_sent = true;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    head.status = static_cast<int>(code);
    if (callbacks.on_head) callbacks.on_head(head);
  }
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * count);
  t->got_byte = true;
  t->last_byte = absl::Now();
  if (absl::StartsWith(line, "HTTP/")) {
    t->head.headers.clear();  // a new response (after 100 Continue, ...)
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    t->head.headers.emplace_back(
        absl::AsciiStrToLower(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return line.size();
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->got_byte = true;
  t->last_byte = absl::Now();
  t->SendHead();
  if (t->callbacks.on_body) t->callbacks.on_body(absl::string_view(data, size * count));
  return size * count;
}

class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(const HttpClientOptions& options) : options_(options) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      options.max_total_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      options.max_host_connections);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    thread_ = std::thread([this] { Loop(); });
  }

  ~CurlHttpClient() override {
    stop_ = true;
    curl_multi_wakeup(multi_);
    thread_.join();
    for (auto& [id, transfer] : transfers_) {
      curl_multi_remove_handle(multi_, transfer->easy);
      if (transfer->callbacks.on_done) {
        transfer->callbacks.on_done(absl::CancelledError("client shut down"));
      }
    }
    transfers_.clear();
    {
      absl::MutexLock lock(&mu_);
      for (auto& transfer : incoming_) {
        if (transfer->callbacks.on_done) {
          transfer->callbacks.on_done(absl::CancelledError("client shut down"));
        }
      }
      incoming_.clear();
    }
    curl_multi_cleanup(multi_);
  }

  CallId Start(HttpRequest request, HttpCallbacks callbacks) override {
    auto transfer = std::make_unique<Transfer>();
    transfer->id = next_id_.fetch_add(1);
    transfer->request = std::move(request);
    transfer->callbacks = std::move(callbacks);
    CallId id = transfer->id;
    {
      absl::MutexLock lock(&mu_);
      incoming_.push_back(std::move(transfer));
    }
    curl_multi_wakeup(multi_);
    return id;
  }

  void Cancel(CallId id) override {
    {
      absl::MutexLock lock(&mu_);
      cancels_.push_back(id);
    }
    curl_multi_wakeup(multi_);
  }

 private:
  void Configure(Transfer& t) {
    CURL* easy = curl_easy_init();
    t.easy = easy;
    const HttpRequest& r = t.request;
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(r.connect_timeout)));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(r.total_timeout)));
    if (options_.http2) {
      curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    }
    for (const auto& [name, value] : r.headers) {
      t.header_list = curl_slist_append(t.header_list,
                                        absl::StrCat(name, ": ", value).c_str());
    }
    t.header_list = curl_slist_append(t.header_list, "Expect:");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.header_list);
    if (r.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else {
      if (r.method != "POST") {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      }
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(r.body.size()));
    }
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    t.started = t.last_byte = absl::Now();
  }

  void Finish(CallId id, absl::Status status) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(multi_, t->easy);
    if (status.ok()) t->SendHead();
    if (t->callbacks.on_done) t->callbacks.on_done(std::move(status));
  }

  absl::Status ResultStatus(Transfer& t, CURLcode code) {
    if (code == CURLE_OK) return absl::OkStatus();
    std::string detail = t.error[0] != '\0' ? t.error : curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT) {
      long connect_us = 0;
      curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME_T, &connect_us);
      return absl::DeadlineExceededError(
          connect_us == 0 ? absl::StrCat("connect timeout: ", detail)
                          : absl::StrCat("total timeout: ", detail));
    }
    return absl::UnavailableError(absl::StrCat("upstream connection: ", detail));
  }

  // Ends transfers past their first-byte or stall limit; returns how long
  // until the next such deadline.
  absl::Duration CheckDeadlines() {
    absl::Time now = absl::Now();
    absl::Duration next = absl::Seconds(1);
    std::vector<std::pair<CallId, std::string>> expired;
    for (auto& [id, t] : transfers_) {
      const HttpRequest& r = t->request;
      if (!t->got_byte && r.first_byte_timeout > absl::ZeroDuration()) {
        absl::Duration left = t->started + r.first_byte_timeout - now;
        if (left <= absl::ZeroDuration()) {
          expired.emplace_back(id, absl::StrCat("first byte: nothing for ",
                                                absl::FormatDuration(r.first_byte_timeout)));
          continue;
        }
        next = std::min(next, left);
      }
      if (t->got_byte && r.stall_timeout > absl::ZeroDuration()) {
        absl::Duration left = t->last_byte + r.stall_timeout - now;
        if (left <= absl::ZeroDuration()) {
          expired.emplace_back(id, absl::StrCat("stall: no bytes for ",
                                                absl::FormatDuration(r.stall_timeout)));
          continue;
        }
        next = std::min(next, left);
      }
    }
    for (auto& [id, why] : expired) Finish(id, absl::DeadlineExceededError(why));
    return next;
  }

  void Loop() {
    while (!stop_.load()) {
      std::vector<std::unique_ptr<Transfer>> incoming;
      std::vector<CallId> cancels;
      {
        absl::MutexLock lock(&mu_);
        incoming.swap(incoming_);
        cancels.swap(cancels_);
      }
      for (auto& t : incoming) {
        Configure(*t);
        curl_multi_add_handle(multi_, t->easy);
        transfers_[t->id] = std::move(t);
      }
      for (CallId id : cancels) Finish(id, absl::CancelledError("cancelled"));
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
        Finish(t->id, ResultStatus(*t, msg->data.result));
      }
      absl::Duration wait = CheckDeadlines();
      long curl_wait = -1;
      curl_multi_timeout(multi_, &curl_wait);
      int wait_ms = static_cast<int>(
          std::max<int64_t>(1, absl::ToInt64Milliseconds(wait)));
      if (curl_wait >= 0) wait_ms = std::min<int>(wait_ms, std::max<long>(curl_wait, 0));
      curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
    }
  }

  HttpClientOptions options_;
  CURLM* multi_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<CallId> next_id_{1};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  std::vector<CallId> cancels_ ABSL_GUARDED_BY(mu_);
  // Owned by the event thread.
  std::unordered_map<CallId, std::unique_ptr<Transfer>> transfers_;
};

}  // namespace

absl::string_view HttpResponseHead::Header(absl::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(
    const HttpClientOptions& options) {
  return std::make_unique<CurlHttpClient>(options);
}

absl::StatusOr<HttpResult> Fetch(HttpClient& client, HttpRequest request) {
  struct State {
    HttpResult result;
    absl::Status status;
    absl::Notification done;
  };
  auto state = std::make_shared<State>();
  HttpCallbacks callbacks;
  callbacks.on_head = [state](const HttpResponseHead& head) {
    state->result.status = head.status;
    state->result.headers = head.headers;
  };
  callbacks.on_body = [state](absl::string_view bytes) {
    state->result.body.append(bytes.data(), bytes.size());
  };
  callbacks.on_done = [state](absl::Status status) {
    state->status = std::move(status);
    state->done.Notify();
  };
  client.Start(std::move(request), std::move(callbacks));
  state->done.WaitForNotification();
  if (!state->status.ok()) return state->status;
  return state->result;
}

}  // namespace sluice::upstream

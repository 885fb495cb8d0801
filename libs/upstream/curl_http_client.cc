// HttpClient on libcurl's multi interface. One event thread owns the multi
// handle and every transfer; Start() and Cancel() reach it through a
// mutex-guarded queue and curl_multi_wakeup(). Keep-alive reuse is the multi
// handle's connection pool. First-byte and stall timeouts are our own timers,
// checked on every turn of the loop (curl's LOW_SPEED options are too coarse).
// Finished easy handles are reset and kept for the next transfer: creating
// and destroying one per request was a visible share of the loop's CPU.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/process/thread_name.h"
#include "libs/upstream/http_client.h"

namespace sluice::upstream {
namespace {

// The longest the loop sleeps when no deadline is nearer.
constexpr absl::Duration kMaxPollWait = absl::Seconds(1);
// Idle easy handles kept for reuse; more than this are destroyed.
constexpr size_t kMaxIdleEasyHandles = 256;

// Milliseconds for a curl timeout option; 0 (none) for zero or infinite.
long TimeoutMs(absl::Duration d) {
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) return 0;
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

struct Transfer {
  CallId id = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpRequest request;
  HttpCallbacks callbacks;
  HttpResponseHead head;
  bool head_sent = false;
  bool got_byte = false;
  // on_body asked to pause: the next write is refused (curl keeps it).
  bool pause_asked = false;
  // curl holds the transfer paused until Resume().
  bool paused = false;
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

  void Done(absl::Status status) {
    if (callbacks.on_done) callbacks.on_done(std::move(status));
  }
};

// CURLOPT_HEADERFUNCTION: one header line at a time, status lines included.
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * count);
  t->got_byte = true;
  t->last_byte = absl::Now();
  if (absl::StartsWith(line, "HTTP/")) {
    t->head.headers.clear();  // a new response: after 100 Continue, ...
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    t->head.headers.emplace_back(
        absl::AsciiStrToLower(
            absl::StripAsciiWhitespace(line.substr(0, colon))),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return line.size();
}

// CURLOPT_WRITEFUNCTION: body bytes of the final response.
size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->pause_asked) {
    // Not taken: curl keeps these bytes and hands them over again after
    // curl_easy_pause(CURLPAUSE_CONT).
    t->paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  t->got_byte = true;
  t->last_byte = absl::Now();
  t->SendHead();
  if (t->callbacks.on_body &&
      !t->callbacks.on_body(absl::string_view(data, size * count))) {
    t->pause_asked = true;
  }
  return size * count;
}

class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient(const HttpClientOptions& options, CURLM* multi)
      : options_(options), multi_(multi) {
    thread_ = std::thread([this] {
      process::NameThisThread("sluice-upstream");
      Loop();
    });
  }

  ~CurlHttpClient() override {
    stop_ = true;
    curl_multi_wakeup(multi_);
    thread_.join();
    // The event thread is gone: this thread now owns every transfer.
    for (auto& [id, t] : transfers_) curl_multi_remove_handle(multi_, t->easy);
    std::unordered_map<CallId, std::unique_ptr<Transfer>> running;
    running.swap(transfers_);
    std::vector<std::unique_ptr<Transfer>> queued;
    {
      absl::MutexLock lock(&mu_);
      queued.swap(incoming_);
    }
    for (auto& [id, t] : running)
      t->Done(absl::CancelledError("client shut down"));
    for (auto& t : queued) t->Done(absl::CancelledError("client shut down"));
    running.clear();
    queued.clear();
    for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  // HttpClient
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

  void Resume(CallId id) override {
    {
      absl::MutexLock lock(&mu_);
      resumes_.push_back(id);
    }
    curl_multi_wakeup(multi_);
  }

 private:
  // Builds the easy handle; false (with t.error set) when curl refuses.
  bool Configure(Transfer& t) {
    CURL* easy = nullptr;
    if (!idle_easy_.empty()) {
      easy = idle_easy_.back();
      idle_easy_.pop_back();
    } else {
      easy = curl_easy_init();
    }
    if (easy == nullptr) return false;
    t.easy = easy;
    const HttpRequest& r = t.request;
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
    if (curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str()) != CURLE_OK) {
      return false;
    }
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) {
      curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     TimeoutMs(r.connect_timeout));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, TimeoutMs(r.total_timeout));
    curl_easy_setopt(
        easy, CURLOPT_HTTP_VERSION,
        options_.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    for (const auto& [name, value] : r.headers) {
      t.header_list = curl_slist_append(
          t.header_list, absl::StrCat(name, ": ", value).c_str());
    }
    t.header_list = curl_slist_append(t.header_list, "Expect:");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.header_list);
    if (r.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (r.method != "POST" && r.body.empty()) {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else {
      if (r.method != "POST") {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      }
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
    }
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    t.started = t.last_byte = absl::Now();
    return true;
  }

  void Add(std::unique_ptr<Transfer> t) {
    if (!Configure(*t) || curl_multi_add_handle(multi_, t->easy) != CURLM_OK) {
      t->Done(absl::InvalidArgumentError(
          absl::StrCat("cannot start request: ", t->error)));
      return;
    }
    CallId id = t->id;
    transfers_[id] = std::move(t);
  }

  void Finish(CallId id, absl::Status status) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;  // already finished
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(multi_, t->easy);
    if (status.ok()) t->SendHead();
    t->Done(std::move(status));
    Recycle(*t);
  }

  // Takes the finished transfer's easy handle back for a later transfer.
  // curl_easy_reset() clears every option (ours point into the Transfer) and
  // keeps the handle's buffers and caches.
  void Recycle(Transfer& t) {
    // A handle curl still holds paused is not reused: its kept bytes must
    // never reach the next transfer.
    if (t.easy == nullptr || t.paused ||
        idle_easy_.size() >= kMaxIdleEasyHandles) {
      return;
    }
    curl_easy_reset(t.easy);
    idle_easy_.push_back(t.easy);
    t.easy = nullptr;
  }

  // The status for a finished transfer; curl's error buffer never holds
  // request headers or bodies.
  static absl::Status ResultStatus(Transfer& t, CURLcode code) {
    if (code == CURLE_OK) return absl::OkStatus();
    std::string detail =
        t.error[0] != '\0' ? t.error : curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT) {
      curl_off_t connect_us = 0;
      curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME_T, &connect_us);
      return absl::DeadlineExceededError(
          connect_us == 0 ? absl::StrCat("connect timeout: ", detail)
                          : absl::StrCat("total timeout: ", detail));
    }
    return absl::UnavailableError(
        absl::StrCat("upstream connection: ", detail));
  }

  // On the event thread. Unpausing may hand the kept bytes to OnBody at
  // once, which may ask to pause again.
  void ResumeTransfer(CallId id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    Transfer& t = *it->second;
    t.pause_asked = false;
    // The wait was ours, not the upstream's: timers start over.
    t.last_byte = absl::Now();
    if (t.paused) {
      t.paused = false;
      curl_easy_pause(t.easy, CURLPAUSE_CONT);
    }
  }

  // Ends transfers past their first-byte or stall limit; returns how long
  // until the nearest such deadline (at most kMaxPollWait).
  absl::Duration CheckDeadlines() {
    absl::Time now = absl::Now();
    absl::Duration next = kMaxPollWait;
    std::vector<std::pair<CallId, std::string>> expired;
    for (auto& [id, t] : transfers_) {
      const HttpRequest& r = t->request;
      absl::Duration limit =
          t->got_byte ? r.stall_timeout : r.first_byte_timeout;
      if (limit <= absl::ZeroDuration() || t->pause_asked) continue;
      absl::Duration left =
          (t->got_byte ? t->last_byte : t->started) + limit - now;
      if (left > absl::ZeroDuration()) {
        next = std::min(next, left);
        continue;
      }
      expired.emplace_back(id, t->got_byte
                                   ? absl::StrCat("stall: no bytes for ",
                                                  absl::FormatDuration(limit))
                                   : absl::StrCat("first byte: nothing for ",
                                                  absl::FormatDuration(limit)));
    }
    for (auto& [id, why] : expired)
      Finish(id, absl::DeadlineExceededError(why));
    return next;
  }

  void Loop() {
    while (!stop_.load()) {
      std::vector<std::unique_ptr<Transfer>> incoming;
      std::vector<CallId> cancels, resumes;
      {
        absl::MutexLock lock(&mu_);
        incoming.swap(incoming_);
        cancels.swap(cancels_);
        resumes.swap(resumes_);
      }
      for (auto& t : incoming) Add(std::move(t));
      for (CallId id : cancels) Finish(id, absl::CancelledError("cancelled"));
      for (CallId id : resumes) ResumeTransfer(id);
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
        absl::Status status = ResultStatus(*t, msg->data.result);
        Finish(t->id, std::move(status));
      }
      absl::Duration wait = CheckDeadlines();
      long curl_wait = -1;
      curl_multi_timeout(multi_, &curl_wait);
      // Round up so a deadline is past when we wake for it.
      long wait_ms = static_cast<long>(std::max<int64_t>(
          1,
          absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1)))));
      if (curl_wait >= 0) wait_ms = std::min(wait_ms, curl_wait);
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait_ms), nullptr);
    }
  }

  const HttpClientOptions options_;
  CURLM* const multi_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<CallId> next_id_{1};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  std::vector<CallId> cancels_ ABSL_GUARDED_BY(mu_);
  std::vector<CallId> resumes_ ABSL_GUARDED_BY(mu_);
  // Owned by the event thread (by the destructor once it has joined).
  std::unordered_map<CallId, std::unique_ptr<Transfer>> transfers_;
  std::vector<CURL*> idle_easy_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(
    const HttpClientOptions& options) {
  static std::once_flag global_init;
  static CURLcode init_result = CURLE_OK;
  std::call_once(global_init,
                 [] { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_result != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init: ", curl_easy_strerror(init_result)));
  }
  if (options.max_total_connections < 0 || options.max_host_connections < 0) {
    return absl::InvalidArgumentError("connection limits must not be negative");
  }
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    options.max_total_connections);
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    options.max_host_connections);
  // The idle-connection cache: libcurl's default is four times the transfers
  // running at the time, so it shrinks between bursts and closes keep-alive
  // connections that the next burst must open again (TIME_WAIT piles up).
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                    options.max_total_connections > 0
                        ? options.max_total_connections
                        : 256L);
  curl_multi_setopt(multi, CURLMOPT_PIPELINING,
                    options.http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
  return std::make_unique<CurlHttpClient>(options, multi);
}

}  // namespace sluice::upstream

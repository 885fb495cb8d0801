// HttpClient on libcurl's multi_socket interface, driven by an Asio
// io_context: curl's sockets and timer are Asio waits, every touch of the
// multi handle runs on one strand. On the process's shared I/O threads
// (HttpClientOptions::io) a request that arrived on a thread goes upstream,
// and its answer comes back, on that thread: no hand-off to an event thread
// and back (see libs/io/io_threads.h). Without one the client runs its own
// thread, as before.
//
// Keep-alive reuse is the multi handle's connection pool. First-byte and
// stall timeouts are our own, checked by a periodic timer while transfers
// run (curl's LOW_SPEED options are too coarse). Finished easy handles are
// reset and kept for the next transfer: creating and destroying one per
// request was a visible share of CPU.
#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/process/thread_name.h"
#include "libs/upstream/http_client.h"

namespace sluice::upstream {
namespace {

namespace asio = boost::asio;

// How often first-byte and stall limits are checked while transfers run.
constexpr auto kDeadlineTick = std::chrono::milliseconds(20);
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
      : options_(options),
        multi_(multi),
        owned_io_(options.io == nullptr ? std::make_unique<asio::io_context>(1)
                                        : nullptr),
        io_(options.io != nullptr ? *options.io : *owned_io_),
        strand_(asio::make_strand(io_)),
        curl_timer_(strand_),
        deadline_timer_(strand_) {
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlHttpClient::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlHttpClient::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    if (owned_io_ != nullptr) {
      work_.emplace(asio::make_work_guard(io_));
      thread_ = std::thread([this] {
        process::NameThisThread("sluice-upstream");
        io_.run();
      });
    }
  }

  ~CurlHttpClient() override {
    // Everything below runs on the strand; this thread waits for it. (Never
    // destroy the client on one of its io_context's threads.)
    std::promise<void> cleaned;
    asio::post(strand_, [this, &cleaned] {
      *stopped_ = true;
      std::vector<CallId> ids;
      for (auto& [id, t] : transfers_) ids.push_back(id);
      for (CallId id : ids) Finish(id, absl::CancelledError("client shut down"));
      curl_timer_.cancel();
      deadline_timer_.cancel();
      for (auto& [fd, socket] : sockets_) Forget(*socket);
      sockets_.clear();
      for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
      idle_easy_.clear();
      curl_multi_cleanup(multi_);
      multi_ = nullptr;
      cleaned.set_value();
    });
    cleaned.get_future().wait();
    if (owned_io_ != nullptr) {
      work_.reset();
      io_.stop();
      thread_.join();
    }
  }

  // HttpClient
  CallId Start(HttpRequest request, HttpCallbacks callbacks) override {
    auto transfer = std::make_shared<Transfer>();
    transfer->id = next_id_.fetch_add(1);
    transfer->request = std::move(request);
    transfer->callbacks = std::move(callbacks);
    CallId id = transfer->id;
    // Posted, never run inline: the caller may be inside one of this
    // client's callbacks, where curl refuses multi calls.
    asio::post(strand_, [this, transfer]() mutable { Add(std::move(transfer)); });
    return id;
  }

  void Cancel(CallId id) override {
    asio::post(strand_, [this, id] {
      Finish(id, absl::CancelledError("cancelled"));
    });
  }

  void Resume(CallId id) override {
    asio::post(strand_, [this, id] { ResumeTransfer(id); });
  }

 private:
  // What Asio waits on for one of curl's sockets. Shared with the pending
  // waits, which may complete after curl forgot the socket.
  struct Socket {
    explicit Socket(asio::io_context& io) : descriptor(io) {}
    asio::posix::stream_descriptor descriptor;
    curl_socket_t fd = CURL_SOCKET_BAD;
    int wanted = 0;  // CURL_POLL_IN / OUT / INOUT
    bool reading = false;
    bool writing = false;
    bool gone = false;
  };

  static int OnSocket(CURL*, curl_socket_t fd, int what, void* self, void*) {
    static_cast<CurlHttpClient*>(self)->Watch(fd, what);
    return 0;
  }

  static int OnTimer(CURLM*, long timeout_ms, void* self) {
    static_cast<CurlHttpClient*>(self)->ArmCurlTimer(timeout_ms);
    return 0;
  }

  void Watch(curl_socket_t fd, int what) {
    auto it = sockets_.find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (it != sockets_.end()) {
        Forget(*it->second);
        sockets_.erase(it);
      }
      return;
    }
    if (it == sockets_.end()) {
      auto socket = std::make_shared<Socket>(io_);
      socket->fd = fd;
      boost::system::error_code ec;
      socket->descriptor.assign(fd, ec);
      if (ec) return;
      it = sockets_.emplace(fd, std::move(socket)).first;
    }
    it->second->wanted = what;
    Arm(it->second);
  }

  // Stops waiting on a socket curl is done with, without closing it (curl
  // does that).
  static void Forget(Socket& socket) {
    socket.gone = true;
    boost::system::error_code ignored;
    socket.descriptor.cancel(ignored);
    socket.descriptor.release();
  }

  void Arm(const std::shared_ptr<Socket>& socket) {
    bool want_read = socket->wanted == CURL_POLL_IN || socket->wanted == CURL_POLL_INOUT;
    bool want_write = socket->wanted == CURL_POLL_OUT || socket->wanted == CURL_POLL_INOUT;
    if (want_read && !socket->reading) {
      Wait(socket, /*read=*/true);
      // Asio's epoll is edge-triggered and a wait is never speculative: an
      // answer that arrived before the wait was queued (the upstream can be
      // that quick) raised its edge already. Look once, and act if so.
      pollfd check{socket->fd, POLLIN, 0};
      if (::poll(&check, 1, 0) > 0) {
        asio::post(strand_, [this, socket] {
          if (!socket->gone) Act(socket, CURL_CSELECT_IN);
        });
      }
    }
    if (want_write && !socket->writing) Wait(socket, /*read=*/false);
  }

  // One wait (a wait is one-shot) for the socket to become readable or
  // writable, then curl acts on it.
  void Wait(const std::shared_ptr<Socket>& socket, bool read) {
    (read ? socket->reading : socket->writing) = true;
    socket->descriptor.async_wait(
        read ? asio::posix::stream_descriptor::wait_read
             : asio::posix::stream_descriptor::wait_write,
        asio::bind_executor(strand_, [this, socket, read](boost::system::error_code ec) {
          (read ? socket->reading : socket->writing) = false;
          if (ec || socket->gone) return;
          Act(socket, read ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
        }));
  }

  void Act(const std::shared_ptr<Socket>& socket, int event) {
    if (*stopped_) return;
    int running = 0;
    curl_multi_socket_action(multi_, socket->fd, event, &running);
    Collect();
    // Still wanted: wait again (a wait is one-shot).
    if (!socket->gone) Arm(socket);
  }

  // curl's timer. Moving an Asio timer costs a timerfd_settime and the
  // reactor's lock each time, and curl moves its timer on almost every
  // call (a tenth of the gateway's CPU under load): so "now" is a post, and
  // a wait that already ends no later than curl asks is kept. Running
  // curl's timeout early is allowed: curl then announces its timer again,
  // even when it is unchanged (multi.c clears timer_lastcall for
  // CURL_SOCKET_TIMEOUT), and a wait left pending for a timer curl
  // deleted finds nothing to do.
  void ArmCurlTimer(long timeout_ms) {
    if (timeout_ms < 0) return;
    if (timeout_ms == 0) {
      if (curl_timeout_posted_) return;
      curl_timeout_posted_ = true;
      asio::post(strand_, [this, stopped = stopped_] {
        if (*stopped) return;  // the client may be gone
        curl_timeout_posted_ = false;
        RunCurlTimeout();
      });
      return;
    }
    const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    if (curl_timer_armed_ && curl_timer_.expiry() <= due) return;
    curl_timer_armed_ = true;
    curl_timer_.expires_at(due);  // the wait it replaces ends aborted
    curl_timer_.async_wait([this, stopped = stopped_](boost::system::error_code ec) {
      if (*stopped || ec) return;  // stopped: the client may be gone
      curl_timer_armed_ = false;
      RunCurlTimeout();
    });
  }

  void RunCurlTimeout() {
    int running = 0;
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    Collect();
  }

  // While transfers run, checks their first-byte and stall limits.
  void ArmDeadlines() {
    if (deadlines_armed_ || transfers_.empty()) return;
    deadlines_armed_ = true;
    deadline_timer_.expires_after(kDeadlineTick);
    deadline_timer_.async_wait([this, stopped = stopped_](boost::system::error_code ec) {
      if (*stopped) return;  // the client may be gone: touch none of it
      deadlines_armed_ = false;
      if (ec) return;
      CheckDeadlines();
      ArmDeadlines();
    });
  }

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

  void Add(std::shared_ptr<Transfer> t) {
    if (*stopped_) {
      t->Done(absl::CancelledError("client shut down"));
      return;
    }
    if (!Configure(*t) || curl_multi_add_handle(multi_, t->easy) != CURLM_OK) {
      t->Done(absl::InvalidArgumentError(
          absl::StrCat("cannot start request: ", t->error)));
      Recycle(*t);
      return;
    }
    transfers_[t->id] = std::move(t);
    ArmDeadlines();
    // Start it now rather than on curl's zero timer: the request goes out
    // from this turn of the loop.
    int running = 0;
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    Collect();
  }

  // Ends the transfers curl says are done.
  void Collect() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      absl::Status status = ResultStatus(*t, msg->data.result);
      Finish(t->id, std::move(status));
    }
  }

  void Finish(CallId id, absl::Status status) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;  // already finished
    std::shared_ptr<Transfer> t = std::move(it->second);
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
    if (t.easy == nullptr || t.paused || *stopped_ ||
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

  // Reads on after on_body returned false. Unpausing may hand the kept
  // bytes to OnBody at once, which may ask to pause again.
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
      Collect();
    }
  }

  // Ends transfers past their first-byte or stall limit.
  void CheckDeadlines() {
    absl::Time now = absl::Now();
    std::vector<std::pair<CallId, std::string>> expired;
    for (auto& [id, t] : transfers_) {
      const HttpRequest& r = t->request;
      absl::Duration limit =
          t->got_byte ? r.stall_timeout : r.first_byte_timeout;
      if (limit <= absl::ZeroDuration() || t->pause_asked) continue;
      absl::Duration left =
          (t->got_byte ? t->last_byte : t->started) + limit - now;
      if (left > absl::ZeroDuration()) continue;
      expired.emplace_back(id, t->got_byte
                                   ? absl::StrCat("stall: no bytes for ",
                                                  absl::FormatDuration(limit))
                                   : absl::StrCat("first byte: nothing for ",
                                                  absl::FormatDuration(limit)));
    }
    for (auto& [id, why] : expired) {
      Finish(id, absl::DeadlineExceededError(why));
    }
  }

  const HttpClientOptions options_;
  CURLM* multi_;
  std::unique_ptr<asio::io_context> owned_io_;  // without options.io
  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
      work_;
  std::thread thread_;
  std::atomic<CallId> next_id_{1};
  // Touched on the strand only.
  asio::steady_timer curl_timer_;
  bool curl_timer_armed_ = false;     // a wait on curl_timer_ is pending
  bool curl_timeout_posted_ = false;  // a RunCurlTimeout is posted
  asio::steady_timer deadline_timer_;
  bool deadlines_armed_ = false;
  // Set on the strand by the destructor. A timer's handler holds it: on a
  // shared io_context a cancelled (or already expired) wait's handler runs
  // after the destructor has returned, and must then touch nothing else.
  const std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
  std::unordered_map<CallId, std::shared_ptr<Transfer>> transfers_;
  std::unordered_map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
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

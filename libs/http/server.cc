// Server: acceptor, I/O threads and the list of open sessions.
#include "libs/http/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/http/session.h"
#include "libs/http/tls_context.h"
#include "libs/obs/metrics.h"
#include "libs/process/thread_name.h"

namespace sluice::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Counts the live sessions: each holds a share of it, and the server waits
// for them all to go before it does.
class SessionCount {
 public:
  std::shared_ptr<void> Join() {
    {
      absl::MutexLock lock(&mu_);
      ++live_;
    }
    return std::shared_ptr<void>(nullptr, [this](void*) {
      absl::MutexLock lock(&mu_);
      --live_;
    });
  }
  bool WaitForNone(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_ == 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
  }

 private:
  absl::Mutex mu_;
  int live_ ABSL_GUARDED_BY(mu_) = 0;
};

obs::Gauge& OpenConnectionsGauge() {
  static obs::Gauge& gauge = obs::MetricsRegistry::Default().gauge(
      "sluice_http_connections_open",
      "Client connections the HTTP API holds open.");
  return gauge;
}

obs::Counter& ConnectionsOverCapCounter(absl::string_view outcome) {
  return obs::MetricsRegistry::Default().counter(
      "sluice_http_connections_over_cap_total",
      "Connections that came while the HTTP API held server.max_connections: "
      "answered 503 (outcome=answered) or closed at once (outcome=closed).",
      {{"outcome", std::string(outcome)}});
}

class ServerImpl : public Server {
 public:
  ServerImpl(const ServerOptions& options, Handler handler)
      : options_(options),
        handler_(std::move(handler)),
        owned_io_(options.io == nullptr
                      ? std::make_unique<asio::io_context>(options.threads)
                      : nullptr),
        io_(options.io != nullptr ? *options.io : *owned_io_),
        acceptor_(asio::make_strand(io_)) {}

  ~ServerImpl() override { Shutdown(); }

  absl::Status Listen() {
    if (!options_.tls_certificate_file.empty() ||
        !options_.tls_private_key_file.empty()) {
      absl::StatusOr<std::unique_ptr<asio::ssl::context>> tls =
          ServerTlsContext(options_.tls_certificate_file,
                           options_.tls_private_key_file);
      if (!tls.ok()) return tls.status();
      tls_ = *std::move(tls);
    }
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec)
      return absl::InvalidArgumentError(
          absl::StrCat("bad host ", options_.host));
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options_.host, ":", options_.port,
                       ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    if (owned_io_ == nullptr) return absl::OkStatus();  // theirs run it
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] {
        process::NameThisThread("sluice-http");
        io_.run();
      });
    }
    return absl::OkStatus();
  }

  uint16_t port() const override { return port_; }

  void StopAccepting() override {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_ || draining_) return;
      draining_ = true;
      for (auto& weak : sessions_) {
        if (auto session = weak.lock()) session->CloseWhenIdle();
      }
    }
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
  }

  void Shutdown() override {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    std::promise<void> closed;
    asio::post(acceptor_.get_executor(), [this, &closed] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      closed.set_value();
    });
    {
      absl::MutexLock lock(&mu_);
      for (auto& weak : sessions_) {
        if (auto session = weak.lock()) session->Close();
      }
      sessions_.clear();
    }
    if (owned_io_ == nullptr) {
      // Shared threads: they close the acceptor and the sessions; the
      // server (whose options and handler sessions use) waits for that.
      closed.get_future().wait();
      sessions_alive_.WaitForNone(absl::Seconds(10));
      return;
    }
    // Stop the I/O threads (possibly before the closes above have run).
    asio::post(io_, [this] { io_.stop(); });
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    // Run what io_.stop() overtook (the session closes) here, so every
    // socket is closed when Shutdown() returns.
    io_.restart();
    io_.poll();
  }

 private:
  void Accept() {
    // The pending accept counts as a live session: a server on shared
    // threads waits for its handler too.
    acceptor_.async_accept(
        asio::make_strand(io_),
        [this, alive = sessions_alive_.Join()](boost::system::error_code ec,
                                               tcp::socket socket) {
          if (ec) return;  // acceptor closed
          bool over_cap = false;
          if (options_.max_connections > 0) {
            int64_t open = open_connections_.load(std::memory_order_relaxed);
            if (open >= options_.max_connections +
                            std::max(1, options_.max_connections / 8)) {
              static obs::Counter& closed = ConnectionsOverCapCounter("closed");
              closed.Increment();
              boost::system::error_code ignored;
              socket.close(ignored);
              return Accept();
            }
            over_cap = open >= options_.max_connections;
            if (over_cap) {
              static obs::Counter& answered =
                  ConnectionsOverCapCounter("answered");
              answered.Increment();
            }
          }
          auto session = std::make_shared<internal::Session>(
              std::move(socket), options_, handler_, sessions_alive_.Join(),
              CountConnection(), over_cap, tls_.get());
          {
            absl::MutexLock lock(&mu_);
            if (stopped_ || draining_) return;
            // Forget sessions that ended, so the list stays small.
            if (sessions_.size() > 1024) {
              std::erase_if(sessions_, [](auto& w) { return w.expired(); });
            }
            sessions_.push_back(session);
          }
          session->Start();
          Accept();
        });
  }

  // Held by a session for its connection's life.
  std::shared_ptr<void> CountConnection() {
    open_connections_.fetch_add(1, std::memory_order_relaxed);
    OpenConnectionsGauge().Add(1);
    return std::shared_ptr<void>(nullptr, [this](void*) {
      open_connections_.fetch_sub(1, std::memory_order_relaxed);
      OpenConnectionsGauge().Add(-1);
    });
  }

  const ServerOptions options_;
  const Handler handler_;
  SessionCount sessions_alive_;
  std::atomic<int64_t> open_connections_{0};
  std::unique_ptr<asio::ssl::context> tls_;  // null: plain HTTP
  std::unique_ptr<asio::io_context> owned_io_;  // without options.io
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::weak_ptr<internal::Session>> sessions_ ABSL_GUARDED_BY(mu_);
};

absl::string_view FindHeader(const Headers& headers,
                             absl::string_view lower_name) {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

}  // namespace

absl::string_view Request::Header(absl::string_view lower_name) const {
  return FindHeader(headers, lower_name);
}

absl::string_view RejectedRequest::Header(absl::string_view lower_name) const {
  return FindHeader(headers, lower_name);
}

absl::StatusOr<ServerPtr> StartServer(const ServerOptions& options,
                                      Handler handler) {
  auto server = std::make_unique<ServerImpl>(options, std::move(handler));
  if (absl::Status s = server->Listen(); !s.ok()) return s;
  return server;
}

}  // namespace sluice::http

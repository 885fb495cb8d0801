// A scriptable HTTP/1.1 server on loopback for testing the upstream client:
// each request is handed to a handler that writes raw bytes, pauses, resets
// or closes the connection, so tests can stage slow, stalled and broken
// answers. One thread per connection; keep-alive unless the handler closes.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sluice::upstream::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case
  std::string body;
  std::string Header(absl::string_view lower_name) const;
};

class TestServer;

// One request on one connection, as seen by a handler.
class Exchange {
 public:
  // False when the peer has gone away.
  bool Write(absl::string_view bytes);
  // Writes a complete response with Content-Length.
  bool Respond(int status, absl::string_view body,
               std::vector<std::pair<std::string, std::string>> headers = {});
  // Writes one chunk of a chunked body ("" writes the last chunk).
  bool WriteChunk(absl::string_view data);
  // Waits `d`, or less when the server stops; false when it stopped.
  bool Pause(absl::Duration d);
  // Ends the connection after the handler returns: Close() with a FIN,
  // Reset() with an RST.
  void Close() { close_ = true; }
  void Reset() { reset_ = true; }

 private:
  friend class TestServer;
  Exchange(TestServer* server, int fd) : server_(server), fd_(fd) {}
  TestServer* server_;
  int fd_;
  bool close_ = false;
  bool reset_ = false;
};

class TestServer {
 public:
  using Handler = std::function<void(const ReceivedRequest&, Exchange&)>;

  // Listens on 127.0.0.1, port 0.
  explicit TestServer(Handler handler);
  ~TestServer();

  int port() const { return port_; }
  std::string Url(absl::string_view target = "/") const;
  int connections_accepted() const { return accepted_.load(); }
  int requests_received() const { return requests_.load(); }
  // Waits until `n` requests have arrived; false after `timeout`.
  bool WaitForRequests(int n, absl::Duration timeout);

 private:
  friend class Exchange;
  void AcceptLoop();
  void Serve(int fd);
  bool stopping() const { return stopping_.load(); }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::thread accept_thread_;
  absl::Mutex mu_;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::upstream::testing

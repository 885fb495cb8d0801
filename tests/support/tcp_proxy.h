// A TCP forwarder on loopback for tests that need a server to stop
// answering the way a paused process does (SIGSTOP): connections stay open
// and bytes sent to it are accepted by the kernel, but nothing comes back.
// Freeze() holds every byte in both directions; Thaw() lets them through.
#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace sluice::testing {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards each connection to
  // 127.0.0.1:`target_port`.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(uint16_t target_port);
  // Closes every connection and joins its threads.
  ~TcpProxy();

  uint16_t port() const { return port_; }
  void Freeze();
  void Thaw();
  // Bytes clients sent while frozen that are held, not yet forwarded: > 0
  // once a client's request reached the frozen "server".
  int64_t held_from_clients() const;

 private:
  TcpProxy(int listener, uint16_t port, uint16_t target_port);

  void AcceptLoop();
  // Copies from `from` to `to` until either side ends.
  void Pump(int from, int to, bool from_client);

  const int listener_;
  const uint16_t port_;
  const uint16_t target_port_;

  mutable absl::Mutex mu_;
  bool frozen_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t held_from_clients_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> sockets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;  // last: starts once the rest exists
};

}  // namespace sluice::testing

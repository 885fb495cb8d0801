// A private redis-server child for tests that need to stop and restart
// Redis: started on a free port (or a given one) and ready when Start
// returns.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/subprocess.h"

namespace sluice::redis::testing {

class RedisServer {
 public:
  // The redis-server binary on PATH, or "" when it is not installed.
  static std::string BinaryPath();

  // Starts redis-server on `port` (0: a free one) and waits until it
  // accepts connections.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(int port = 0);

  // Stops the server (SIGTERM) and waits for it to exit; the port is free
  // again when this returns.
  void Stop();
  // Starts it again on the same port.
  absl::Status Restart();
  // SIGSTOP / SIGCONT: connections stay open and take commands, nothing is
  // answered until Resume() (a hung Redis, its data kept).
  void Pause();
  void Resume();

  int port() const { return port_; }
  std::string address() const;

 private:
  explicit RedisServer(int port) : port_(port) {}
  absl::Status Launch();

  int port_;
  std::unique_ptr<sluice::testing::Subprocess> process_;
};

}  // namespace sluice::redis::testing

#include "tests/libs/redis/redis_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sluice::redis::testing {
namespace {

// A port nobody listens on right now, picked by the kernel.
absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  if (port <= 0) return absl::InternalError("no free port");
  return port;
}

}  // namespace

std::string RedisServer::BinaryPath() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(
           path != nullptr ? path : "/usr/bin:/usr/local/bin", ':')) {
    std::string candidate = absl::StrCat(dir, "/redis-server");
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(int port) {
  if (port == 0) {
    absl::StatusOr<int> free_port = FreePort();
    if (!free_port.ok()) return free_port.status();
    port = *free_port;
  }
  std::unique_ptr<RedisServer> server(new RedisServer(port));
  if (absl::Status status = server->Launch(); !status.ok()) return status;
  return server;
}

absl::Status RedisServer::Launch() {
  std::string binary = BinaryPath();
  if (binary.empty()) return absl::NotFoundError("redis-server not installed");
  auto process = sluice::testing::Subprocess::Start(
      {binary, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",
       "", "--appendonly", "no", "--enable-debug-command", "local"});
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  absl::StatusOr<std::string> ready =
      process_->WaitForLine("Ready to accept connections", absl::Seconds(10));
  if (!ready.ok()) {
    return absl::InternalError(
        absl::StrCat("redis-server on port ", port_, " did not start: ",
                     ready.status().message(), "\n", process_->Output()));
  }
  return absl::OkStatus();
}

void RedisServer::Stop() { process_.reset(); }

absl::Status RedisServer::Restart() {
  Stop();
  return Launch();
}

void RedisServer::Pause() {
  if (process_ != nullptr) kill(process_->pid(), SIGSTOP);
}

void RedisServer::Resume() {
  if (process_ != nullptr) kill(process_->pid(), SIGCONT);
}

std::string RedisServer::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

}  // namespace sluice::redis::testing

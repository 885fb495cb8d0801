#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sluice::testing {
namespace {

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(
    uint16_t target_port) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return absl::InternalError("tcp proxy: socket");
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
          0 ||
      listen(listener, 64) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) !=
          0) {
    close(listener);
    return absl::InternalError(
        absl::StrCat("tcp proxy: listen: ", std::strerror(errno)));
  }
  return std::unique_ptr<TcpProxy>(
      new TcpProxy(listener, ntohs(address.sin_port), target_port));
}

TcpProxy::TcpProxy(int listener, uint16_t port, uint16_t target_port)
    : listener_(listener),
      port_(port),
      target_port_(target_port),
      acceptor_([this] { AcceptLoop(); }) {}

TcpProxy::~TcpProxy() {
  std::vector<std::thread> pumps;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // Wakes blocked accept, reads and writes.
    for (int fd : sockets_) shutdown(fd, SHUT_RDWR);
    pumps.swap(pumps_);
  }
  shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  // (No pump starts once stopping_ is set.)
  for (std::thread& pump : pumps) pump.join();
  absl::MutexLock lock(&mu_);
  for (int fd : sockets_) close(fd);
  close(listener_);
}

void TcpProxy::Freeze() {
  absl::MutexLock lock(&mu_);
  frozen_ = true;
}

void TcpProxy::Thaw() {
  absl::MutexLock lock(&mu_);
  frozen_ = false;
  held_from_clients_ = 0;
}

int64_t TcpProxy::held_from_clients() const {
  absl::MutexLock lock(&mu_);
  return held_from_clients_;
}

void TcpProxy::AcceptLoop() {
  while (true) {
    int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR) continue;
      return;  // shut down
    }
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in target = Loopback(target_port_);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&target),
                              sizeof(target)) != 0) {
      if (server >= 0) close(server);
      close(client);
      continue;
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      close(client);
      close(server);
      return;
    }
    sockets_.push_back(client);
    sockets_.push_back(server);
    pumps_.emplace_back([this, client, server] { Pump(client, server, true); });
    pumps_.emplace_back(
        [this, client, server] { Pump(server, client, false); });
  }
}

void TcpProxy::Pump(int from, int to, bool from_client) {
  char buffer[16384];
  while (true) {
    ssize_t n = recv(from, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    {
      absl::MutexLock lock(&mu_);
      if (frozen_ && from_client) held_from_clients_ += n;
      auto passable = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !frozen_ || stopping_;
      };
      mu_.Await(absl::Condition(&passable));
      if (stopping_) return;
    }
    if (!WriteAll(to, buffer, static_cast<size_t>(n))) break;
  }
  // The other direction sees the end too.
  shutdown(to, SHUT_WR);
}

}  // namespace sluice::testing

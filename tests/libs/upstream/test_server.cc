// Blocking POSIX sockets, one thread per connection: simple, and every
// pause is interruptible so the destructor returns promptly.
#include "tests/libs/upstream/test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sluice::upstream::testing {

std::string ReceivedRequest::Header(absl::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

bool Exchange::Write(absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool Exchange::Respond(
    int status, absl::string_view body,
    std::vector<std::pair<std::string, std::string>> headers) {
  std::string out = absl::StrCat("HTTP/1.1 ", status,
                                 " X\r\nContent-Length: ", body.size(), "\r\n");
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  absl::StrAppend(&out, "\r\n", body);
  return Write(out);
}

bool Exchange::WriteChunk(absl::string_view data) {
  return Write(absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n"));
}

bool Exchange::Pause(absl::Duration d) {
  absl::MutexLock lock(&server_->mu_);
  server_->mu_.AwaitWithTimeout(
      absl::Condition(
          +[](std::atomic<bool>* stopping) { return stopping->load(); },
          &server_->stopping_),
      d);
  return !server_->stopping_.load();
}

TestServer::TestServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
          0 ||
      ::listen(listen_fd_, 128) != 0) {
    std::abort();  // a test fixture: nothing sensible to do without a socket
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestServer::~TestServer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  accept_thread_.join();
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  ::close(listen_fd_);
}

std::string TestServer::Url(absl::string_view target) const {
  return absl::StrCat("http://127.0.0.1:", port_, target);
}

bool TestServer::WaitForRequests(int n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n] { return requests_.load() >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

void TestServer::AcceptLoop() {
  while (!stopping()) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping()) return;
      continue;
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    accepted_.fetch_add(1);
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

namespace {

// Reads one request from `fd`, keeping surplus bytes in `buffer`.
bool ReadRequest(int fd, std::string& buffer, ReceivedRequest& request) {
  char chunk[4096];
  size_t end;
  while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  std::vector<std::string> lines =
      absl::StrSplit(buffer.substr(0, end), "\r\n");
  buffer.erase(0, end + 4);
  std::vector<std::string> start = absl::StrSplit(lines[0], ' ');
  if (start.size() < 2) return false;
  request.method = start[0];
  request.target = start[1];
  size_t length = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    if (name == "content-length" && !absl::SimpleAtoi(value, &length)) {
      return false;
    }
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  while (buffer.size() < length) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  request.body = buffer.substr(0, length);
  buffer.erase(0, length);
  return true;
}

}  // namespace

void TestServer::Serve(int fd) {
  std::string buffer;
  bool reset = false;
  while (!stopping()) {
    ReceivedRequest request;
    if (!ReadRequest(fd, buffer, request)) break;
    {
      absl::MutexLock lock(&mu_);
      requests_.fetch_add(1);
    }
    Exchange exchange(this, fd);
    handler_(request, exchange);
    if (exchange.reset_) reset = true;
    if (exchange.close_ || exchange.reset_) break;
  }
  absl::MutexLock lock(&mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd),
                  open_fds_.end());
  if (reset) {
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  }
  ::close(fd);
}

}  // namespace sluice::upstream::testing

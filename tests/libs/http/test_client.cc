// Raw-socket HTTP test client; see test_client.h.
#include "tests/libs/http/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace sluice::http::testing {

TestClient::TestClient(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
  }
}

TestClient::~TestClient() { Close(); }

void TestClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool TestClient::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

bool TestClient::ReadSome(absl::Time deadline) {
  if (fd_ < 0) return false;
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return false;
  pollfd pfd{fd_, POLLIN, 0};
  if (::poll(&pfd, 1, absl::ToInt64Milliseconds(left) + 1) <= 0) return false;
  char data[4096];
  ssize_t n = ::recv(fd_, data, sizeof(data), 0);
  if (n <= 0) return false;
  buffer_.append(data, n);
  return true;
}

std::optional<size_t> TestClient::ReadUntil(absl::string_view text,
                                            absl::Time deadline) {
  while (true) {
    size_t pos = buffer_.find(text.data(), 0, text.size());
    if (pos != std::string::npos) return pos;
    if (!ReadSome(deadline)) return std::nullopt;
  }
}

bool TestClient::ReadAtLeast(size_t size, absl::Time deadline) {
  while (buffer_.size() < size) {
    if (!ReadSome(deadline)) return false;
  }
  return true;
}

std::optional<TestResponse> TestClient::ReadHead(absl::Duration timeout) {
  std::optional<size_t> end = ReadUntil("\r\n\r\n", absl::Now() + timeout);
  if (!end) return std::nullopt;
  std::string head = buffer_.substr(0, *end);
  buffer_.erase(0, *end + 4);
  std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
  TestResponse response;
  std::vector<std::string> status_line =
      absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &response.status)) {
    return std::nullopt;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) return std::nullopt;
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  auto te = response.headers.find("transfer-encoding");
  response.chunked = te != response.headers.end() &&
                     absl::AsciiStrToLower(te->second) == "chunked";
  return response;
}

bool TestClient::ReadBody(TestResponse& response, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  if (!response.chunked) {
    size_t length = 0;
    auto it = response.headers.find("content-length");
    if (it != response.headers.end() &&
        !absl::SimpleAtoi(it->second, &length)) {
      return false;
    }
    if (!ReadAtLeast(length, deadline)) return false;
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return true;
  }
  while (true) {
    std::optional<size_t> eol = ReadUntil("\r\n", deadline);
    if (!eol) return false;
    size_t size = 0;
    std::string size_text = buffer_.substr(0, *eol);
    size_text = size_text.substr(0, size_text.find(';'));
    if (!absl::SimpleHexAtoi(size_text, &size)) return false;
    buffer_.erase(0, *eol + 2);
    if (size == 0) {  // no trailers expected: just the final CRLF
      if (!ReadAtLeast(2, deadline) || buffer_.compare(0, 2, "\r\n") != 0) {
        return false;
      }
      buffer_.erase(0, 2);
      return true;
    }
    if (!ReadAtLeast(size + 2, deadline)) return false;
    if (buffer_.compare(size, 2, "\r\n") != 0) return false;
    response.body.append(buffer_, 0, size);
    buffer_.erase(0, size + 2);
  }
}

std::optional<TestResponse> TestClient::ReadResponse(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::optional<TestResponse> response = ReadHead(timeout);
  if (!response || !ReadBody(*response, deadline - absl::Now())) {
    return std::nullopt;
  }
  return response;
}

bool TestClient::WaitForClose(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (fd_ >= 0 && absl::Now() < deadline) {
    pollfd pfd{fd_, POLLIN, 0};
    int left = absl::ToInt64Milliseconds(deadline - absl::Now()) + 1;
    if (::poll(&pfd, 1, left) <= 0) return false;
    char data[4096];
    ssize_t n = ::recv(fd_, data, sizeof(data), 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
    buffer_.append(data, n);
  }
  return false;
}

std::string MakeRequest(absl::string_view method, absl::string_view target,
                        absl::string_view body,
                        absl::string_view extra_headers) {
  std::string request = absl::StrCat(
      method, " ", target, " HTTP/1.1\r\nHost: localhost\r\n", extra_headers);
  if (!body.empty() || method == "POST") {
    absl::StrAppend(&request, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);
  return request;
}

}  // namespace sluice::http::testing

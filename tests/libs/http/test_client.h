// A blocking HTTP/1.1 test client on a raw POSIX socket, with a deadline on
// every read so a broken server fails the test instead of hanging it. It
// de-chunks chunked bodies itself, so tests see the exact bytes sent.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/http/server.h"

namespace sluice::http::testing {

struct TestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked
  bool chunked = false;
};

class TestClient {
 public:
  explicit TestClient(uint16_t port);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool Send(absl::string_view bytes);
  // Reads the status line and headers only.
  std::optional<TestResponse> ReadHead(
      absl::Duration timeout = absl::Seconds(5));
  // Reads the body that belongs to `head` (Content-Length or chunked).
  bool ReadBody(TestResponse& head, absl::Duration timeout = absl::Seconds(5));
  std::optional<TestResponse> ReadResponse(
      absl::Duration timeout = absl::Seconds(5));
  // True if the server closes the connection before `timeout`.
  bool WaitForClose(absl::Duration timeout = absl::Seconds(5));
  void Close();

 private:
  // Reads until buffer_ holds `text` (returns its position) or the deadline.
  std::optional<size_t> ReadUntil(absl::string_view text, absl::Time deadline);
  bool ReadAtLeast(size_t size, absl::Time deadline);
  // One recv() before the deadline; false on EOF, error or timeout.
  bool ReadSome(absl::Time deadline);

  int fd_ = -1;
  std::string buffer_;
};

// "GET /path HTTP/1.1" with Host and, when `body` is set, Content-Length.
std::string MakeRequest(absl::string_view method, absl::string_view target,
                        absl::string_view body = "",
                        absl::string_view extra_headers = "");

// Hands the writer of each streamed request to the test thread.
class WriterSlot {
 public:
  void Put(ResponseWriterPtr writer) {
    absl::MutexLock lock(&mu_);
    writer_ = std::move(writer);
  }
  ResponseWriterPtr Take(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(
        absl::Condition(
            +[](ResponseWriterPtr* w) { return *w != nullptr; }, &writer_),
        timeout);
    return std::move(writer_);
  }

 private:
  absl::Mutex mu_;
  ResponseWriterPtr writer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::http::testing

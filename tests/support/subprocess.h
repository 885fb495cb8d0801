// Runs one of our binaries as a child process for integration tests, reading
// its stdout (and, when asked, its stderr: the logs) line by line so a test
// can wait for "listening on ..." with a deadline. The child is terminated
// (SIGTERM, then SIGKILL) on destruction.
#pragma once

#include "absl/strings/string_view.h"
#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sluice::testing {

class Subprocess {
 public:
  // What the test reads: stdout alone (stderr goes to the test's own), or
  // both in one stream of lines (a test that checks the logs).
  enum class Capture { kStdout, kStdoutAndStderr };

  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      std::vector<std::string> argv, Capture capture = Capture::kStdout);
  ~Subprocess();

  // The first stdout line containing `needle`, waiting up to `timeout`.
  absl::StatusOr<std::string> WaitForLine(absl::string_view needle,
                                          absl::Duration timeout);
  // Waits for the process to exit by itself; its exit code (-signal if
  // killed), or DEADLINE_EXCEEDED.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Sends SIGTERM and waits; returns the exit code (-signal if killed).
  int Terminate(absl::Duration grace = absl::Seconds(10));
  std::string Output();
  // Waits until the child's output has ended (it exited, and every line it
  // wrote has been read), up to `timeout`.
  absl::Status WaitForEndOfOutput(absl::Duration timeout);
  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int stdout_fd, std::string name);
  void ReadLoop();

  pid_t pid_;
  int stdout_fd_;
  std::string name_;  // argv[0], for messages
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
  bool exited_ = false;
  int exit_code_ = 0;
  // Last: its thread starts in the constructor and uses the members above.
  std::thread reader_;
};

// Runs `command` with /bin/sh to its end and returns its whole stdout
// (read to its end: the exit can come before the last lines are read), or
// why not: it did not start, did not end within `timeout`, or exited
// non-zero (the message carries its output).
absl::StatusOr<std::string> ShellOutput(const std::string& command,
                                        absl::Duration timeout);

// Path of a binary built by this build tree, e.g. "apps/sluice/sluice".
std::string BuiltBinary(absl::string_view relative_path);

}  // namespace sluice::testing

#include "tests/support/subprocess.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace sluice::testing {

std::string BuiltBinary(absl::string_view relative_path) {
  const char* build = std::getenv("SLUICE_BUILD_DIR");
  return absl::StrCat(build != nullptr ? build : ".", "/", relative_path);
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    std::vector<std::string> argv, Capture capture) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  if (capture == Capture::kStdoutAndStderr) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  }
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The child gets a clean signal mask, whatever the test blocked.
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> raw;
  for (auto& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, raw[0], &actions, &attributes, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return absl::InternalError(absl::StrCat("cannot start ", argv[0]));
  }
  return std::unique_ptr<Subprocess>(
      new Subprocess(pid, pipe_fds[0], argv.empty() ? "" : argv[0]));
}

Subprocess::Subprocess(pid_t pid, int stdout_fd, std::string name)
    : pid_(pid),
      stdout_fd_(stdout_fd),
      name_(std::move(name)),
      reader_([this] { ReadLoop(); }) {}

Subprocess::~Subprocess() {
  // A server that died under a test (a crash) is said loudly: the test
  // itself only sees connections refused or answers missing.
  int status = 0;
  if (!exited_ && waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    if (WIFSIGNALED(status)) {
      std::string tail = Output();
      if (tail.size() > 4000) tail = tail.substr(tail.size() - 4000);
      std::fprintf(stderr,
                   "[subprocess] %s (pid %d) died of signal %d before the "
                   "test ended; its last output:\n%s\n",
                   name_.c_str(), static_cast<int>(pid_), WTERMSIG(status),
                   tail.c_str());
    }
  }
  Terminate(absl::Seconds(5));
  reader_.join();
  close(stdout_fd_);
}

void Subprocess::ReadLoop() {
  std::string partial;
  char buffer[4096];
  while (true) {
    ssize_t n = read(stdout_fd_, buffer, sizeof(buffer));
    if (n <= 0) break;
    partial.append(buffer, static_cast<size_t>(n));
    size_t newline;
    while ((newline = partial.find('\n')) != std::string::npos) {
      absl::MutexLock lock(&mu_);
      lines_.push_back(partial.substr(0, newline));
      partial.erase(0, newline + 1);
    }
  }
  absl::MutexLock lock(&mu_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
}

absl::StatusOr<std::string> Subprocess::WaitForLine(absl::string_view needle,
                                                    absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  size_t checked = 0;
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    for (; checked < lines_.size(); ++checked) {
      if (absl::string_view(lines_[checked]).find(needle) != absl::string_view::npos) {
        return lines_[checked];
      }
    }
    if (eof_) {
      return absl::FailedPreconditionError(
          absl::StrCat("process exited before printing \"", needle, "\""));
    }
    size_t seen = lines_.size();
    auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return eof_ || lines_.size() != seen;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&changed), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line with \"", needle, "\" in time"));
    }
  }
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (exited_) return exit_code_;
  absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("the process is still running");
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  exited_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return exit_code_;
}

int Subprocess::Terminate(absl::Duration grace) {
  if (exited_) return exit_code_;
  kill(pid_, SIGTERM);
  absl::Time deadline = absl::Now() + grace;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  exited_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return exit_code_;
}

absl::Status Subprocess::WaitForEndOfOutput(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return eof_; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ended), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat(name_, ": its output did not end in time"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ShellOutput(const std::string& command,
                                        absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Start({"/bin/sh", "-c", command});
  if (!process.ok()) return process.status();
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<int> code = (*process)->Wait(timeout);
  if (!code.ok()) return code.status();
  if (absl::Status read = (*process)->WaitForEndOfOutput(deadline - absl::Now());
      !read.ok()) {
    return read;
  }
  if (*code != 0) {
    return absl::InternalError(absl::StrCat(command, ": exit ", *code, ": ",
                                            (*process)->Output()));
  }
  return (*process)->Output();
}

std::string Subprocess::Output() {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& line : lines_) absl::StrAppend(&out, line, "\n");
  return out;
}

}  // namespace sluice::testing

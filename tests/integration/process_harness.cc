#include "tests/integration/process_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

extern char** environ;

namespace interop::testing {
namespace {

absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child must not inherit the test's blocked signal mask (SIGTERM must reach it).
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": errno ", rc));
  return pid;
}

// Waits for `pid` up to `timeout`; returns the waitpid status, or nullopt-like -1 on timeout.
int WaitFor(pid_t pid, absl::Duration timeout) {
  absl::Time end = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (absl::Now() >= end) return -1;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = getenv("TEST_TMPDIR");
  std::string templ = absl::StrCat(base ? base : "/tmp", "/", prefix, "XXXXXX");
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  char* dir = mkdtemp(buf.data());
  return dir ? std::string(dir) : std::string();
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::vector<std::string>& argv,
                                                                  const std::string& log_path,
                                                                  const std::string& port_file,
                                                                  absl::Duration startup_timeout) {
  if (!port_file.empty()) unlink(port_file.c_str());
  absl::StatusOr<pid_t> pid = Spawn(argv, log_path);
  if (!pid.ok()) return pid.status();
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = *pid;
  if (port_file.empty()) return child;
  absl::Time end = absl::Now() + startup_timeout;
  while (absl::Now() < end) {
    std::string text = ReadFileOrEmpty(port_file);
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) && port > 0) {
      child->port_ = port;
      return child;
    }
    int status = 0;
    if (waitpid(child->pid_, &status, WNOHANG) == child->pid_) {
      child->pid_ = -1;
      return absl::InternalError(absl::StrCat(argv[0], " exited during start-up:\n", ReadFileOrEmpty(log_path)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(argv[0], " did not write ", port_file, " in time:\n", ReadFileOrEmpty(log_path)));
}

ChildProcess::~ChildProcess() {
  if (running()) Stop();
}

int ChildProcess::Stop() {
  if (!running()) return 0;
  kill(pid_, SIGTERM);
  int status = WaitFor(pid_, absl::Seconds(5));
  if (status == -1) {
    kill(pid_, SIGKILL);
    status = WaitFor(pid_, absl::Seconds(5));
  }
  pid_ = -1;
  return status;
}

void ChildProcess::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  WaitFor(pid_, absl::Seconds(5));
  pid_ = -1;
}

absl::StatusOr<int> RunToCompletion(const std::vector<std::string>& argv, const std::string& log_path,
                                    absl::Duration timeout) {
  absl::StatusOr<pid_t> pid = Spawn(argv, log_path);
  if (!pid.ok()) return pid.status();
  int status = WaitFor(*pid, timeout);
  if (status == -1) {
    kill(*pid, SIGKILL);
    WaitFor(*pid, absl::Seconds(5));
    return absl::DeadlineExceededError(absl::StrCat(argv[0], " did not finish in time"));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace interop::testing

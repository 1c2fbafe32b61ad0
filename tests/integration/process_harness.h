// Real processes for integration tests: start a program, wait until it has written its port file,
// stop it with SIGTERM or kill it with SIGKILL. Output goes to files in the test's temp directory,
// which are printed when a start fails.
#ifndef INTEROP_TESTS_INTEGRATION_PROCESS_HARNESS_H_
#define INTEROP_TESTS_INTEGRATION_PROCESS_HARNESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace interop::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`, stdout and stderr appended to `log_path`. If `port_file` is not
  // empty, waits up to `startup_timeout` for the program to write its port there.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const std::string& log_path,
                                                             const std::string& port_file,
                                                             absl::Duration startup_timeout = absl::Seconds(60));
  // Stops the process (SIGTERM, then SIGKILL after 5 s) if it is still running.
  ~ChildProcess();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // SIGTERM and wait up to 5 s, then SIGKILL. Returns the exit status as waitpid reports it.
  int Stop();
  // SIGKILL and reap: a crash, as far as the process can tell.
  void Kill();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs a program to completion; returns its exit code (128+signal if killed), output in `log_path`.
absl::StatusOr<int> RunToCompletion(const std::vector<std::string>& argv, const std::string& log_path,
                                    absl::Duration timeout);

// A fresh directory under $TEST_TMPDIR or /tmp, removed by the caller if wanted.
std::string MakeTempDir(const std::string& prefix);

std::string ReadFileOrEmpty(const std::string& path);

}  // namespace interop::testing

#endif  // INTEROP_TESTS_INTEGRATION_PROCESS_HARNESS_H_

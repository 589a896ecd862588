// Child processes for integration tests: started by the test, read line by line with
// deadlines, signalled, and always reaped by pid (the destructor kills what is still running).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace itest {

class Process {
 public:
  /// Starts `argv` (looked up in PATH) with stdout (and stderr, when `merge_stderr`) readable
  /// through read_line. Returns null if it could not start.
  static std::unique_ptr<Process> start(const std::vector<std::string>& argv,
                                        bool merge_stderr = false);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  /// Next stdout line (without the newline) within `timeout_ms`; false on timeout or EOF.
  bool read_line(std::string* line, int timeout_ms);

  /// Reads lines until one satisfies `match` (true) or the deadline passes (false).
  bool wait_for_line(const std::function<bool(const std::string&)>& match, int timeout_ms);

  /// Waits for exit up to `timeout_ms`; returns the exit status, or -1 after killing it.
  int wait(int timeout_ms);

  void signal(int sig);
  bool running();
  /// Output read but not yet returned as a line (after exit: the unterminated last line).
  std::string remaining();
  /// Every line read_line has returned so far, each with its newline.
  const std::string& transcript() const { return transcript_; }

 private:
  Process(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_;
  int out_fd_;
  std::string buffer_;
  std::string transcript_;
  bool exited_ = false;
  int status_ = 0;
};

/// Runs `argv` to completion (at most `timeout_ms`); returns its exit status, or -1.
int run(const std::vector<std::string>& argv, int timeout_ms = 30000,
        std::string* output = nullptr);

/// A loopback TCP port that was free a moment ago.
uint16_t free_port();

/// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_open(uint16_t port);

/// A fresh private directory, removed by its destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& text);
/// The whole file; "" when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace itest

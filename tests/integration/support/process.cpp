#include "process.hpp"

#include "onenet/platform/system.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace itest {
namespace {

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

std::unique_ptr<Process> Process::start(const std::vector<std::string>& argv, bool merge_stderr) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return nullptr;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child dies with the test: a crashed test binary leaves nothing running behind it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    if (merge_stderr) ::dup2(pipe_fds[1], STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return nullptr;
  }
  ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  return std::unique_ptr<Process>(new Process(pid, pipe_fds[0]));
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);  // a stopped process must run to die
    wait(10000);
  }
  ::close(out_fd_);
}

bool Process::read_line(std::string* line, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      *line = buffer_.substr(0, newline);
      transcript_.append(buffer_, 0, newline + 1);
      buffer_.erase(0, newline + 1);
      return true;
    }
    const int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
    if (n == 0) return false;  // EOF
    if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
  }
}

bool Process::wait_for_line(const std::function<bool(const std::string&)>& match, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  std::string line;
  for (;;) {
    const int64_t left = deadline - now_ms();
    if (left <= 0 || !read_line(&line, static_cast<int>(left))) return false;
    if (match(line)) return true;
  }
}

bool Process::running() {
  if (exited_) return false;
  const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) exited_ = true;
  return !exited_;
}

int Process::wait(int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (running()) {
    if (now_ms() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      exited_ = true;
      return -1;
    }
    // Drain output so a chatty child never blocks on a full pipe.
    char chunk[4096];
    const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
    if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
    pollfd p{out_fd_, POLLIN, 0};
    ::poll(&p, 1, 20);  // bounded wait between exit checks, not a synchronisation sleep
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

std::string Process::remaining() {
  char chunk[4096];
  ssize_t n;
  while ((n = ::read(out_fd_, chunk, sizeof chunk)) > 0)
    buffer_.append(chunk, static_cast<size_t>(n));
  std::string rest;
  rest.swap(buffer_);
  return rest;
}

void Process::signal(int sig) {
  if (!exited_) ::kill(pid_, sig);
}

int run(const std::vector<std::string>& argv, int timeout_ms, std::string* output) {
  auto p = Process::start(argv, true);
  if (!p) return -1;
  std::string line;
  std::string all;
  const int64_t deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline && p->read_line(&line, static_cast<int>(deadline - now_ms()))) {
    all += line + "\n";
  }
  const int status = p->wait(static_cast<int>(std::max<int64_t>(1, deadline - now_ms())));
  all += p->remaining();  // a last line without a newline (curl's JSON answers)
  if (output != nullptr) *output = all;
  return status;
}

uint16_t free_port() {
  return onenet::platform::free_loopback_port();
}

bool port_open(uint16_t port) {
  return onenet::platform::loopback_port_open(port);
}

TempDir::TempDir() {
  char pattern[] = "/tmp/onenet-test-XXXXXX";
  path_ = ::mkdtemp(pattern);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

}  // namespace itest

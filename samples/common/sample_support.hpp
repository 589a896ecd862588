// What the samples share: a time-stamped log line, reading a file, SIGINT/SIGTERM as a stop
// request, and the transport their --tls/--cafile flags choose. Samples only; not SDK API.
// Nothing here needs the thing model (thing_model_file.hpp does), so the MCU sample uses it too.
#pragma once

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "onenet/platform/transport.hpp"

namespace onenet_sample {

/// Set by SIGINT or SIGTERM once install_stop_handlers() ran.
inline volatile sig_atomic_t stop_requested = 0;

/// Readable once a stop is requested: make_transport() gives it to the transport, so that a
/// stop does not wait out a connect to an unreachable broker (NativeTransport::set_cancel_fd).
inline const int stop_event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

inline void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = [](int) {
    stop_requested = 1;
    const uint64_t one = 1;
    (void)!::write(stop_event, &one, sizeof one);  // async-signal-safe
  };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

/// printf-style, prefixed with the local time, one line, flushed (tests read it as it comes).
inline void log(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline void log(const char* format, ...) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
  std::printf("[%s] ", stamp);
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::printf("\n");
  std::fflush(stdout);
}

/// The whole file into `text`; false when it cannot be read.
inline bool read_file(const std::string& path, std::string* text) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  if (!in) return false;
  *text = content.str();
  return true;
}

/// Why start() failed: the object's own words when it has them (`detail`, e.g. which name is
/// not allowed), else the status's sentence.
inline const char* start_failure(onenet::Status status, const std::string& detail) {
  return detail.empty() ? onenet::to_string(status) : detail.c_str();
}

/// TLS (verifying the server against `cafile`) or plain TCP.
inline std::unique_ptr<onenet::platform::NativeTransport> make_transport(
    const std::string& host, uint16_t port, bool tls, const std::string& cafile) {
  std::unique_ptr<onenet::platform::NativeTransport> transport;
  if (tls) {
    onenet::platform::TlsOptions options;
    options.ca_file = cafile;
    transport = std::make_unique<onenet::platform::TlsTransport>(host, port, options);
  } else {
    transport = std::make_unique<onenet::platform::TcpTransport>(host, port);
  }
  transport->set_cancel_fd(stop_event);
  return transport;
}

}  // namespace onenet_sample

#include <sys/random.h>
#include <time.h>

#include <cerrno>

#include "onenet/platform/system.hpp"

namespace onenet::platform {

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

uint64_t unix_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec);
}

Status system_random(MutableByteView out) {
  size_t filled = 0;
  while (filled < out.size) {
    const ssize_t n = getrandom(out.data + filled, out.size - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::kPlatformRandomFailed;
    }
    filled += static_cast<size_t>(n);
  }
  return Status::kOk;
}

}  // namespace onenet::platform

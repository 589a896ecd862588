// The loop every integration rig drives its client with: poll once, check, until a deadline.
#pragma once

#include <cstdint>
#include <functional>

#include "onenet/platform/system.hpp"

namespace itest {

/// Calls `poll_once` until `done` holds; false once `timeout_ms` has passed without it.
inline bool poll_until(const std::function<void()>& poll_once, const std::function<bool()>& done,
                       int timeout_ms) {
  onenet::platform::SystemClock clock;
  const uint64_t deadline = clock.now_ms() + static_cast<uint64_t>(timeout_ms);
  while (!done()) {
    if (clock.now_ms() >= deadline) return false;
    poll_once();
  }
  return true;
}

}  // namespace itest

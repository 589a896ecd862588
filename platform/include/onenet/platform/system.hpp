// Host clocks and randomness for platform/linux. Thread-safe; none of these block.
#pragma once

#include <cstdint>

#include "onenet/port.hpp"

namespace onenet::platform {

/// Milliseconds from CLOCK_MONOTONIC: never jumps, unrelated to wall time.
uint64_t monotonic_ms();

/// Wall-clock Unix time in seconds (what token `et` is compared with).
uint64_t unix_seconds();

/// Random bytes from getrandom(2). Matches port::RandomFunction.
Status system_random(MutableByteView out);

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0). For
/// launchers and tests that must tell another program which port to use.
uint16_t free_loopback_port();

/// Whether something accepts TCP connections on 127.0.0.1:port.
bool loopback_port_open(uint16_t port);

}  // namespace onenet::platform

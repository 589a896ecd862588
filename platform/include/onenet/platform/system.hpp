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

}  // namespace onenet::platform

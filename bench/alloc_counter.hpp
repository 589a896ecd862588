// Counts every global operator new in the process, so a benchmark can show that a code path
// does not allocate.
#pragma once

#include <cstddef>

namespace onenet_bench {

/// Allocations made so far by this process (all threads).
size_t allocation_count();

}  // namespace onenet_bench

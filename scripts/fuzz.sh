#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 60) under ASan+UBSan, starting from the
# committed seed corpus in tests/fuzz/corpus/<target>. New inputs go to a scratch copy, so the
# repository stays clean. A crash, or an input that runs over 10 s (a hang), leaves its reproducer
# in build/fuzz/artifacts and fails.
# Usage: ./scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build/fuzz "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
  -DONENET_SANITIZE=address,undefined -DONENET_BUILD_FUZZ=ON -DONENET_BUILD_TESTS=OFF \
  -DONENET_BUILD_SAMPLES=OFF -DONENET_BUILD_TOOLS=OFF >/dev/null
cmake --build build/fuzz -j 2 --target fuzz_decode fuzz_topic fuzz_token fuzz_client fuzz_model \
  fuzz_mcu_sample fuzz_ota fuzz_local_platform
mkdir -p build/fuzz/artifacts
for target in fuzz_decode fuzz_topic fuzz_token fuzz_client fuzz_model fuzz_mcu_sample fuzz_ota \
    fuzz_local_platform; do
  work=build/fuzz/corpus/$target
  rm -rf "$work"; mkdir -p "$work"
  cp tests/fuzz/corpus/$target/* "$work"/ 2>/dev/null || true
  dict=(); [ -f tests/fuzz/$target.dict ] && dict=(-dict=tests/fuzz/$target.dict)
  echo "fuzz: $target for ${seconds}s"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    build/fuzz/tests/fuzz/$target "${dict[@]}" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=0 \
    -artifact_prefix=build/fuzz/artifacts/$target- "$work" 2>build/fuzz/$target.log \
    || { tail -40 build/fuzz/$target.log; echo "fuzz: $target FAILED"; exit 1; }
  grep -E "^#[0-9]+.*DONE" build/fuzz/$target.log | tail -1 || true
done
echo "fuzz: no findings"

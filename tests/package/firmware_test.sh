#!/usr/bin/env bash
# The SDK in a firmware project: tests/package/firmware adds it with add_subdirectory() under
# platform/embedded/arm-none-eabi-cortex-m4.cmake and links a minimal device and the MCU sample's
# device (samples/mcu-device). Checks that the images are Cortex-M (32-bit ARM) executables, and that the portable core asks nothing of the
# heap, C++ exceptions or RTTI: no undefined reference from its libraries to malloc, operator
# new, the exception runtime or libstdc++'s throwing helpers.
# Usage: firmware_test.sh SOURCE_DIR
set -euo pipefail
source=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/checks.sh"

cmake -S "$source/tests/package/firmware" -B "$work/build" "${generator[@]}" \
  -DCMAKE_TOOLCHAIN_FILE="$source/platform/embedded/arm-none-eabi-cortex-m4.cmake" \
  -DCMAKE_BUILD_TYPE=MinSizeRel -DONENET_SDK_SOURCE="$source" >"$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j 2 >"$work/build.log" || { cat "$work/build.log"; exit 1; }

for image in firmware.elf mcu-device.elf; do
  header=$(arm-none-eabi-readelf -h "$work/build/$image")
  check "$image is a 32-bit ARM executable" \
    bash -c 'grep -q "Class: *ELF32" <<<"$1" && grep -q "Machine: *ARM" <<<"$1"' _ "$header"
done
arm-none-eabi-size "$work/build/firmware.elf" "$work/build/mcu-device.elf"

mapfile -t libraries < <(find "$work/build/onenet-sdk" -name 'libonenet_*.a' | sort)
check "the core's six libraries were built" test "${#libraries[@]}" -eq 6
undefined=$(arm-none-eabi-nm -u --format=just-symbols "${libraries[@]}" | grep -v ':$' | sort -u)
forbidden='^(malloc|calloc|realloc|free|_Zn[wa]j|_Zd[la]Pv.*|__cxa_.*|__gxx_personality.*|_Unwind_.*|_ZSt[0-9]+__throw_.*|_ZTI.*)$'
found=$(grep -E "$forbidden" <<<"$undefined" || true)
check_none "no heap, exception or RTTI symbol is referenced by the core" "$found"

# The sample's own code is for copying into firmware: it must not bring in libstdc++'s throwing
# helpers (std::string_view::substr would) or the exception runtime either.
sample_throws=$(arm-none-eabi-nm --format=just-symbols "$work/build/mcu-device.elf" |
  grep -E '^(_ZSt[0-9]+__throw_.*|__cxa_throw|__gxx_personality.*)$' || true)
check_none "the MCU sample's image carries no throwing code" "$sample_throws"

finish firmware

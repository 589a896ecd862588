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

# A board's mbedTLS: Debian's 2.28 headers alone (not /usr/include, whose C headers are the
# host's) and a bare-metal configuration (no threads, sockets, timers or files).
mkdir -p "$work/mbedtls-include"
ln -s /usr/include/mbedtls "$work/mbedtls-include/mbedtls"
cat >"$work/board_mbedtls_config.h" <<'CONFIG'
#include <mbedtls/config.h>
#undef MBEDTLS_THREADING_C
#undef MBEDTLS_THREADING_PTHREAD
#undef MBEDTLS_NET_C
#undef MBEDTLS_TIMING_C
#undef MBEDTLS_FS_IO
#undef MBEDTLS_HAVE_TIME_DATE
#undef MBEDTLS_ENTROPY_PLATFORM
CONFIG

cmake -S "$source/tests/package/firmware" -B "$work/build" "${generator[@]}" \
  -DCMAKE_TOOLCHAIN_FILE="$source/platform/embedded/arm-none-eabi-cortex-m4.cmake" \
  -DCMAKE_BUILD_TYPE=MinSizeRel -DONENET_SDK_SOURCE="$source" \
  -DFIRMWARE_MBEDTLS_INCLUDE="$work/mbedtls-include" \
  -DFIRMWARE_MBEDTLS_CONFIG="$work/board_mbedtls_config.h" >"$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j 2 >"$work/build.log" || { cat "$work/build.log"; exit 1; }

for image in firmware.elf mcu-device.elf; do
  header=$(arm-none-eabi-readelf -h "$work/build/$image")
  check "$image is a 32-bit ARM executable" \
    bash -c 'grep -q "Class: *ELF32" <<<"$1" && grep -q "Machine: *ARM" <<<"$1"' _ "$header"
done
arm-none-eabi-size "$work/build/firmware.elf" "$work/build/mcu-device.elf"

mapfile -t libraries < <(find "$work/build/onenet-sdk" -name 'libonenet_*.a' ! -name '*mbedtls_port*' | sort)
check "the core's six libraries were built" test "${#libraries[@]}" -eq 6
port="$work/build/onenet-sdk/libonenet_mbedtls_port.a"
check "the mbedTLS port was built against the board's mbedTLS (ONENET_MBEDTLS_TARGET)" test -f "$port"
port_wants=$(arm-none-eabi-nm -u --format=just-symbols "$port" | grep -v ':$' | sort -u)
check "the port calls mbedTLS's TLS and HMAC" \
  bash -c 'grep -qx mbedtls_ssl_handshake <<<"$1" && grep -qx mbedtls_md_hmac <<<"$1"' _ "$port_wants"
undefined=$(arm-none-eabi-nm -u --format=just-symbols "${libraries[@]}" | grep -v ':$' | sort -u)
forbidden='^(malloc|calloc|realloc|free|_Zn[wa]j|_Zd[la]Pv.*|__cxa_.*|__gxx_personality.*|_Unwind_.*|_ZSt[0-9]+__throw_.*|_ZTI.*)$'
found=$(grep -E "$forbidden" <<<"$undefined" || true)
check_none "no heap, exception or RTTI symbol is referenced by the core" "$found"
# The port's one heap name is operator delete, in MbedTlsTransport's deleting destructor (a
# class whose virtual destructor is defined out of line has one beside its vtable); it runs only
# when a transport made with new is deleted, which a firmware without a heap never does.
check_none "no allocation, exception or RTTI symbol is referenced by the port" \
  "$(grep -E "$forbidden" <<<"$port_wants" | grep -v '^_ZdlPv' || true)"

# The sample's own code is for copying into firmware: it must not bring in libstdc++'s throwing
# helpers (std::string_view::substr would) or the exception runtime either.
sample_throws=$(arm-none-eabi-nm --format=just-symbols "$work/build/mcu-device.elf" |
  grep -E '^(_ZSt[0-9]+__throw_.*|__cxa_throw|__gxx_personality.*)$' || true)
check_none "the MCU sample's image carries no throwing code" "$sample_throws"

finish firmware

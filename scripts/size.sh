#!/usr/bin/env bash
# Flash size of each sdk/ component on Cortex-M4, compiled as an embedded user ships it:
#   arm-none-eabi-g++ -Os -mcpu=cortex-m4 -mthumb -fno-exceptions -fno-rtti
# Reports text+data of the component's object files (every function counted, none dropped by
# the linker, so this is an upper bound). Also proves the core builds for a bare-metal target.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v arm-none-eabi-g++ >/dev/null || ./scripts/deps.sh

out=build/size
rm -rf "$out"; mkdir -p "$out"
flags=(-std=c++17 -Os -mcpu=cortex-m4 -mthumb -fno-exceptions -fno-rtti -ffunction-sections
       -fdata-sections -DNDEBUG -Wall -Wextra -Werror -Isdk/include)

component_size() {  # component_size NAME FILES... -> prints bytes
  local name=$1; shift
  local objects=()
  for src in "$@"; do
    local obj="$out/$name-$(basename "${src%.cpp}").o"
    arm-none-eabi-g++ "${flags[@]}" -c "$src" -o "$obj"
    objects+=("$obj")
  done
  arm-none-eabi-size -t "${objects[@]}" | awk 'END { print $1 + $2 }'
}

printf '%-44s %8s\n' "component (Cortex-M4, -Os)" "bytes"
total=0
report() {  # report LABEL BYTES [in-device-total: yes|no]
  printf '%-44s %8d\n' "$1" "$2"
  [ "${3:-yes}" = yes ] && total=$((total + $2))
  return 0
}
sources() { for f in "$@"; do [ -f "$f" ] && echo "$f"; done; }

# What a device links: signing, the client-side codec, the session engine.
report "auth: token signing (device)" "$(component_size auth $(sources sdk/auth/encoding.cpp sdk/auth/token.cpp))"
codec_files=$(sources sdk/codec/encode.cpp sdk/codec/decode.cpp sdk/codec/stream_decoder.cpp sdk/codec/topic.cpp)
if [ -n "$codec_files" ]; then
  codec=$(component_size codec $codec_files)
  report "codec: client side (device)" "$codec"
fi
if compgen -G "sdk/client/*.cpp" >/dev/null; then
  report "client: session engine (device)" "$(component_size client sdk/client/*.cpp)"
fi
printf '%-44s %8d\n' "device total: codec + client + auth" "$total"
# The raw thing model: OneJSON topics built into and parsed from caller buffers (no heap, no
# JSON library), what an MCU uses with its own payload code. Not part of the 7 KB goal.
report "model: topic tables (raw, heap-free)" "$(component_size model sdk/model/topics.cpp)" no

# linked PREFIX [MAP] -> bytes of the .text/.rodata/.data input sections from $out/PREFIX*.o in a
# linker map (default: the minimal device's, $out/device.map).
linked() {
  awk -v prefix="$out/$1" '
    function hex(text,   i, v) {  # mawk has no strtonum
      text = tolower(text); sub(/^0x/, "", text); v = 0
      for (i = 1; i <= length(text); i++) v = v * 16 + index("0123456789abcdef", substr(text, i, 1)) - 1
      return v
    }
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    /^ \.(text|rodata|data)[^ ]*$/ { pending = 1; next }           # name alone; numbers follow
    pending { pending = 0; if (index($3, prefix) == 1) sum += hex($2); next }
    /^ \.(text|rodata|data)[^ ]* +0x/ { if (index($4, prefix) == 1) sum += hex($3) }
    END { print sum + 0 }' "${2:-$out/device.map}"
}

# What a device really carries: bench/size/device.cpp (sign a token, connect with the OneNet
# profile, subscribe, publish at QoS 1, poll) linked with --gc-sections, and the bytes each
# component contributes to the image, read from the linker map. The stubs in device.cpp (the
# port: transport, clock, HMAC) are not counted.
if [ -f bench/size/device.cpp ]; then
  arm-none-eabi-g++ "${flags[@]}" -c bench/size/device.cpp -o "$out/device-main.o"
  common_objects=()
  for src in sdk/common/*.cpp; do
    obj="$out/common-$(basename "${src%.cpp}").o"
    arm-none-eabi-g++ "${flags[@]}" -c "$src" -o "$obj"
    common_objects+=("$obj")
  done
  arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb -Os --specs=nano.specs --specs=nosys.specs \
    -Wl,--gc-sections -Wl,-Map="$out/device.map" "$out/device-main.o" \
    "$out"/auth-encoding.o "$out"/auth-token.o "$out"/codec-*.o "$out"/client-*.o \
    "$out"/model-topics.o "${common_objects[@]}" -o "$out/device.elf"
  printf '\n%-44s %8s\n' "linked into a device (--gc-sections)" "bytes"
  linked_total=0
  for part in "auth:auth-" "codec:codec-" "client:client-" "common:common-"; do
    bytes=$(linked "${part#*:}")
    printf '%-44s %8d\n' "  ${part%%:*}" "$bytes"
    linked_total=$((linked_total + bytes))
  done
  printf '%-44s %8d\n' "  device total as linked" "$linked_total"
  # The codec split as coreMQTT splits its library: packets (its serializer's part) and the
  # stream decoder that buffers and frames what arrives (its core_mqtt.c's receive loop).
  printf '%-44s %8d\n' "  codec: packets, UTF-8 and topic rules" \
    "$(( $(linked codec-) - $(linked codec-stream_decoder) ))"
  printf '%-44s %8d\n' "  codec: stream decoder" "$(linked codec-stream_decoder)"
  # Where those bytes go: the largest SDK functions in the image (the flash profile).
  echo "  largest sdk functions as linked:"
  awk -v prefix="$out/" '
    function hex(text,   i, v) {
      text = tolower(text); sub(/^0x/, "", text); v = 0
      for (i = 1; i <= length(text); i++) v = v * 16 + index("0123456789abcdef", substr(text, i, 1)) - 1
      return v
    }
    function keep(name, size, file) {
      if (file ~ /\/(auth|codec|client)-[^\/]*\.o$/) { sub(/^\.(text|rodata|data)\./, "", name); print hex(size), name }
    }
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    /^ \.(text|rodata|data)[^ ]*$/ { pending = $1; next }
    pending { keep(pending, $2, $3); pending = ""; next }
    /^ \.(text|rodata|data)[^ ]* +0x/ { keep($1, $3, $4) }' "$out/device.map" |
    sort -rn | arm-none-eabi-c++filt | sed -E 's/\(anonymous namespace\):: *//; s/\(.*//' |
    awk '{ printf "    %6d  %s\n", $1, $2 }' >"$out/functions.txt"
  head -15 "$out/functions.txt"
  echo "    (all $(wc -l <"$out/functions.txt") in $out/functions.txt)"
  model_bytes=$(linked model-)
  printf '%-44s %8d\n' "  model topics (raw thing model)" "$model_bytes"
  printf '%-44s %8d\n' "  with the raw thing model" "$((linked_total + model_bytes))"

  # The same device with link-time optimisation (-flto), for firmware built that way. Functions
  # lose their object of origin there, so only the whole image is compared.
  lto_dir="$out/lto"; mkdir -p "$lto_dir"
  lto_objects=()
  for src in bench/size/device.cpp sdk/auth/encoding.cpp sdk/auth/token.cpp $codec_files \
             sdk/client/*.cpp sdk/model/topics.cpp sdk/common/*.cpp; do
    obj="$lto_dir/$(basename "$(dirname "$src")")-$(basename "${src%.cpp}").o"
    arm-none-eabi-g++ "${flags[@]}" -flto -c "$src" -o "$obj"
    lto_objects+=("$obj")
  done
  arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb -Os -flto --specs=nano.specs --specs=nosys.specs \
    -Wl,--gc-sections "${lto_objects[@]}" -o "$lto_dir/device.elf"
  image() { arm-none-eabi-size "$1" | awk 'NR == 2 { print $1 + $2 }'; }
  plain_image=$(image "$out/device.elf")
  lto_image=$(image "$lto_dir/device.elf")
  printf '%-44s %8d\n' "  whole device image (with libc)" "$plain_image"
  printf '%-44s %8d\n' "  the same with -flto" "$lto_image"
fi

# OTA for MCUs (fuse-ota over any transport): what bench/size/ota.cpp (report, check,
# download to flash with its MD5, steps) links of sdk/ota and the JSON walker. Not part of the
# 7 KB goal: a device that takes no updates links none of it.
ota_files=$(sources sdk/ota/*.cpp)
if [ -n "$ota_files" ] && [ -f bench/size/ota.cpp ]; then
  ota_objects=$(component_size ota $ota_files sdk/common/json_walker.cpp)
  report "ota: fuse-ota over any transport (objects)" "$ota_objects" no
  arm-none-eabi-g++ "${flags[@]}" -c bench/size/ota.cpp -o "$out/update-main.o"
  arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb -Os --specs=nano.specs --specs=nosys.specs \
    -Wl,--gc-sections -Wl,-Map="$out/ota.map" "$out/update-main.o" "$out"/ota-*.o \
    -o "$out/ota.elf"
  ota_linked=$(linked ota- "$out/ota.map")
  printf '%-44s %8d\n' "  linked into an updating device" "$ota_linked"
fi

# Not linked by a device: servers, tests, and the optional error sentences.
[ -f sdk/codec/broker.cpp ] && report "codec: broker side (onenet-local, tests)" "$(component_size broker sdk/codec/broker.cpp)" no
report "auth: token parse/verify (servers)" "$(component_size verify sdk/auth/token_verify.cpp)" no
report "common: status sentences (to_string)" "$(component_size common sdk/common/status.cpp)" no

# The embedded ports over mbedTLS (platform/embedded): they compile for Cortex-M4 against
# Debian's mbedTLS headers with a bare-metal configuration written here (Debian's defaults
# without threads, sockets, timers or files). Objects only: the mbedTLS library itself is the
# firmware's own build.
if [ -d /usr/include/mbedtls ]; then
  mkdir -p "$out/mbedtls-include"
  ln -sfn /usr/include/mbedtls "$out/mbedtls-include/mbedtls"
  cat > "$out/bare_metal_config.h" <<'CONFIG'
#include <mbedtls/config.h>
#undef MBEDTLS_THREADING_C
#undef MBEDTLS_THREADING_PTHREAD
#undef MBEDTLS_NET_C
#undef MBEDTLS_TIMING_C
#undef MBEDTLS_FS_IO
#undef MBEDTLS_HAVE_TIME_DATE
#undef MBEDTLS_ENTROPY_PLATFORM
CONFIG
  port_flags=("${flags[@]}" -Iplatform/include -I"$out/mbedtls-include"
              "-DMBEDTLS_CONFIG_FILE=\"$PWD/$out/bare_metal_config.h\"")
  port_size() {  # port_size SOURCE -> bytes
    local obj="$out/port-$(basename "${1%.cpp}").o"
    arm-none-eabi-g++ "${port_flags[@]}" -c "$1" -o "$obj"
    arm-none-eabi-size "$obj" | awk 'NR == 2 { print $1 + $2 }'
  }
  printf '%-44s %8d\n' "port: HMAC over mbedTLS (hmac.cpp)" "$(port_size platform/embedded/hmac.cpp)"
  printf '%-44s %8d\n' "port: TLS over mbedTLS (tls_layer.cpp)" "$(port_size platform/embedded/tls_layer.cpp)"
fi

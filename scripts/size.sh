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

# Not linked by a device: servers, tests, and the optional error sentences.
[ -f sdk/codec/broker.cpp ] && report "codec: broker side (onenet-local, tests)" "$(component_size broker sdk/codec/broker.cpp)" no
report "auth: token parse/verify (servers)" "$(component_size verify sdk/auth/token_verify.cpp)" no
report "common: status sentences (to_string)" "$(component_size common sdk/common/*.cpp)" no

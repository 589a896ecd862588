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
       -fdata-sections -Wall -Wextra -Werror -Isdk/include)

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

printf '%-34s %8s\n' "component (Cortex-M4, -Os)" "bytes"
total=0
report() {  # report LABEL BYTES [COUNT-IN-TOTAL]
  printf '%-34s %8d\n' "$1" "$2"
  [ "${3:-yes}" = yes ] && total=$((total + $2))
  return 0
}
common=$(component_size common sdk/common/*.cpp)
report "common (status strings)" "$common" no
auth=$(component_size auth sdk/auth/*.cpp)
report "auth" "$auth"
if compgen -G "sdk/codec/*.cpp" >/dev/null; then
  codec=$(component_size codec sdk/codec/*.cpp)
  report "codec" "$codec"
fi
if compgen -G "sdk/client/*.cpp" >/dev/null; then
  client=$(component_size client sdk/client/*.cpp)
  report "client" "$client"
fi
printf '%-34s %8d\n' "codec + client + auth" "$total"

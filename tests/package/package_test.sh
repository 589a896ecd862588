#!/usr/bin/env bash
# The SDK as its users take it, the three ways the README gives: installed (cmake --install) and
# found with find_package(OnenetSdk) or with pkg-config, and added to a project with
# add_subdirectory(). Each way builds tests/package/app, an application outside the SDK's tree,
# which then signs a token and posts properties as a device to the installed onenet-local, which
# this script starts (and stops, by its pid).
# Usage: package_test.sh BUILD_DIR SOURCE_DIR CXX_COMPILER
set -euo pipefail
build=$1 source=$2 cxx=$3
work=$(mktemp -d)
local_pid=""
broker_pid=""
cleanup() {
  if [ -n "$local_pid" ]; then kill -TERM "$local_pid" 2>/dev/null; wait "$local_pid" || true; fi
  # onenet-local stops its mosquitto; should it have died first, the broker is stopped here.
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then kill -TERM "$broker_pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/checks.sh"

echo "== cmake --install into $work/prefix"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
check "the package's config file is installed" test -f "$work/prefix/lib/cmake/OnenetSdk/OnenetSdkConfig.cmake"
check "the public headers are installed" test -f "$work/prefix/include/onenet/client/client.hpp"
check "the platform headers are installed" test -f "$work/prefix/include/onenet/platform/transport.hpp"
check "OneNET's CA certificate is installed" cmp -s "$source/platform/certs/onenet-mqtts-ca.pem" \
  "$work/prefix/share/onenet-sdk/onenet-mqtts-ca.pem"
check "onenet-cli is installed" test -x "$work/prefix/bin/onenet-cli"
check "onenet-local is installed" test -x "$work/prefix/bin/onenet-local"
check "onenet-local's mosquitto plugin is installed" \
  test -f "$work/prefix/lib/onenet-sdk/onenet_local_plugin.so"
version=$(sed -n 's/^#define ONENET_SDK_VERSION_STRING "\(.*\)"$/\1/p' "$source/sdk/include/onenet/version.hpp")
check "onenet-cli --version is the SDK's version ($version)" \
  test "$("$work/prefix/bin/onenet-cli" --version)" = "onenet-cli $version (OneNET device SDK)"

echo "== an application built against the installed SDK (find_package)"
cmake -S "$source/tests/package/app" -B "$work/installed" "${generator[@]}" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/installed.log"
cmake --build "$work/installed" -j 2 >>"$work/installed.log" || { cat "$work/installed.log"; exit 1; }

echo "== an application built without CMake, with pkg-config"
flags=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs onenet-sdk)
# shellcheck disable=SC2086  # the flags are words
"$cxx" -std=c++17 -Wall -Wextra -Werror "$source/tests/package/app/main.cpp" $flags \
  -o "$work/pkgconfig_app"

echo "== an application with the SDK as a subdirectory (add_subdirectory)"
cmake -S "$source/tests/package/app" -B "$work/subdir" "${generator[@]}" \
  -DCMAKE_CXX_COMPILER="$cxx" -DONENET_SDK_SOURCE="$source" >"$work/subdir.log"
cmake --build "$work/subdir" -j 2 >>"$work/subdir.log" || { cat "$work/subdir.log"; exit 1; }
# Inside another project the SDK builds its libraries only: no tests, samples or tools.
targets=$(cmake --build "$work/subdir" --target help)
check "no SDK test, sample or tool is built inside an application" \
  bash -c '! grep -Eq "onenet_unit_tests|onenet-cli|onenet-local" <<<"$1"' _ "$targets"

echo "== each application as a device on the installed onenet-local"
# Found as the package names it (onenet::onenet-local), as an application's own tests would.
check "the package names the installed onenet-local" \
  test "$(cat "$work/installed/onenet-local-path.txt")" = "$work/prefix/bin/onenet-local"
mkfifo "$work/ready"
"$(cat "$work/installed/onenet-local-path.txt")" --data-dir "$work/cloud" --mqtt-port 0 --http-port 0 \
  --seed-device PackageP01/app-1 >"$work/ready" &
local_pid=$!
exec 3<"$work/ready"  # held open until the end: onenet-local's stdout stays a live pipe
IFS= read -r -t 60 ready <&3 || { echo "FAIL: onenet-local did not start"; exit 1; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$ready"; }
broker_pid=$(field "d['broker_pid']")
port=$(field "d['mqtt']['port']")
key=$(field "d['devices'][0]['key']")
check "installed: the application's device works" \
  "$work/installed/package_app" 127.0.0.1 "$port" PackageP01 app-1 "$key"
check "subdirectory: the application's device works" \
  "$work/subdir/package_app" 127.0.0.1 "$port" PackageP01 app-1 "$key"
check "pkg-config: the application's device works" \
  "$work/pkgconfig_app" 127.0.0.1 "$port" PackageP01 app-1 "$key"

kill -TERM "$local_pid"
wait "$local_pid" && status=0 || status=$?
local_pid=""
check "the installed onenet-local stops cleanly" test "$status" -eq 0
check "and its broker with it" bash -c '! kill -0 "$1" 2>/dev/null' _ "$broker_pid"

finish package

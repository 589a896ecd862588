#!/usr/bin/env bash
# The main job, end to end. Until the MQTT layers land this shows the credential every OneNET
# connection needs: a device token signed, printed (this is a demo key), verified, and refused
# once tampered with.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build/gcc "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/gcc -j 2 --target onenet-cli >/dev/null
cli=build/gcc/samples/onenet-cli/onenet-cli

key=KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=   # the public test key of onenet-protocol.md
echo "== a device token for products/Ck2AF9QD2K/devices/test, valid for one hour"
token=$("$cli" token --key "$key" --product Ck2AF9QD2K --device test --ttl 3600 --method sha256)
echo "$token"
echo "== verify it with the same key"
"$cli" token --verify "$token" --key "$key"
echo "== verify a copy whose signature was changed (expected: invalid)"
"$cli" token --verify "${token/sign=/sign=A}" --key "$key" || true
echo "== done"

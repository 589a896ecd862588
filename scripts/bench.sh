#!/usr/bin/env bash
# Every benchmark, in one run, into bench/results/latest.md: a Release build; our MQTT client
# beside libmosquitto and Paho C against one mosquitto it starts on loopback (throughput,
# latency, memory per client, TLS set-ups); the codec micro-benchmarks; 1,000 gateway
# sub-devices against onenet-local; flash sizes on Cortex-M4. Takes about five minutes.
# Usage: ./scripts/bench.sh [SCALE]   (SCALE multiplies message counts; default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
scale=${1:-1}
repeats=3
build=build/release
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DONENET_BUILD_BENCH=ON \
  -DONENET_BUILD_TESTS=ON -DONENET_BUILD_TOOLS=ON >/dev/null
cmake --build "$build" -j 2 --target bench_mqtt bench_report bench_codec bench_gateway >/dev/null

out=bench/results
mkdir -p "$out"
raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT

commands=()
run() {  # run LABEL COMMAND... : records the exact command, output to $raw/LABEL
  local label=$1; shift
  commands+=("$*")
  echo "bench.sh: $label" >&2
  "$@" < /dev/null >> "$raw/$label"
}

for i in $(seq "$repeats"); do run mqtt "$build/bench/bench_mqtt" throughput "$scale"; done
# Round-trip p99s move by ~30% from run to run here: ours and libmosquitto alternate three times
# (the report takes medians); Paho, at 44 ms a round trip, runs once.
for i in $(seq "$repeats"); do
  run mqtt "$build/bench/bench_mqtt" latency "$scale" ours
  run mqtt "$build/bench/bench_mqtt" latency "$scale" libmosquitto
done
run mqtt "$build/bench/bench_mqtt" latency "$scale" paho
run mqtt "$build/bench/bench_mqtt" memory
# TLS set-up rates move by ~20% from run to run here: ours and libmosquitto alternate three
# times (the report takes medians); Paho, at a few set-ups per second, runs once.
for i in $(seq "$repeats"); do
  run mqtt "$build/bench/bench_mqtt" tls "$scale" ours
  run mqtt "$build/bench/bench_mqtt" tls "$scale" libmosquitto
done
run mqtt "$build/bench/bench_mqtt" tls "$scale" paho
run codec "$build/bench/bench_codec" --benchmark_min_time=0.2
run gateway "$build/bench/bench_gateway" 1000 500 20
run size ./scripts/size.sh

{
  echo "# Benchmark results"
  echo
  echo "Produced by \`./scripts/bench.sh $scale\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores,"
  echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr); $(g++ --version | head -1);"
  echo "mosquitto $(dpkg-query -W -f='${Version}' mosquitto), libmosquitto $(dpkg-query -W -f='${Version}' libmosquitto-dev),"
  echo "Paho C $(dpkg-query -W -f='${Version}' libpaho-mqtt-dev). Everything on loopback; client and broker share the cores."
  echo
  echo "## MQTT clients side by side (one mosquitto, one run)"
  echo
  echo "Each library at both ends (publisher and subscriber on their own threads), publishing as fast"
  echo "as its API accepts, at most 20 QoS 1 messages in flight; timed from the first publish to the"
  echo "last message received. Throughput is the median of $repeats runs."
  echo
  "$build/bench/bench_report" < "$raw/mqtt"
  echo
  echo "## Gateway"
  echo
  cat "$raw/gateway"
  echo
  echo "## Codec micro-benchmarks (Google Benchmark)"
  echo
  echo '```'
  grep -E '^(BM_|Benchmark|-)' "$raw/codec" || cat "$raw/codec"
  echo '```'
  echo
  echo "## Flash on Cortex-M4 (-Os), beside coreMQTT's published 7.0 KB for its MQTT library"
  echo
  echo '```'
  cat "$raw/size"
  echo '```'
  echo
  echo "## Commands"
  echo
  for c in "${commands[@]}"; do echo "    $c"; done
  echo
  echo "Raw JSON lines of the MQTT runs:"
  echo
  sed 's/^/    /' "$raw/mqtt"
} > "$out/latest.md"
echo "bench.sh: wrote $out/latest.md" >&2

#!/usr/bin/env bash
# The main job, end to end, on this machine only: a OneNET-compatible cloud (onenet-local), devices
# provisioned with onenet-cli, one of them reporting telemetry (onenet-telemetry), and the
# cloud's HTTP API leaving it a desired value, setting a property, calling a service and sending
# an OTA update to the device; then a meter on a data-stream product (onenet-datastream) taking
# its interval from its device image, posting data points and answering a command. Installs what is missing, builds, runs, shows what
# happened, and stops everything it started (by pid).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build/gcc "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/gcc -j 2 --target onenet-cli onenet-local onenet_local_plugin onenet-telemetry \
  onenet-datastream >/dev/null

bin=build/gcc
work=$(mktemp -d /tmp/onenet-demo-XXXXXX)
product=DemoProd01
device=sensor-1
meter_product=MeterProd01
meter=meter-1
local_pid=""
device_pid=""
meter_pid=""
cleanup() {
  [ -n "$device_pid" ] && kill -TERM "$device_pid" 2>/dev/null && wait "$device_pid" 2>/dev/null || true
  [ -n "$meter_pid" ] && kill -TERM "$meter_pid" 2>/dev/null && wait "$meter_pid" 2>/dev/null || true
  [ -n "$local_pid" ] && kill -TERM "$local_pid" 2>/dev/null && wait "$local_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
field() { python3 -c "import json,sys; d=json.load(open('$work/ready.json')); print($1)"; }
pretty() { python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin), ensure_ascii=False, indent=2))"; }

say "starting onenet-local (mosquitto + plugin + HTTP API) with products $product (thing model) and $meter_product (data streams)"
"$bin/tools/onenet-local/onenet-local" --data-dir "$work/cloud" --mqtt-port 0 --http-port 0 \
  --tsl "$product=samples/telemetry/thing-model.json" --datastream "$meter_product" \
  >"$work/ready.json" &
local_pid=$!
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; kill -0 "$local_pid" || exit 1; sleep 0.1; done
mqtt_port=$(field "d['mqtt']['port']")
http=$(field "d['http']")
user_id=$(field "d['user']['id']")
user_key=$(field "d['user']['access_key']")
echo "MQTT on 127.0.0.1:$mqtt_port, HTTP API at $http"

# The account's credentials, as a provisioning script holds them (onenet-cli reads these).
export ONENET_API="$http" ONENET_USER_ID="$user_id" ONENET_ACCESS_KEY="$user_key"
say "provisioning the devices with onenet-cli (POST /device/create); their keys go into variables, not to the screen"
device_key=$("$bin/samples/onenet-cli/onenet-cli" device create --product "$product" --name "$device")
meter_key=$("$bin/samples/onenet-cli/onenet-cli" device create --product "$meter_product" --name "$meter")
"$bin/samples/onenet-cli/onenet-cli" device list --product "$product"
"$bin/samples/onenet-cli/onenet-cli" device list --product "$meter_product"

# The cloud's side of the thing model through the SDK's own tool (sdk/provision's ApiClient).
thing() {  # thing ACTION [FLAGS...]
  local action=$1; shift
  "$bin/samples/onenet-cli/onenet-cli" thing "$action" --api "$http" --user-id "$user_id" \
    --access-key "$user_key" --product "$product" --name "$device" "$@"
}

say "while the device is off, an application leaves it a desired interval of 3 s (onenet-cli thing set-desired)"
thing set-desired --params '{"interval":3}'
thing desired --id interval

say "starting the device: onenet-telemetry, reporting every 2 s until it takes the desired value at login"
ONENET_KEY="$device_key" "$bin/samples/telemetry/onenet-telemetry" --port "$mqtt_port" --product "$product" \
  --device "$device" --interval 2 --threshold 26 --tsl samples/telemetry/thing-model.json \
  --ota-api "$http" --ota-dir "$work" --software-version 1.0 >"$work/device.log" 2>&1 &
device_pid=$!

# The HTTP API takes a user-level token, as OneNET's does.
token=$("$bin/samples/onenet-cli/onenet-cli" token --res "userid/$user_id" --key "$user_key" --version 2022-05-01 --ttl 600)
api() {  # api METHOD PATH [BODY]
  if [ $# -eq 3 ]; then
    curl -s --max-time 20 -X "$1" "$http$2" -H "authorization: $token" -H 'Content-Type: application/json' --data-binary "$3"
  else
    curl -s --max-time 20 -X "$1" "$http$2" -H "authorization: $token"
  fi
}
query="?product_id=$product&device_name=$device"

say "waiting for the first report to reach the cloud"
for _ in $(seq 100); do
  api GET "/thingmodel/query-device-property$query" | grep -q temperature && break
  kill -0 "$device_pid" || { cat "$work/device.log"; exit 1; }
  sleep 0.2
done
for _ in $(seq 100); do grep -q 'desired interval version' "$work/device.log" && break; sleep 0.2; done
grep 'desired interval' "$work/device.log"
echo "desired values left for the device: $(thing desired --id interval | wc -l) (it deleted the version it applied)"
api GET "/device/detail$query" | python3 -c "import json,sys; d=json.load(sys.stdin)['data']; print('device', d['name'], 'status', {0:'offline',1:'online',2:'never connected'}[d['status']])"

say "cloud -> device: set property interval = 1 (onenet-cli thing set: POST /thingmodel/set-device-property)"
thing set --params '{"interval":1}'

say "cloud -> device: call service reboot with delay 3 (onenet-cli thing call: POST /thingmodel/call-service)"
thing call --service reboot --params '{"delay":3}'

say "cloud -> device: an invalid value is refused by the thing model before it is sent"
thing set --params '{"interval":0}' || true

# Let a few reports at the new interval arrive.
say "cloud -> device: an OTA update to 2.0 (a 64 KB package; onenet-local's POST /local/ota/task)"
head -c 65536 /dev/urandom >"$work/package.bin"
python3 -c "import base64,json,sys; print(json.dumps({'product_id':'$product','device_name':'$device','type':2,'target':'2.0','package':base64.b64encode(open('$work/package.bin','rb').read()).decode()}))" >"$work/task.json"
curl -s --max-time 20 -X POST "$http/local/ota/task" -H "authorization: $token" \
  -H 'Content-Type: application/json' --data-binary "@$work/task.json" | pretty
for _ in $(seq 100); do grep -q 'now running 2.0' "$work/device.log" && break; sleep 0.2; done
grep 'OTA' "$work/device.log"
cmp -s "$work/package.bin" "$work/$device-2.0.bin" && echo "the device's copy of the package is byte for byte the cloud's"

for _ in $(seq 30); do [ "$(grep -c 'reported temperature' "$work/device.log")" -ge 5 ] && break; sleep 0.2; done

say "the cloud's view: latest properties (onenet-cli thing properties: GET /thingmodel/query-device-property)"
thing properties
say "the cloud's view: the temperatures reported, newest first, five at most (onenet-cli thing history: GET /thingmodel/query-device-property-history)"
thing history --id temperature --hours 1 --newest-first --limit 5 2>/dev/null
say "the cloud's view: events (GET /thingmodel/query-device-event)"
api GET "/thingmodel/query-device-event$query" | pretty

say "stopping the device (SIGTERM: it sends DISCONNECT)"
kill -TERM "$device_pid"
wait "$device_pid"
device_pid=""
say "the device's log"
cat "$work/device.log"

say "while the meter is off, the cloud leaves a desired interval of 1 s in its device image (onenet-cli datastream image: OneNET's PUT /mqtt/v1/devices/{device_id}/image/properties)"
"$bin/samples/onenet-cli/onenet-cli" datastream image --product "$meter_product" --name "$meter" \
  --desired '{"interval":1}'
say "a data-stream product: starting onenet-datastream ($meter_product/$meter), four reports a second apart; it reads its image at login"
ONENET_KEY="$meter_key" "$bin/samples/datastream/onenet-datastream" --port "$mqtt_port" \
  --product "$meter_product" --device "$meter" --interval 1 --count 4 >"$work/meter.log" 2>&1 &
meter_pid=$!
for _ in $(seq 100); do [ "$(grep -c 'accepted' "$work/meter.log")" -ge 2 ] && break; kill -0 "$meter_pid" || { cat "$work/meter.log"; exit 1; }; sleep 0.2; done
say "cloud -> meter: the command 'read' (onenet-cli datastream command: POST /datapoint/synccmds); its response"
meter_cli() {  # meter_cli ACTION [FLAGS...]
  local action=$1; shift
  "$bin/samples/onenet-cli/onenet-cli" datastream "$action" --product "$meter_product" --name "$meter" "$@"
}
echo "response: $(meter_cli command --text read)"
say "the cloud's view: the meter's newest points (onenet-cli datastream points: GET /datapoint/history-datapoints)"
meter_cli points
wait "$meter_pid"  # it stops by itself after its fourth report is answered
meter_pid=""
say "the cloud's view: the meter's device image, desired and reported alike (GET /local/image)"
api GET "/local/image?product_id=$meter_product&device_name=$meter"
echo
say "the meter's log"
cat "$work/meter.log"

say "stopping onenet-local"
kill -TERM "$local_pid"
wait "$local_pid"
local_pid=""
echo "demo finished"

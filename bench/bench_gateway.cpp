// 1,000 sub-devices through one gateway against onenet-local: the time until all are bound and
// online, the memory each sub-device costs the gateway, and pack/post messages per second.
// Usage: bench_gateway [SUBDEVICES] [LOGINS_PER_SECOND] [ROUNDS]   (defaults 1000 500 20)
// Prints a Markdown table; exit 1 if any step fails or times out.
#include <malloc.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "onenet/gateway/gateway.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "process.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

size_t heap_in_use() {
  return mallinfo2().uordblks;
}

int fail(const char* what) {
  std::fprintf(stderr, "bench_gateway: %s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int subdevices = argc > 1 ? std::atoi(argv[1]) : 1000;
  const uint32_t rate = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 500;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 20;
  if (subdevices <= 0 || rate == 0 || rounds <= 0)
    return fail("usage: bench_gateway [SUBS] [RATE] [ROUNDS]");

  itest::TempDir dir;
  std::vector<std::string> args = {
      ONENET_LOCAL_PATH, "--data-dir", dir.path(),      "--mqtt-port",  "0",
      "--http-port",     "0",          "--seed-device", "GwBench001/gw"};
  for (int i = 1; i <= subdevices; ++i) {
    args.push_back("--seed-device");
    args.push_back("SubBench01/s" + std::to_string(i));
  }
  auto cloud = itest::Process::start(args);
  std::string line;
  if (!cloud || !cloud->read_line(&line, 60000)) return fail("onenet-local did not start");
  const json info = json::parse(line, nullptr, false);
  if (!info.is_object()) return fail("onenet-local printed no JSON line");

  onenet::platform::SystemClock clock;
  onenet::platform::TcpTransport transport("127.0.0.1", info["mqtt"]["port"].get<uint16_t>());
  using Storage = onenet::client::StaticStorage<65536, 262144, 2 * 1024 * 1024, 512, 512>;
  auto storage = std::make_unique<Storage>();
  onenet::model::CommandHandler own;
  onenet::gateway::Gateway gateway(transport, clock, onenet::platform::system_random,
                                   onenet::platform::default_hmac(), onenet::platform::unix_seconds,
                                   storage->view(), own);
  onenet::gateway::GatewayOptions options;
  options.device.product_id = "GwBench001";
  options.device.device_name = "gw";
  options.device.access_key = info["devices"][0]["key"].get<std::string>();
  options.device.max_pending = 512;
  options.device.request_timeout_ms = 30000;
  options.logins_per_second = rate;
  options.max_in_flight = 64;

  // Memory: heap growth while adding the sub-devices (records, index, keys). add() signs a
  // sasToken; OpenSSL's one-time set-up on its first HMAC (about 147 KB, measured) happens
  // here first, so it is not divided among the sub-devices.
  std::deque<onenet::gateway::SubDeviceHandler> handlers(static_cast<size_t>(subdevices));
  {
    const uint8_t key[1] = {0};
    uint8_t digest[32];
    (void)onenet::platform::default_hmac()(onenet::port::HmacAlgorithm::kSha1,
                                           onenet::ByteView(key, 1), onenet::ByteView(key, 1),
                                           digest);
  }
  const size_t heap_before = heap_in_use();
  for (int i = 1; i <= subdevices; ++i) {
    const json& seed = info["devices"][static_cast<size_t>(i)];
    if (gateway.add({seed["product_id"], seed["device_name"], seed["key"]},
                    &handlers[static_cast<size_t>(i - 1)]) != onenet::Status::kOk) {
      return fail("cannot add a sub-device");
    }
  }
  const size_t heap_per_sub = (heap_in_use() - heap_before) / static_cast<size_t>(subdevices);

  if (gateway.start(options) != onenet::Status::kOk) return fail("gateway did not start");
  auto poll_until = [&](auto done, double timeout_s) {
    const auto start = Clock::now();
    while (!done()) {
      if (seconds_since(start) > timeout_s) return false;
      gateway.poll(5);
    }
    return true;
  };
  if (!poll_until([&] { return gateway.device().state() == onenet::client::State::kConnected; },
                  20))
    return fail("gateway did not connect");

  const auto online_start = Clock::now();
  gateway.bind_and_login_all();
  const double pacing_floor = 2.0 * subdevices / rate;  // binds then logins, both paced
  if (!poll_until([&] { return gateway.online_count() == static_cast<size_t>(subdevices); },
                  pacing_floor * 3 + 60)) {
    return fail("not every sub-device came online");
  }
  const double online_s = seconds_since(online_start);

  // Throughput: rounds of one report each for every sub-device (2 points each), every message
  // answered before the next round.
  size_t messages = 0;
  const auto report_start = Clock::now();
  for (int round = 0; round < rounds; ++round) {
    std::vector<onenet::gateway::SubReport> reports;
    reports.reserve(static_cast<size_t>(subdevices));
    for (int i = 1; i <= subdevices; ++i) {
      reports.push_back({"SubBench01",
                         "s" + std::to_string(i),
                         {{"temperature", {{"value", 20 + round}}}, {"humidity", {{"value", 50}}}},
                         json::object()});
    }
    bool done = false;
    onenet::Status result = onenet::Status::kOk;
    const size_t before = gateway.device().pending();
    if (gateway.report(reports, false, [&](onenet::Status s, const onenet::model::Reply&) {
          result = s;
          done = true;
        }) != onenet::Status::kOk) {
      return fail(gateway.last_error().c_str());
    }
    messages += gateway.device().pending() - before;
    if (!poll_until([&] { return done; }, 60) || result != onenet::Status::kOk)
      return fail("a report was not answered 200");
  }
  const double report_s = seconds_since(report_start);

  gateway.disconnect();
  cloud->signal(SIGTERM);
  const int cloud_exit = cloud->wait(20000);

  std::printf("| gateway with %d sub-devices (onenet-local, loopback) | value |\n", subdevices);
  std::printf("|---|---|\n");
  std::printf("| bound and logged in, all online | %.2f s at %u logins/s (pacing floor %.2f s) |\n",
              online_s, rate, pacing_floor);
  std::printf("| heap per sub-device (measured: malloc growth while adding) | %zu B |\n",
              heap_per_sub);
  std::printf("| table per sub-device (Gateway::table_bytes) | %zu B |\n",
              gateway.table_bytes() / static_cast<size_t>(subdevices));
  std::printf(
      "| pack/post messages answered | %zu in %.2f s: %.0f msg/s, %.0f sub-device reports/s |\n",
      messages, report_s, messages / report_s, subdevices * rounds / report_s);
  return cloud_exit == 0 ? 0 : fail("onenet-local did not exit cleanly");
}

// onenet-mcu-device: the MCU sample (mcu_device.cpp) on Linux, with the Linux port. The device
// code is the same file a firmware compiles; only this file is the host's.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>

#include "decimal_option.hpp"
#include "link_options.hpp"
#include "mcu_device.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "sample_support.hpp"

namespace {

void log_line(const char* line) {
  onenet_sample::log("%s", line);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "onenet-mcu-device: a OneNET device written as on a microcontroller (the SDK's portable "
      "core, static buffers, no heap), run on Linux"};
  onenet_sample::LinkFlags link;
  onenet_sample::add_link_options(app, link);
  unsigned count = 0;
  app.add_option("--count", count, "Stop after this many accepted reports (0: run until SIGINT)")
      ->transform(onenet_sample::decimal());
  if (const int exit_code = onenet_sample::parse_flags(app, argc, argv, "onenet-mcu-device");
      exit_code >= 0)
    return exit_code;

  const auto transport = onenet_sample::make_transport(link.host, link.port, link.tls, link.cafile);
  onenet::platform::SystemClock clock;
  // Static, as on an MCU: the device holds its buffers (about 3 KB) in itself.
  static mcu_sample::McuDevice device(*transport, clock, onenet::platform::default_hmac(),
                                      onenet::platform::system_random,
                                      onenet::platform::unix_seconds, log_line);
  const onenet::Status started = device.start({link.product, link.device, link.key});
  if (started != onenet::Status::kOk) {
    std::fprintf(stderr, "onenet-mcu-device: %s\n", onenet::to_string(started));
    return 2;
  }
  onenet_sample::install_stop_handlers();
  onenet_sample::log("device %s/%s -> %s:%u", link.product.c_str(), link.device.c_str(),
                     link.host.c_str(), link.port);

  const uint64_t started_ms = clock.now_ms();
  while (!onenet_sample::stop_requested && (count == 0 || device.reports_accepted() < count)) {
    // A slow wave around 25 degrees, in tenths, as a sensor driver would hand it over.
    const double t = static_cast<double>(clock.now_ms() - started_ms) / 1000.0;
    device.poll(200, static_cast<int32_t>(std::lround(250.0 + 80.0 * std::sin(t / 10.0))));
    if (device.state() == onenet::client::State::kIdle) return 1;  // a setting that cannot work
  }
  device.stop();
  return 0;
}

// onenet-mcu-device: the MCU sample (mcu_device.cpp) on Linux, with the Linux port. The device
// code is the same file a firmware compiles; only this file is the host's.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

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

// The spare flash slot, in memory: a board writes its second bank here.
struct MemorySlot {
  std::string bytes;

  static onenet::Status write(void* context, uint32_t offset, onenet::ByteView piece) {
    auto& slot = *static_cast<MemorySlot*>(context);
    if (offset != slot.bytes.size()) return onenet::Status::kInvalidArgument;  // out of order
    slot.bytes.append(piece.as_text());
    return onenet::Status::kOk;
  }
  // Installing is simulated: a board would mark the bank bootable and restart.
  static bool install(void* context, const onenet::ota::Task& task) {
    auto& slot = *static_cast<MemorySlot*>(context);
    const bool whole = slot.bytes.size() == task.size;
    slot.bytes.clear();
    return whole;
  }
};

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
  uint16_t api_port = 0;
  app.add_option("--api-port", api_port,
                 "Take firmware updates (fuse-ota) from the HTTP API on this port of --host "
                 "(onenet-local's http port; 0: no updates)");
  bool api_tls = false;
  app.add_flag("--api-tls", api_tls,
               "Reach the HTTP API over TLS (HTTPS, as OneNET's), verified against --cafile");
  uint32_t slot_size = 1024 * 1024;
  app.add_option("--slot-size", slot_size,
                 "Bytes of the flash slot updates are written to (a larger package is refused)")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{64} * 1024 * 1024));
  std::string firmware_version = "1.0";
  app.add_option("--firmware-version", firmware_version,
                 "The firmware version this device reports as running")
      ->capture_default_str();
  if (const int exit_code = onenet_sample::parse_flags(app, argc, argv, "onenet-mcu-device");
      exit_code >= 0)
    return exit_code;

  const auto transport = onenet_sample::make_transport(link.host, link.port, link.tls, link.cafile);
  onenet::platform::SystemClock clock;
  // Static, as on an MCU: the device holds its buffers (about 5.5 KB with OTA's) in itself.
  static mcu_sample::McuDevice device(*transport, clock, onenet::platform::default_hmac(),
                                      onenet::platform::system_random,
                                      onenet::platform::unix_seconds, log_line);
  std::unique_ptr<onenet::platform::NativeTransport> api;
  static MemorySlot slot;
  if (api_port != 0) {
    if (api_tls && link.cafile.empty()) {
      std::fprintf(stderr, "onenet-mcu-device: --api-tls needs --cafile\n");
      return 2;
    }
    api = onenet_sample::make_transport(link.host, api_port, api_tls,
                                        link.cafile);  // stops on SIGINT
    const onenet::Status ota = device.enable_ota(
        *api, {MemorySlot::write, MemorySlot::install, &slot, slot_size}, firmware_version);
    if (ota != onenet::Status::kOk) {
      std::fprintf(
          stderr, "onenet-mcu-device: --firmware-version: 1-20 letters, digits, '_', '.' or '-'\n");
      return 2;
    }
  }
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

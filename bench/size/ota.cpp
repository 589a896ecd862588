// A firmware update for scripts/size.sh: checks fuse-ota for a task, reports the version and
// the steps, and downloads the package into "flash" with its MD5 checked. Linked for Cortex-M4
// with --gc-sections, it shows what OTA adds to a device (sdk/ota, and the JSON walker in
// sdk/common); the transport and clock are the port's stubs, and the flash writer is the
// application's.
#include "onenet/ota/fuse_ota.hpp"
#include "stub_port.hpp"

namespace {

onenet_size::NullTransport transport;
onenet_size::TickClock clock_source;
uint8_t buffer[1024];
volatile uint32_t flash_written = 0;

onenet::Status write_flash(void*, uint32_t offset, onenet::ByteView piece) {
  flash_written = offset + static_cast<uint32_t>(piece.size);
  return onenet::Status::kOk;
}

}  // namespace

int main() {
  onenet::ota::FuseOtaClient ota(transport, clock_source,
                                 onenet::MutableByteView(buffer, sizeof buffer));
  const onenet::ota::Caller device{"Pid", "dev",
                                   "version=2018-10-31&res=x&et=1&method=sha1&sign=y"};
  if (ota.report_version(device, "1.0", "") != onenet::Status::kOk) return 1;
  onenet::ota::Task task;
  if (ota.check(device, onenet::ota::Kind::kFirmware, "1.0", &task) != onenet::Status::kOk)
    return 2;
  uint32_t received = 0;
  onenet::ota::Md5 digest;
  const onenet::Status s = ota.download(device, task, &received, &digest, write_flash, nullptr);
  return ota.report_step(device, task.tid, s == onenet::Status::kOk ? 101 : 102) ==
                 onenet::Status::kOk
             ? 0
             : 3;
}

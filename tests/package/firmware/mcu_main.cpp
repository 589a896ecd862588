// The MCU sample's device (samples/mcu-device/mcu_device.cpp) as a firmware's main loop, over
// the do-nothing port of bench/size/stub_port.hpp: built for Cortex-M4 to show that the sample
// a Linux test runs against onenet-local is the code an MCU compiles.
#include "mcu_device.hpp"
#include "stub_port.hpp"

namespace {

onenet_size::NullTransport transport;
onenet_size::TickClock clock_source;
uint64_t rtc_seconds() {
  return 1767225600;  // a board's RTC
}
void uart_line(const char*) {}

mcu_sample::McuDevice device(transport, clock_source, onenet_size::null_hmac,
                             onenet_size::null_random, rtc_seconds, uart_line);

}  // namespace

int main() {
  const mcu_sample::Identity identity{"McuProd001", "mcu-1",
                                      "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="};
  if (device.start(identity) != onenet::Status::kOk) return 1;
  for (;;) device.poll(100, 250);
}

// What the README's C++ fragments take from the prose around them (a transport, a clock, the
// client's storage, keys, a loaded thing model), so that tests/docs/readme_examples.sh can
// compile each fragment inside a function. Nothing here runs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "onenet/auth/token.hpp"
#include "onenet/gateway/gateway.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/thing_model.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"

namespace readme {

inline onenet::platform::TcpTransport transport("127.0.0.1", 1883);
inline onenet::platform::SystemClock clock;
inline onenet::client::StaticStorage<4096, 4096, 8192, 16, 64> storage;
inline std::string key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
inline std::string sub_key = key;
inline uint64_t now_unix = 0;
inline onenet::model::ThingModel model;
inline onenet::model::CommandHandler own_commands;
// The OTA example on an MCU: a second link (to the HTTP API), the device's token, and the
// board's flash writer and spare bank.
inline onenet::platform::TcpTransport api_transport("127.0.0.1", 80);
inline std::string token;
inline bool flash_write(uint32_t, const uint8_t*, size_t) {
  return true;
}
inline constexpr uint32_t kSlotB = 0x08080000;

}  // namespace readme

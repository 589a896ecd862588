// onenet-local's HTTP API, shaped like OneNET's (onenet-protocol.md 5.1): an `authorization`
// token header, {code, msg, request_id, data} envelopes with HTTP 200. Codes: 0 success;
// 10403 authentication failed (as OneNET); and onenet-local's own: 10400 bad request, 10404
// no such device, 10406 device exists, 10408 device offline, 10410 no reply within 5 s,
// 10412 refused by the thing model, 10413 the device answered with an error; 12012 (fuse-ota's,
// as OneNET) no such OTA task. OTA (section 5.5): the device side of fuse-ota under /fuse-ota/,
// and /local/ota/task to make a task (OneNET's console does that).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace onenet_local {

class Platform;

class HttpApi {
 public:
  explicit HttpApi(Platform& platform);
  ~HttpApi();
  /// Binds 127.0.0.1:port (0: any free port); returns the port, or -1.
  int bind(uint16_t port);
  /// The same API over TLS (OneNET's is https://iot-api.heclouds.com), with this certificate
  /// and key: binds 127.0.0.1:port (0: any free port) and returns the port, or -1 (the files
  /// cannot be used, or this build's cpp-httplib has no TLS).
  int bind_tls(uint16_t port, const std::string& cert_file, const std::string& key_file);
  /// Serves (both, when bind_tls ran) on threads of their own until stop().
  void start();
  void stop();

 private:
  struct Listener {
    std::unique_ptr<httplib::Server> server;
    std::unique_ptr<std::thread> thread;
    std::atomic<bool> returned{false};
  };
  void add_routes(httplib::Server& s);

  Platform& platform_;
  Listener plain_;
  Listener tls_;
};

}  // namespace onenet_local

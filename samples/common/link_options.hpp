// The flags every sample's connection takes (the broker, TLS, and the OneNET identity it logs
// in with), and how every sample parses its command line. Samples only; not SDK API.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "decimal_option.hpp"

namespace onenet_sample {

struct LinkFlags {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  bool tls = false;
  std::string cafile;
  std::string product;
  std::string device;
  std::string key;
};

/// --host --port --cafile --tls --product --device --key into `flags`. `whose` begins the help
/// of the identity flags ("The gateway's"; empty: the device's own). Returns --key's option, which
/// is required unless `key_required` is false (a sample that can get its key another way).
inline CLI::Option* add_link_options(CLI::App& app, LinkFlags& flags, const std::string& whose = {},
                                     bool key_required = true) {
  const std::string owner = whose.empty() ? std::string() : whose + " ";
  app.add_option("--host", flags.host, "MQTT host")->default_val("127.0.0.1");
  app.add_option("--port", flags.port, "MQTT port")->default_val(1883)->transform(decimal());
  // The server is always verified: a CA is required (OneNET's own is not in system stores).
  CLI::Option* cafile = app.add_option(
      "--cafile", flags.cafile,
      "CA certificate (PEM) for --tls; OneNET's: platform/certs/onenet-mqtts-ca.pem");
  app.add_flag("--tls", flags.tls, "Use TLS (needs --cafile)")->needs(cafile);
  app.add_option("--product", flags.product, owner.empty() ? "Product id" : owner + "product id")
      ->required();
  app.add_option("--device", flags.device, owner.empty() ? "Device name" : owner + "device name")
      ->required();
  return app
      .add_option(
          "--key", flags.key,
          (owner.empty() ? "Device key" : owner + "device key") + " (Base64); or env ONENET_KEY")
      ->envname("ONENET_KEY")
      ->required(key_required);
}

/// Parses the command line as every sample does: -1 to go on; else the exit code, 0 after
/// --help, or 2 for flags it cannot use, said in one line ("NAME: why (see --help)").
inline int parse_flags(CLI::App& app, int argc, char** argv, const char* name) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "%s: %s (see --help)\n", name, e.what());
    return 2;
  }
  return -1;
}

}  // namespace onenet_sample

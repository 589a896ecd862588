// onenet-cli: tokens, raw publish/subscribe, and OneNET's HTTP API (devices, OTA, thing model,
// data streams).
#include <cstdio>

#include "commands.hpp"
#include "onenet/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "onenet-cli: OneNET tokens, MQTT publish/subscribe, provisioning, OTA, the thing model and "
      "data streams"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "onenet-cli " ONENET_SDK_VERSION_STRING " (OneNET device SDK)");
  CLI::App* token = onenet_cli::add_token_command(app);
  CLI::App* pub = onenet_cli::add_pub_command(app);
  CLI::App* sub = onenet_cli::add_sub_command(app);
  CLI::App* device = onenet_cli::add_device_command(app);
  CLI::App* provision = onenet_cli::add_provision_command(app);
  CLI::App* ota = onenet_cli::add_ota_command(app);
  CLI::App* thing = onenet_cli::add_thing_command(app);
  CLI::App* datastream = onenet_cli::add_datastream_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "onenet-cli: %s (see --help)\n", error.what());
    return onenet_cli::kExitBadInput;
  }
  if (token->parsed()) return onenet_cli::run_token_command();
  if (pub->parsed()) return onenet_cli::run_pub_command();
  if (sub->parsed()) return onenet_cli::run_sub_command();
  if (device->parsed()) return onenet_cli::run_device_command();
  if (provision->parsed()) return onenet_cli::run_provision_command();
  if (ota->parsed()) return onenet_cli::run_ota_command();
  if (thing->parsed()) return onenet_cli::run_thing_command();
  if (datastream->parsed()) return onenet_cli::run_datastream_command();
  return onenet_cli::kExitBadInput;
}

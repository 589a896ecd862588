// onenet-cli subcommands. Each `add_*` registers its options on `app` and returns the
// subcommand; `run_*` is called when that subcommand was chosen and returns the exit status:
// 0 success, 1 a negative answer (e.g. a token that does not verify), 2 bad input.
#pragma once

#include <CLI/CLI.hpp>

#include "decimal_option.hpp"

namespace onenet_cli {

using onenet_sample::decimal;

/// Exit status for input the user must fix. A single line on stderr explains it.
constexpr int kExitBadInput = 2;

CLI::App* add_token_command(CLI::App& app);
int run_token_command();
CLI::App* add_pub_command(CLI::App& app);
int run_pub_command();
CLI::App* add_sub_command(CLI::App& app);
int run_sub_command();
CLI::App* add_device_command(CLI::App& app);
int run_device_command();
CLI::App* add_provision_command(CLI::App& app);
int run_provision_command();
CLI::App* add_ota_command(CLI::App& app);
int run_ota_command();
CLI::App* add_thing_command(CLI::App& app);
int run_thing_command();
CLI::App* add_datastream_command(CLI::App& app);
int run_datastream_command();

}  // namespace onenet_cli

// onenet-local's own start and end: flags it cannot use, a start-up that fails after its
// mosquitto runs (the broker goes with it), and a broker that dies under it. A local cloud that
// left a mosquitto behind, or served on without its broker, would break the tests after it.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "onenet_local.hpp"
#include "silent_listener.hpp"

using itest::Process;
using itest::run;
using nlohmann::json;

namespace {

// Processes of this machine whose command line names `text` (the data directory a mosquitto
// was started with, say).
int processes_naming(const std::string& text) {
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (line.find(text) != std::string::npos && std::to_string(::getpid()) != name) ++found;
  }
  return found;
}

}  // namespace

TEST_CASE("onenet-local: flags it cannot use are one line and exit 2, before any broker starts") {
  itest::TempDir dir;
  itest::write_file(dir.file("tsl.json"), R"({"properties":[],"events":[],"services":[]})");
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--seed-device", "no-slash"}, "onenet-local: --seed-device wants PRODUCT/DEVICE\n"},
      {{"--seed-device", "P/"}, "onenet-local: --seed-device wants PRODUCT/DEVICE\n"},
      {{"--tsl", "no-equals"}, "onenet-local: --tsl wants PRODUCT=FILE\n"},
      {{"--tsl", "Prod000001=" + dir.file("missing.json")},
       "onenet-local: cannot read " + dir.file("missing.json") + "\n"},
      {{"--datastream", "DsProd0001", "--tsl", "DsProd0001=" + dir.file("tsl.json")},
       "onenet-local: --tsl DsProd0001: a data-stream product has no thing model\n"},
      {{"--datastream", "bad/name"}, "onenet-local: --datastream wants a product id\n"},
  };
  for (const auto& entry : cases) {  // not a structured binding: CAPTURE's lambda takes it
    const std::vector<std::string>& flags = entry.first;
    const std::string& said = entry.second;
    CAPTURE(said);
    std::vector<std::string> argv = {
        ONENET_LOCAL_PATH, "--data-dir", dir.file("cloud"), "--mqtt-port", "0", "--http-port", "0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::string out;
    CHECK(run(argv, 30000, &out) == 2);
    CHECK(out == said);
    CHECK_FALSE(std::ifstream(dir.file("cloud/mosquitto.conf")).good());
  }
  CHECK(processes_naming(dir.file("cloud")) == 0);
}

TEST_CASE("onenet-local: a start-up that fails after its mosquitto runs takes the broker down") {
  // The HTTPS port is taken: onenet-local finds out after mosquitto is up.
  const itest::SilentListener taken(false);
  const std::string port = std::to_string(taken.port());
  itest::TempDir dir;
  std::string out;
  CHECK(run({ONENET_LOCAL_PATH, "--data-dir", dir.file("cloud"), "--mqtt-port", "0", "--http-port",
             "0", "--https-port", port},
            30000, &out) == 2);
  CHECK(out.rfind("onenet-local: cannot serve HTTPS on port " + port, 0) == 0);
  CHECK(std::ifstream(dir.file("cloud/mosquitto.conf")).good());  // the broker had been started
  CHECK(processes_naming(dir.file("cloud")) == 0);                // and is gone
}

TEST_CASE("onenet-local: a broker that dies under it is said, and ends it with exit 1") {
  itest::TempDir dir;
  auto local = Process::start(
      {ONENET_LOCAL_PATH, "--data-dir", dir.path(), "--mqtt-port", "0", "--http-port", "0"}, true);
  REQUIRE(local);
  std::string line;
  REQUIRE(local->read_line(&line, 20000));
  const json ready = json::parse(line, nullptr, false);
  REQUIRE(ready.is_object());
  const pid_t broker = ready.value("broker_pid", -1);
  REQUIRE(broker > 0);
  CHECK(processes_naming(dir.path()) == 2);  // onenet-local and its mosquitto
  REQUIRE(::kill(broker, SIGKILL) == 0);
  CHECK(local->wait_for_line(
      [](const std::string& l) {
        return l.find("mosquitto exited unexpectedly") != std::string::npos;
      },
      20000));
  CHECK(local->wait(20000) == 1);
  CHECK(processes_naming(dir.path()) == 0);
}

// onenet-cli pub and sub against a real mosquitto, with mosquitto's own tools as the peer.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include "mosquitto_broker.hpp"

using itest::Mosquitto;
using itest::Process;

#ifdef ONENET_CLI_PATH

TEST_CASE("onenet-cli pub reaches mosquitto_sub at every QoS") {
  Mosquitto broker;
  REQUIRE(broker.start());
  for (int qos = 0; qos <= 2; ++qos) {
    CAPTURE(qos);
    auto peer = Process::start({"stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p",
                                std::to_string(broker.port()), "-t", "cli/in", "-q",
                                std::to_string(qos), "-C", "3", "-d"});
    REQUIRE(peer);
    REQUIRE(peer->wait_for_line(
        [](const std::string& l) { return l.find("SUBACK") != std::string::npos; }, 10000));
    CHECK(itest::run({ONENET_CLI_PATH, "pub", "--port", std::to_string(broker.port()), "--topic",
                      "cli/in", "--message", "hello", "--qos", std::to_string(qos), "--count", "3",
                      "--client-id", "cli-pub"}) == 0);
    int seen = 0;
    std::string line;
    while (seen < 3 && peer->read_line(&line, 10000)) seen += line == "hello" ? 1 : 0;
    CHECK(seen == 3);
    CHECK(peer->wait(10000) == 0);
  }
}

TEST_CASE("onenet-cli sub prints one 'topic payload' line per message and exits after --count") {
  Mosquitto broker;
  REQUIRE(broker.start());
  auto sub =
      Process::start({ONENET_CLI_PATH, "sub", "--port", std::to_string(broker.port()), "--topic",
                      "cli/#", "--qos", "1", "--count", "2", "--client-id", "cli-sub"},
                     true);
  REQUIRE(sub);
  REQUIRE(sub->wait_for_line(
      [](const std::string& l) { return l.find("subscribed to cli/#") != std::string::npos; },
      10000));
  for (const char* m : {"one", "two"}) {
    REQUIRE(itest::run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()),
                        "-t", "cli/out", "-q", "1", "-m", m}) == 0);
  }
  std::string first, second;
  REQUIRE(sub->read_line(&first, 10000));
  REQUIRE(sub->read_line(&second, 10000));
  CHECK(first == "cli/out one");
  CHECK(second == "cli/out two");
  CHECK(sub->wait(10000) == 0);
}

TEST_CASE("onenet-cli takes mosquitto_pub's and mosquitto_sub's short options") {
  Mosquitto broker({.password = true});
  REQUIRE(broker.start());
  const std::string port = std::to_string(broker.port());
  auto sub = Process::start({ONENET_CLI_PATH, "sub", "-p", port, "-t", "short/#", "-q", "1", "-C",
                             "1", "-i", "cli-short-sub", "-u", "user", "-P", "secret", "-k", "30"},
                            true);
  REQUIRE(sub);
  REQUIRE(sub->wait_for_line(
      [](const std::string& l) { return l.find("subscribed to short/#") != std::string::npos; },
      10000));
  CHECK(itest::run({ONENET_CLI_PATH, "pub", "-p", port, "-t", "short/a", "-m", "hi", "-q", "1",
                    "-r", "-i", "cli-short-pub", "-u", "user", "-P", "secret"}) == 0);
  std::string line;
  REQUIRE(sub->read_line(&line, 10000));
  CHECK(line == "short/a hi");
  CHECK(sub->wait(10000) == 0);
  // -r retained it: mosquitto_sub gets it on subscribing.
  std::string retained;
  CHECK(itest::run({"mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", "short/a", "-C", "1",
                    "-u", "user", "-P", "secret", "-W", "10"},
                   30000, &retained) == 0);
  CHECK(retained.find("hi") != std::string::npos);
}

TEST_CASE("onenet-cli pub --file sends a 3 MB file; sub prints it whole through a smaller rx") {
  Mosquitto broker;
  REQUIRE(broker.start());
  const std::string port = std::to_string(broker.port());
  char path[] = "/tmp/onenet-cli-big-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string payload(3 * 1024 * 1024, 'x');
  REQUIRE(::write(fd, payload.data(), payload.size()) == static_cast<ssize_t>(payload.size()));
  ::close(fd);
  auto sub = Process::start(
      {ONENET_CLI_PATH, "sub", "-p", port, "-t", "big/#", "-q", "1", "-C", "1", "-i", "big-sub"},
      true);
  REQUIRE(sub);
  REQUIRE(sub->wait_for_line(
      [](const std::string& l) { return l.find("subscribed to big/#") != std::string::npos; },
      10000));
  CHECK(itest::run({ONENET_CLI_PATH, "pub", "-p", port, "-t", "big/file", "-f", path, "-q", "1",
                    "-i", "big-pub"},
                   60000) == 0);
  ::unlink(path);
  std::string line;
  REQUIRE(sub->read_line(&line, 30000));
  CHECK(line.size() == std::string("big/file ").size() + payload.size());
  CHECK(line == "big/file " + payload);
  CHECK(sub->wait(10000) == 0);
}

TEST_CASE("onenet-cli pub: a refused connection exits 1, bad input exits 2") {
  Mosquitto broker({.password = true});
  REQUIRE(broker.start());
  std::string output;
  CHECK(itest::run(
            {ONENET_CLI_PATH, "pub", "--port", std::to_string(broker.port()), "--topic", "t",
             "--message", "x", "--client-id", "c", "--username", "user", "--password", "wrong"},
            30000, &output) == 1);
  CHECK(output.find("CONNACK 5") != std::string::npos);
  CHECK(itest::run({ONENET_CLI_PATH, "pub", "--port", std::to_string(broker.port()), "--topic", "t",
                    "--qos", "3", "--message", "x"}) == 2);
  CHECK(itest::run(
            {ONENET_CLI_PATH, "pub", "--port", std::to_string(broker.port()), "--topic", "a/+",
             "--message", "x", "--client-id", "c", "--username", "user", "--password", "secret"},
            30000, &output) == 1);
  CHECK(output.find("invalid topic name") != std::string::npos);
}

TEST_CASE("onenet-cli pub: no payload source is bad input; -n sends an empty message") {
  Mosquitto broker;
  REQUIRE(broker.start());
  const std::string port = std::to_string(broker.port());
  REQUIRE(itest::run({ONENET_CLI_PATH, "pub", "-p", port, "-t", "kept", "-m", "v", "-r"}) == 0);
  // Forgotten -m: refused, so the retained message stays.
  std::string output;
  CHECK(itest::run({ONENET_CLI_PATH, "pub", "-p", port, "-t", "kept", "-r"}, 30000, &output) == 2);
  CHECK(output.find("give one of --message, --file or --null") != std::string::npos);
  std::string retained;
  CHECK(itest::run(
            {"mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", "kept", "-C", "1", "-W", "10"},
            30000, &retained) == 0);
  CHECK(retained == "v\n");
  // -n -r: an empty retained message, which clears it. A new subscriber's first message is then
  // one published after its SUBACK, not a retained one.
  CHECK(itest::run({ONENET_CLI_PATH, "pub", "-p", port, "-t", "kept", "-n", "-r"}) == 0);
  auto peer = Process::start({"stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t",
                              "kept", "-C", "1", "-d"});
  REQUIRE(peer);
  REQUIRE(peer->wait_for_line(
      [](const std::string& l) { return l.find("SUBACK") != std::string::npos; }, 10000));
  CHECK(itest::run({"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-t", "kept", "-m", "after"}) ==
        0);
  std::string first;  // the first line that is not mosquitto_sub's own (-d) chatter
  while (peer->read_line(&first, 10000) &&
         (first.rfind("Client ", 0) == 0 || first.rfind("Subscribed ", 0) == 0)) {
  }
  CHECK(first == "after");
  CHECK(peer->wait(10000) == 0);
}

#endif

// onenet-local's broker side, driven by mosquitto's own clients: logins and OneNET's rules.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "live_client.hpp"
#include "onenet_local.hpp"

using itest::OnenetLocal;
using itest::run;
using nlohmann::json;

namespace {

constexpr const char* kProduct = "Ck2AF9QD2K";

std::string own(const std::string& device, const std::string& rest = "thing/property/post") {
  return "$sys/" + std::string(kProduct) + "/" + device + "/" + rest;
}

std::vector<std::string> login(const OnenetLocal& cloud, const std::string& device,
                               const std::string& password, const std::string& product = kProduct) {
  return {"-h", "127.0.0.1", "-p", std::to_string(cloud.port()),
          "-i", device,      "-u", product,
          "-P", password,    "-k", "60"};
}

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The newest event of `kind` for the device, or null.
json last_event(const OnenetLocal& cloud, const std::string& kind, const std::string& device) {
  json found;
  for (const json& e : cloud.events()) {
    if (e.value("event", "") == kind && e.value("device_name", "") == device) found = e;
  }
  return found;
}

}  // namespace

TEST_CASE(
    "logins: a valid token is accepted; wrong key, unknown device, expired token are refused") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  const std::string res = "products/" + std::string(kProduct) + "/devices/dev1";
  const std::string good = OnenetLocal::token(res, cloud.device_key());
  std::string output;
  CHECK(run(cat({"mosquitto_pub"},
                cat(login(cloud, "dev1", good), {"-t", own("dev1"), "-m", "{}"}))) == 0);
  CHECK(last_event(cloud, "connect", "dev1").value("result", "") == "accepted");

  // Product-level key signing a device token is accepted too (onenet-protocol.md 7, Q3).
  const std::string wrong = OnenetLocal::token(res, "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=");
  CHECK(
      run(cat({"mosquitto_pub"}, cat(login(cloud, "dev1", wrong), {"-t", own("dev1"), "-m", "{}"})),
          30000, &output) != 0);
  // mosquitto 2.0 refuses every plugin-denied login with CONNACK 5 on MQTT 3.1.1.
  CHECK(output.find("not authorised") != std::string::npos);
  CHECK(last_event(cloud, "connect", "dev1").value("reason", "").find("signature does not match") !=
        std::string::npos);

  const std::string expired = OnenetLocal::token(res, cloud.device_key(), "2018-10-31", -60);
  CHECK(run(cat({"mosquitto_pub"},
                cat(login(cloud, "dev1", expired), {"-t", own("dev1"), "-m", "{}"})),
            30000, &output) != 0);
  CHECK(last_event(cloud, "connect", "dev1").value("reason", "").find("expired") !=
        std::string::npos);

  const std::string stranger = cloud.device_token(kProduct, "ghost");
  CHECK(run(cat({"mosquitto_pub"},
                cat(login(cloud, "ghost", stranger), {"-t", own("ghost"), "-m", "{}"})),
            30000, &output) != 0);
  CHECK(last_event(cloud, "connect", "ghost").value("reason", "") == "unknown device");

  // A token for another device does not open this one.
  CHECK(run(cat({"mosquitto_pub"},
                cat(login(cloud, "dev1", stranger), {"-t", own("dev1"), "-m", "{}"})),
            30000, &output) != 0);
  CHECK(cloud.stop());
}

TEST_CASE("logins: clean session 0 and keep-alive outside 10..1800 are refused") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  const std::string token = cloud.device_token(kProduct, "dev1");
  std::string output;
  CHECK(run(cat({"mosquitto_pub"},
                cat(login(cloud, "dev1", token), {"-c", "-t", own("dev1"), "-m", "{}"})),
            30000, &output) != 0);
  CHECK(last_event(cloud, "connect", "dev1").value("reason", "") == "clean session must be 1");
  auto short_keepalive = login(cloud, "dev1", token);
  short_keepalive.back() = "5";
  CHECK(run(cat({"mosquitto_pub"}, cat(short_keepalive, {"-t", own("dev1"), "-m", "{}"})), 30000,
            &output) != 0);
  CHECK(last_event(cloud, "connect", "dev1").value("reason", "").find("keep-alive 5") !=
        std::string::npos);
  CHECK(cloud.stop());
}

TEST_CASE(
    "publish rules: foreign topic, QoS 2, retain, payload over 256 KB each end the connection") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  const std::string token = cloud.device_token(kProduct, "dev1");
  const std::string big = cloud.data_dir() + "/big.bin";
  itest::write_file(big, std::string(256 * 1024 + 1, 'x'));
  struct Case {
    std::vector<std::string> args;
    const char* rule;
  };
  const Case cases[] = {
      {{"-t", "$sys/Other/dev9/thing/property/post", "-m", "{}"},
       "publish outside the device's topics"},
      {{"-t", own("dev1"), "-m", "{}", "-q", "2"}, "QoS 2 publish"},
      {{"-t", own("dev1"), "-m", "{}", "-r"}, "retained publish"},
      {{"-t", own("dev1"), "-f", big}, "payload above 256 KB"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.rule);
    // Keep publishing for a while: the broker must cut the connection before the repeats end.
    std::string output;
    const int status =
        run(cat({"mosquitto_pub"}, cat(login(cloud, "dev1", token),
                                       cat(c.args, {"--repeat", "20", "--repeat-delay", "0.25"}))),
            30000, &output);
    CHECK(status != 0);
    const json e = last_event(cloud, "rule_break", "dev1");
    CHECK(e.value("rule", "") == c.rule);
    CHECK(e.value("action", "") == "disconnect");
  }
  CHECK(cloud.stop());
}

TEST_CASE(
    "subscription rules: foreign topic, wildcard before level 5, more than 10 -> SUBACK 0x80") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  const std::string token = cloud.device_token(kProduct, "dev1");
  std::vector<std::string> args = {"-d", "-W", "2", "-C", "1"};
  // 10 allowed filters, then a foreign one, one with an early wildcard, and an 11th good one.
  for (int i = 0; i < 10; ++i)
    args.insert(args.end(), {"-t", own("dev1", "thing/t" + std::to_string(i))});
  args.insert(args.end(), {"-t", "$sys/Other/dev9/thing/#", "-t", own("dev1", "#"), "-t",
                           own("dev1", "thing/t10")});
  std::string output;
  run(cat({"stdbuf", "-oL", "mosquitto_sub"}, cat(login(cloud, "dev1", token), args)), 30000,
      &output);
  // mosquitto_sub -d prints the granted QoS of each filter in order.
  CHECK(output.find("Subscribed (mid: 1): 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 128, 128") !=
        std::string::npos);
  int breaks = 0;
  for (const json& e : cloud.events()) {
    if (e.value("event", "") == "rule_break") {
      ++breaks;
      CHECK(e.value("action", "") == "suback 0x80");
    }
  }
  CHECK(breaks == 3);
  CHECK(cloud.stop());
}

TEST_CASE("a second login of the same device kicks the first") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  const std::string token = cloud.device_token(kProduct, "dev1");
  auto first = itest::LiveClient::onenet_device(cloud.port(), kProduct, "dev1", token);
  first->options.backoff_initial_ms = 60000;  // stay down once kicked, so the test sees it
  first->options.backoff_max_ms = 60000;
  REQUIRE(first->connect() == onenet::Status::kOk);
  REQUIRE(first->poll_until([&] { return first->connected(); }));
  CHECK(run(cat({"mosquitto_pub"},
                cat(login(cloud, "dev1", token), {"-t", own("dev1"), "-m", "{}"}))) == 0);
  CHECK(first->poll_until(
      [&] { return first->client().state() == onenet::client::State::kBackoff; }));
  CHECK(first->reasons.back() == onenet::Status::kTransportClosed);
  CHECK(cloud.stop());
}

// The connect events of a device, in order: "accepted", or the reason it was refused.
std::vector<std::string> login_results(const OnenetLocal& cloud, const std::string& device) {
  std::vector<std::string> results;
  for (const json& e : cloud.events()) {
    if (e.value("event", "") != "connect" || e.value("device_name", "") != device) continue;
    results.push_back(e.value("result", "") == "accepted" ? "accepted" : e.value("reason", ""));
  }
  return results;
}

TEST_CASE("login limit: more logins than --login-limit in 5 s ban the device for --ban-seconds") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--seed-device",
                     std::string(kProduct) + "/dev2", "--login-limit", "2", "--ban-seconds", "1"});
  REQUIRE(cloud.start());
  const std::vector<std::string> dev1 =
      cat({"mosquitto_pub"}, cat(login(cloud, "dev1", cloud.device_token(kProduct, "dev1")),
                                 {"-t", own("dev1"), "-m", "{}"}));
  // Logins one after the other until one is refused: the third, unless the machine took 5 s
  // over two of them.
  int accepted = 0;
  while (accepted < 20 && run(dev1) == 0) ++accepted;
  CHECK(accepted >= 2);
  CHECK(login_results(cloud, "dev1").back() == "banned for 1 s: more than 2 logins in 5 s");
  // The ban is the device's alone.
  CHECK(
      run(cat({"mosquitto_pub"}, cat(login(cloud, "dev2", cloud.device_token(kProduct, "dev2", 1)),
                                     {"-t", own("dev2"), "-m", "{}"}))) == 0);
  // It ends when it was set to: the refused logins meanwhile do not count.
  CHECK(itest::poll_until([] {}, [&] { return run(dev1) == 0; }, 20000));
  const std::vector<std::string> results = login_results(cloud, "dev1");
  CHECK(results.back() == "accepted");
  for (size_t i = static_cast<size_t>(accepted) + 1; i + 1 < results.size(); ++i) {
    CAPTURE(i);
    CHECK(results[i] == "banned for 1 s more: more than 2 logins in 5 s");
  }
  CHECK(cloud.stop());
}

TEST_CASE("publish limit: more publishes than --publish-limit-qos1 in 5 s: disconnected, banned") {
  // The legacy MQTTS table (section 2.7): QoS 1 above 100 / 5 s; here 3, for a short test.
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--seed-device",
                     std::string(kProduct) + "/dev2", "--publish-limit-qos1", "3"});
  REQUIRE(cloud.start());
  // Five QoS 1 publishes in a row: the fourth breaks the rule.
  (void)run(
      cat({"mosquitto_pub"}, cat(login(cloud, "dev1", cloud.device_token(kProduct, "dev1")),
                                 {"-q", "1", "-t", own("dev1"), "-m", "{}", "--repeat", "5"})));
  const json broken = last_event(cloud, "rule_break", "dev1");
  REQUIRE(!broken.is_null());
  CHECK(broken["rule"] == "banned for 300 s: more than 3 QoS 1 publishes in 5 s");
  CHECK(broken["action"] == "disconnect");
  // Its next login is refused for the ban's reason.
  CHECK(run(cat({"mosquitto_pub"}, cat(login(cloud, "dev1", cloud.device_token(kProduct, "dev1")),
                                       {"-t", own("dev1"), "-m", "{}"}))) != 0);
  CHECK(login_results(cloud, "dev1").back().rfind("banned for ", 0) == 0);
  CHECK(login_results(cloud, "dev1").back().find("s more: more than 3 QoS 1 publishes in 5 s") !=
        std::string::npos);
  // QoS 0 has no limit unless --publish-limit-qos0 sets one, and the ban was dev1's alone.
  CHECK(run(cat({"mosquitto_pub"},
                cat(login(cloud, "dev2", cloud.device_token(kProduct, "dev2", 1)),
                    {"-q", "0", "-t", own("dev2"), "-m", "{}", "--repeat", "10"}))) == 0);
  CHECK(last_event(cloud, "rule_break", "dev2").is_null());
  CHECK(cloud.stop());
}

TEST_CASE(
    "login limit: the OneNET profile reconnects within 3 logins in 5 s; without it, a client "
    "that reconnects at once is banned") {
  // Studio's limit is the stricter 3 logins in 5 s (onenet-protocol.md section 2.7).
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--seed-device",
                     std::string(kProduct) + "/dev2", "--login-limit", "3"});
  REQUIRE(cloud.start());
  // Each time it is connected, its link drops (the transport closed under it), four times.
  const auto drop_and_reconnect = [](itest::LiveClient& device, size_t logins) {
    REQUIRE(device.connect() == onenet::Status::kOk);
    while (device.connects < logins) {
      const size_t before = device.connects;
      REQUIRE(device.poll_until([&] { return device.connects > before; }));
      device.transport().close();
    }
  };
  auto profiled = itest::LiveClient::onenet_device(cloud.port(), kProduct, "dev1",
                                                   cloud.device_token(kProduct, "dev1"));
  profiled->options.profile = onenet::client::Profile::kOneNet;
  drop_and_reconnect(*profiled, 4);
  CHECK(login_results(cloud, "dev1") ==
        std::vector<std::string>{"accepted", "accepted", "accepted", "accepted"});

  // The same client without the profile waits as little as its backoff says (at most 100 ms).
  auto plain = itest::LiveClient::onenet_device(cloud.port(), kProduct, "dev2",
                                                cloud.device_token(kProduct, "dev2", 1));
  plain->options.backoff_max_ms = 100;
  drop_and_reconnect(*plain, 3);
  plain->transport().close();
  CHECK(plain->poll_until(
      [&] { return plain->reasons.back() == onenet::Status::kClientConnackNotAuthorized; }));
  CHECK(login_results(cloud, "dev2").back() == "banned for 300 s: more than 3 logins in 5 s");
  CHECK(cloud.stop());
}

TEST_CASE("a namesake from another product is refused while the device is online, not kicked") {
  OnenetLocal cloud(
      {"--seed-device", std::string(kProduct) + "/dev1", "--seed-device", "OtherProd1/dev1"});
  REQUIRE(cloud.start());
  const std::string token = cloud.device_token(kProduct, "dev1");
  auto first = itest::LiveClient::onenet_device(cloud.port(), kProduct, "dev1", token);
  REQUIRE(first->connect() == onenet::Status::kOk);
  REQUIRE(first->poll_until([&] { return first->connected(); }));

  // Before, mosquitto gave dev1's session to the namesake: each kicked the other in turn.
  const std::string other = cloud.device_token("OtherProd1", "dev1", 1);
  const std::vector<std::string> args =
      cat({"mosquitto_pub"}, cat(login(cloud, "dev1", other, "OtherProd1"),
                                 {"-t", "$sys/OtherProd1/dev1/thing/property/post", "-m", "{}"}));
  std::string output;
  CHECK(run(args, 30000, &output) != 0);
  CHECK(output.find("not authorised") != std::string::npos);
  CHECK(last_event(cloud, "connect", "dev1").value("reason", "") ==
        "device name 'dev1' is online in product " + std::string(kProduct) +
            " (onenet-local keys MQTT sessions by client id)");
  // The first is still on its first connection: a QoS 1 round trip over it.
  REQUIRE(first->client().publish(own("dev1"), std::string_view("{}"),
                                  onenet::codec::QoS::kAtLeastOnce));
  CHECK(first->poll_until([&] { return first->delivered == 1; }));
  CHECK(first->connects == 1);
  CHECK(first->connected());

  // Once it is gone, the namesake logs in.
  // The broker's disconnect event is the sign it has let go (the log is re-read every 5 ms).
  first.reset();
  REQUIRE(itest::poll_until([] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); },
                            [&] { return !last_event(cloud, "disconnect", "dev1").is_null(); },
                            20000));
  CHECK(run(args, 30000, &output) == 0);
  CHECK(last_event(cloud, "connect", "dev1").value("result", "") == "accepted");
  CHECK(cloud.stop());
}

TEST_CASE("--mqtts-port mints a local CA; a device logs in over TLS verified against it") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--mqtts-port", "0"});
  REQUIRE(cloud.start());
  REQUIRE(cloud.info["ca"].is_string());
  const std::string token = cloud.device_token(kProduct, "dev1");
  const std::string tls_port = std::to_string(cloud.info["mqtt"]["tls_port"].get<int>());
  CHECK(run({"mosquitto_pub", "-h", "localhost", "-p", tls_port, "--cafile",
             cloud.info["ca"].get<std::string>(), "-i", "dev1", "-u", kProduct, "-P", token, "-k",
             "60", "-t", own("dev1"), "-m", "{}"}) == 0);
  // Without the CA the server is not trusted.
  CHECK(run({"mosquitto_pub", "-h", "localhost", "-p", tls_port, "--capath", "/nonexistent", "-i",
             "dev1", "-u", kProduct, "-P", token, "-k", "60", "-t", own("dev1"), "-m", "{}"}) != 0);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-cli pub and sub in OneNET mode: --product --device --key make the login") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--seed-device",
                     std::string(kProduct) + "/dev2"});
  REQUIRE(cloud.start());
  std::string output;
  const std::string port = std::to_string(cloud.port());
  CHECK(run({ONENET_CLI_PATH, "pub", "--port", port, "--product", kProduct, "--device", "dev1",
             "--key", cloud.device_key(0), "--topic", own("dev1"), "--message",
             R"({"id":"1","params":{}})", "--qos", "1"},
            30000, &output) == 0);
  CHECK(last_event(cloud, "connect", "dev1").value("result", "") == "accepted");
  // The OneNET profile refuses a foreign topic before anything is sent.
  CHECK(run({ONENET_CLI_PATH, "pub", "--port", port, "--product", kProduct, "--device", "dev1",
             "--key", cloud.device_key(0), "--topic", own("dev2"), "--message", "{}"},
            30000, &output) == 1);
  CHECK(output.find("outside this device's") != std::string::npos);
  // The wrong key: refused by the cloud.
  CHECK(run({ONENET_CLI_PATH, "pub", "--port", port, "--product", kProduct, "--device", "dev1",
             "--key", cloud.device_key(1), "--topic", own("dev1"), "--message", "{}"},
            30000, &output) == 1);
  CHECK(output.find("CONNACK 5") != std::string::npos);
  CHECK(cloud.stop());
}

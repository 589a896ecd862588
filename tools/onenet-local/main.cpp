// onenet-local: a OneNET-compatible cloud on loopback. Starts mosquitto with the onenet-local
// plugin, the platform client and the HTTP API; prints one JSON line describing itself on
// stdout; runs until SIGINT/SIGTERM, then stops everything it started.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "http_api.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/thing_model.hpp"
#include "onenet/platform/system.hpp"
#include "platform.hpp"
#include "registry.hpp"

namespace {

using nlohmann::json;

struct Options {
  std::string data_dir;
  uint16_t mqtt_port = 1883;
  uint16_t http_port = 8080;
  int mqtts_port = -1;
  int https_port = -1;
  std::string cert;
  std::string key;
  std::vector<std::string> tsl;
  std::vector<std::string> data_stream_products;
  std::vector<std::string> seeds;
  std::string log;
  std::string plugin;
  std::string mosquitto = "mosquitto";
  size_t max_subdevices = 1500;
  int login_limit = 10;
  int ban_seconds = 300;
  int publish_limit_qos0 = 0;
  int publish_limit_qos1 = 0;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "onenet-local: %s\n", message.c_str());
  std::exit(2);
}

// Starts `argv` with stdin from /dev/null and stdout+stderr appended to `output`. The child
// gets SIGTERM if onenet-local dies, so a crash never leaves a broker behind.
pid_t spawn(const std::vector<std::string>& argv, const std::string& output) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);
  // Our blocked signal mask is inherited across exec: unblock, or SIGTERM would never arrive.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const int in = ::open("/dev/null", O_RDONLY);
  const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(out, STDERR_FILENO);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

int run_quiet(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = spawn(argv, log);
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A local CA and a server certificate for localhost and 127.0.0.1, made with openssl once.
void mint_certificates(const std::string& dir, std::string* ca, std::string* cert,
                       std::string* key) {
  *ca = dir + "/ca.crt";
  *cert = dir + "/server.crt";
  *key = dir + "/server.key";
  if (std::filesystem::exists(*ca) && std::filesystem::exists(*cert) &&
      std::filesystem::exists(*key))
    return;
  const std::string log = dir + "/openssl.log";
  const std::string ext = dir + "/server.ext";
  std::ofstream(ext) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  const bool ok =
      run_quiet({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/ca.key", "-out", *ca,
                 "-days", "3650", "-subj", "/CN=onenet-local CA"},
                log) == 0 &&
      run_quiet({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", *key, "-out", dir + "/server.csr", "-subj", "/CN=localhost"},
                log) == 0 &&
      run_quiet(
          {"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", *ca, "-CAkey",
           dir + "/ca.key", "-CAcreateserial", "-out", *cert, "-days", "3650", "-extfile", ext},
          log) == 0;
  if (!ok) die("could not mint TLS certificates with openssl (see " + log + ")");
}

std::string plugin_path(const std::string& given) {
  if (!given.empty()) return given;
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) die("cannot find my own path; give --plugin");
  self[n] = '\0';
  const std::filesystem::path beside = std::filesystem::path(self).parent_path();
  // In the build tree the plugin is beside this program; installed (cmake --install), it is in
  // the library directory, at this path from the program's directory.
  for (const std::filesystem::path& candidate :
       {beside / "onenet_local_plugin.so",
        beside / ONENET_LOCAL_PLUGIN_FROM_BINDIR / "onenet_local_plugin.so"}) {
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.string();
  }
  die("cannot find onenet_local_plugin.so beside me or in " +
      (beside / ONENET_LOCAL_PLUGIN_FROM_BINDIR).string() + "; give --plugin");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "onenet-local: a OneNET-compatible cloud on loopback (mosquitto + plugin + HTTP API)"};
  app.add_option("--data-dir", o.data_dir, "Directory for the registry, logs and certificates")
      ->required();
  app.add_option("--mqtt-port", o.mqtt_port, "MQTT port (0: any free port)")->default_val(1883);
  app.add_option("--http-port", o.http_port, "HTTP API port (0: any free port)")->default_val(8080);
  app.add_option("--mqtts-port", o.mqtts_port,
                 "Also listen with TLS on this port (0: any free port)");
  app.add_option("--https-port", o.https_port,
                 "Also serve the HTTP API over TLS on this port (0: any free port), as OneNET's "
                 "https://iot-api.heclouds.com")
      ->check(CLI::Range(0, 65535));
  app.add_option("--cert", o.cert, "TLS server certificate (default: minted with a local CA)");
  app.add_option("--key", o.key, "TLS server key");
  app.add_option("--tsl", o.tsl, "PRODUCT=FILE: the product's exported thing model");
  app.add_option("--seed-device", o.seeds, "PRODUCT/DEVICE to create if missing");
  app.add_option("--datastream", o.data_stream_products,
                 "PRODUCT: the product speaks the data-stream protocol (dp/post/json, cmd/...), "
                 "not OneJSON");
  app.add_option("--log", o.log, "Event log (JSON lines; default DATA_DIR/events.jsonl)");
  app.add_option("--plugin", o.plugin,
                 "Path of onenet_local_plugin.so (default: beside this program)");
  app.add_option("--mosquitto", o.mosquitto, "mosquitto executable")->default_val("mosquitto");
  app.add_option("--max-subdevices", o.max_subdevices,
                 "Sub-devices a gateway may bind (OneNET's limit, the default: 1500)")
      ->default_val(1500)
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  // onenet-protocol.md section 2.7: "login <= 10 / 5 s, else TCP RST + 5-min blacklist".
  app.add_option("--login-limit", o.login_limit,
                 "Logins of one device within 5 s before it is banned (OneNET's: 10; 0: none)")
      ->default_val(10)
      ->check(CLI::Range(0, 1000000));
  app.add_option("--ban-seconds", o.ban_seconds,
                 "How long a device over a limit is refused (OneNET's: 300)")
      ->default_val(300)
      ->check(CLI::Range(1, 86400));
  // Section 2.7, the legacy MQTTS table: "QoS0 publish > 300 / 5 s, QoS1 > 100 / 5 s =>
  // disconnect + 5-min ban". Studio's table only delays excess publishes: off by default.
  app.add_option("--publish-limit-qos0", o.publish_limit_qos0,
                 "QoS 0 publishes of one device within 5 s before it is disconnected and banned "
                 "(legacy MQTTS: 300; default 0: none)")
      ->default_val(0)
      ->check(CLI::Range(0, 1000000));
  app.add_option("--publish-limit-qos1", o.publish_limit_qos1,
                 "The same for QoS 1 publishes (legacy MQTTS: 100; default 0: none)")
      ->default_val(0)
      ->check(CLI::Range(0, 1000000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  // Signals are taken by sigwait in main; every thread started from here inherits the block.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  o.data_dir = std::filesystem::absolute(o.data_dir).string();
  if (o.log.empty()) o.log = o.data_dir + "/events.jsonl";
  const std::string registry_path = o.data_dir + "/registry.json";

  uint8_t secret_raw[16];
  (void)onenet::platform::system_random(onenet::MutableByteView(secret_raw, sizeof secret_raw));
  std::string secret;
  for (const uint8_t b : secret_raw)
    secret += "0123456789abcdef"[b & 15], secret += "0123456789abcdef"[b >> 4];

  onenet_local::reset_presence(o.data_dir);
  onenet_local::Platform platform(registry_path, o.log, secret, o.data_dir);
  platform.set_max_subdevices(o.max_subdevices);
  json seeded = json::array();
  {
    auto guard = platform.lock();
    std::string error;
    if (!platform.registry().load(registry_path, &error)) die(error);
    platform.registry().ensure_user();
    for (const std::string& seed : o.seeds) {
      const size_t slash = seed.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == seed.size())
        die("--seed-device wants PRODUCT/DEVICE");
      const std::string product = seed.substr(0, slash);
      const std::string device = seed.substr(slash + 1);
      if (platform.registry().device(product, device) == nullptr)
        platform.registry().create_device(product, device, "seeded");
      const auto* d = platform.registry().device(product, device);
      seeded.push_back({{"product_id", product}, {"device_name", device}, {"key", d->key}});
    }
    for (const std::string& product : o.data_stream_products) {
      if (!onenet::model::valid_name(product)) die("--datastream wants a product id");
      platform.registry().ensure_product(product).data_stream = true;
    }
    for (const std::string& spec : o.tsl) {
      const size_t eq = spec.find('=');
      if (eq == std::string::npos) die("--tsl wants PRODUCT=FILE");
      std::ifstream in(spec.substr(eq + 1));
      if (!in) die("cannot read " + spec.substr(eq + 1));
      std::stringstream text;
      text << in.rdbuf();
      onenet::model::ThingModel model;
      if (!model.load(text.str(), &error)) die(spec.substr(eq + 1) + ": " + error);
      if (platform.registry().ensure_product(spec.substr(0, eq)).data_stream)
        die("--tsl " + spec.substr(0, eq) + ": a data-stream product has no thing model");
      platform.set_thing_model(spec.substr(0, eq), std::move(model));
    }
    if (!platform.save_registry(&error)) die(error);
  }

  if (o.mqtt_port == 0) o.mqtt_port = onenet::platform::free_loopback_port();
  std::string ca, cert = o.cert, key = o.key;
  if (o.mqtts_port == 0) o.mqtts_port = onenet::platform::free_loopback_port();
  if ((o.mqtts_port > 0 || o.https_port >= 0) && cert.empty())
    mint_certificates(o.data_dir, &ca, &cert, &key);

  std::ostringstream conf;
  if (::geteuid() == 0)
    conf << "user root\n";  // else mosquitto drops to a user that cannot read DATA_DIR
  conf << "per_listener_settings false\nallow_anonymous false\n"
       << "log_dest file " << o.data_dir << "/mosquitto.log\n"
       << "plugin " << plugin_path(o.plugin) << "\n"
       << "plugin_opt_registry " << registry_path << "\n"
       << "plugin_opt_event_log " << o.log << "\n"
       << "plugin_opt_secret " << secret << "\n"
       << "plugin_opt_platform_id onenet-local-platform\n"
       << "plugin_opt_state_dir " << o.data_dir << "\n"
       << "plugin_opt_login_limit " << o.login_limit << "\n"
       << "plugin_opt_ban_seconds " << o.ban_seconds << "\n"
       << "plugin_opt_publish_limit_qos0 " << o.publish_limit_qos0 << "\n"
       << "plugin_opt_publish_limit_qos1 " << o.publish_limit_qos1
       << "\n"
       // Large enough for the plugin to see (and refuse) payloads above OneNET's 256 KB.
       << "max_packet_size 1048576\n"
       << "listener " << o.mqtt_port << " 127.0.0.1\n";
  if (o.mqtts_port > 0) {
    conf << "listener " << o.mqtts_port << " 127.0.0.1\ncertfile " << cert << "\nkeyfile " << key
         << "\n";
  }
  const std::string conf_path = o.data_dir + "/mosquitto.conf";
  std::ofstream(conf_path) << conf.str();

  const pid_t broker = spawn({o.mosquitto, "-c", conf_path}, o.data_dir + "/mosquitto.out");
  if (broker < 0) die("cannot start " + o.mosquitto + " (apt-get install mosquitto)");
  const uint64_t deadline = onenet::platform::monotonic_ms() + 10000;
  while (!onenet::platform::loopback_port_open(o.mqtt_port) ||
         (o.mqtts_port > 0 &&
          !onenet::platform::loopback_port_open(static_cast<uint16_t>(o.mqtts_port)))) {
    int status = 0;
    if (::waitpid(broker, &status, WNOHANG) == broker ||
        onenet::platform::monotonic_ms() > deadline) {
      ::kill(broker, SIGKILL);
      ::waitpid(broker, nullptr, 0);
      die("mosquitto did not start: see " + o.data_dir + "/mosquitto.log and mosquitto.out");
    }
    struct timespec pause = {0, 10 * 1000 * 1000};
    ::nanosleep(&pause, nullptr);  // a bounded start-up probe: mosquitto gives no other signal
  }
  // A start that fails from here on leaves nothing running: the platform client (stop() is
  // safe when it never started) and the broker go before the message.
  const auto stop_and_die = [&](const std::string& message) {
    platform.stop();
    ::kill(broker, SIGTERM);
    ::waitpid(broker, nullptr, 0);
    die(message);
  };
  if (!platform.start(o.mqtt_port, std::chrono::seconds(10)))
    stop_and_die("the platform client could not log in to mosquitto");
  onenet_local::HttpApi http(platform);
  const int http_port = http.bind(o.http_port);
  if (http_port < 0) stop_and_die("cannot listen on HTTP port " + std::to_string(o.http_port));
  int https_port = -1;
  if (o.https_port >= 0) {
    https_port = http.bind_tls(static_cast<uint16_t>(o.https_port), cert, key);
    if (https_port < 0)
      stop_and_die("cannot serve HTTPS on port " + std::to_string(o.https_port) +
                   " (the certificate or key cannot be used, or this build has no TLS for HTTP)");
  }
  http.start();

  std::string user_id, user_key;
  json products = json::array();
  {
    auto guard = platform.lock();
    user_id = platform.registry().user_id();
    user_key = platform.registry().user_key();
    for (const std::string& id : platform.registry().product_ids()) {
      const onenet_local::Product* product = platform.registry().product(id);
      products.push_back({{"id", id},
                          {"access_key", product->key},
                          {"protocol", product->data_stream ? "datastream" : "onejson"}});
    }
  }
  const json ready = {
      {"mqtt",
       {{"host", "127.0.0.1"},
        {"port", o.mqtt_port},
        {"tls_port", o.mqtts_port > 0 ? json(o.mqtts_port) : json()}}},
      {"http", "http://127.0.0.1:" + std::to_string(http_port)},
      {"https", https_port >= 0 ? json("https://127.0.0.1:" + std::to_string(https_port)) : json()},
      {"ca", ca.empty() ? json() : json(ca)},
      {"user", {{"id", user_id}, {"access_key", user_key}}},
      {"products", products},
      {"devices", seeded},
      {"broker_pid", broker}};  // beyond OneNET's shape: lets a supervisor check the broker is gone
  std::printf("%s\n", ready.dump().c_str());
  std::fflush(stdout);
  platform.log({{"event", "started"}, {"mqtt_port", o.mqtt_port}, {"http_port", http_port}});

  int exit_code = 0;
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGCHLD) {
      int status = 0;
      if (::waitpid(broker, &status, WNOHANG) != broker) continue;
      std::fprintf(stderr, "onenet-local: mosquitto exited unexpectedly (see %s/mosquitto.log)\n",
                   o.data_dir.c_str());
      exit_code = 1;
      http.stop();
      platform.stop();
      return exit_code;
    }
    break;  // SIGINT or SIGTERM
  }
  http.stop();
  platform.stop();
  ::kill(broker, SIGTERM);
  ::waitpid(broker, nullptr, 0);
  platform.log({{"event", "stopped"}});
  return exit_code;
}

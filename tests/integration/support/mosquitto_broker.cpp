#include "mosquitto_broker.hpp"

#include <signal.h>
#include <time.h>

#include <fstream>
#include <sstream>

namespace itest {
namespace {

bool wait_until_open(uint16_t port, Process& process, int timeout_ms) {
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  std::string line;
  for (;;) {
    if (port_open(port)) return true;
    if (!process.running()) return false;
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > timeout_ms) {
      return false;
    }
    process.read_line(&line, 20);  // consume the broker's log while it starts
  }
}

}  // namespace

TestPki::TestPki(const TempDir& dir) {
  ca_file = dir.file("ca.crt");
  server_cert = dir.file("server.crt");
  server_key = dir.file("server.key");
  const std::string ca_key = dir.file("ca.key");
  const std::string csr = dir.file("server.csr");
  const std::string ext = dir.file("server.ext");
  write_file(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", ca_key, "-out", ca_file, "-days", "2", "-subj", "/CN=onenet test CA"});
  run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", server_key, "-out", csr, "-subj", "/CN=localhost"});
  run({"openssl", "x509", "-req", "-in", csr, "-CA", ca_file, "-CAkey", ca_key, "-CAcreateserial",
       "-out", server_cert, "-days", "2", "-extfile", ext});
  ca_pem = read_file(ca_file);
}

Mosquitto::Mosquitto(BrokerOptions options) : options_(options), port_(free_port()) {
  std::ostringstream conf;
  // Root in CI and here: without this mosquitto would switch to its own user, which cannot
  // read this private directory.
  conf << "user root\n";
  // A file, not stdout: nobody reads the pipe, and a full pipe would freeze the broker.
  conf << "log_dest file " << dir_.file("mosquitto.log")
       << "\nlog_type error\nlog_type warning\nlog_type notice\n";
  conf << "listener " << port_ << " 127.0.0.1\n";
  if (options_.password) {
    run({"mosquitto_passwd", "-c", "-b", dir_.file("passwords"), "user", "secret"});
    conf << "allow_anonymous false\npassword_file " << dir_.file("passwords") << "\n";
  } else {
    conf << "allow_anonymous true\n";
  }
  if (options_.tls) {
    pki_ = std::make_unique<TestPki>(dir_);
    tls_port_ = free_port();
    conf << "listener " << tls_port_ << " 127.0.0.1\n";
    conf << "cafile " << pki_->ca_file << "\ncertfile " << pki_->server_cert << "\nkeyfile "
         << pki_->server_key << "\n";
  }
  if (options_.persistence) {
    conf << "persistence true\npersistence_location " << dir_.path() << "/\n";
    conf << "autosave_interval 1\nautosave_on_changes true\n";
  }
  // No per-client limits: a message is written to its subscriber as soon as it arrives.
  conf << "max_inflight_messages 0\nmax_queued_messages 0\n";
  // Nagle off on the broker side too, so small packets are not held for a delayed ACK.
  conf << "set_tcp_nodelay true\n";
  write_file(dir_.file("mosquitto.conf"), conf.str());
}

Mosquitto::~Mosquitto() {
  stop();
}

bool Mosquitto::start() {
  process_ = Process::start({"mosquitto", "-c", dir_.file("mosquitto.conf")}, true);
  if (!process_) return false;
  if (!wait_until_open(port_, *process_, 10000)) return false;
  return tls_port_ == 0 || wait_until_open(tls_port_, *process_, 10000);
}

void Mosquitto::stop() {
  if (!process_) return;
  process_->signal(SIGCONT);
  process_->signal(SIGTERM);
  process_->wait(10000);
  process_.reset();
}

void Mosquitto::kill_hard() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait(10000);
  process_.reset();
}

void Mosquitto::freeze() {
  process_->signal(SIGSTOP);
}
void Mosquitto::thaw() {
  process_->signal(SIGCONT);
}

}  // namespace itest

// A real mosquitto broker for tests: started on free loopback ports, stopped by pid.
#pragma once

#include <memory>
#include <string>

#include "process.hpp"

namespace itest {

struct BrokerOptions {
  bool tls = false;          ///< add a TLS listener with a CA minted for this broker
  bool persistence = false;  ///< persist sessions and messages after every change
  bool password = false;     ///< require user "user" with password "secret"
};

/// TLS material made with the openssl command: a CA and a server certificate for
/// "localhost" and 127.0.0.1 signed by it.
struct TestPki {
  explicit TestPki(const TempDir& dir);
  std::string ca_file;
  std::string ca_pem;
  std::string server_cert;
  std::string server_key;
};

class Mosquitto {
 public:
  explicit Mosquitto(BrokerOptions options = {});
  ~Mosquitto();

  /// Starts mosquitto and waits (bounded) until it accepts connections; false if it did not.
  bool start();
  /// SIGTERM, then waits for exit.
  void stop();
  /// SIGKILL, no goodbye: persistence holds only what was saved.
  void kill_hard();
  void freeze();  ///< SIGSTOP
  void thaw();    ///< SIGCONT

  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }
  const std::string& ca_file() const { return pki_->ca_file; }
  const std::string& ca_pem() const { return pki_->ca_pem; }
  const TempDir& dir() const { return dir_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }

 private:
  BrokerOptions options_;
  TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  uint16_t port_;
  uint16_t tls_port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace itest

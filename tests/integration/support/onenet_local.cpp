#include "onenet_local.hpp"

#include <fstream>

namespace itest {

std::vector<nlohmann::json> OnenetLocal::events() const {
  std::vector<nlohmann::json> out;
  std::ifstream in(events_path());
  std::string line;
  while (std::getline(in, line)) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    if (event.is_object()) out.push_back(std::move(event));
  }
  return out;
}

nlohmann::json OnenetLocal::curl(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& authorization) const {
  std::vector<std::string> argv = {"curl", "-s", "-S",   "--max-time",
                                   "20",   "-X", method, http() + path};
  const std::string auth = authorization == "user" ? user_token() : authorization;
  if (!auth.empty()) {
    argv.push_back("-H");
    argv.push_back("authorization: " + auth);
  }
  if (!body.empty()) {
    argv.push_back("-H");
    argv.push_back("Content-Type: application/json");
    argv.push_back("--data-binary");
    argv.push_back(body);
  }
  std::string output;
  const int status = run(argv, 30000, &output);
  if (status != 0) return {{"curl_failed", status}, {"output", output}};
  return nlohmann::json::parse(output, nullptr, false);
}

nlohmann::json OnenetLocal::exchange(const std::string& product, const std::string& device,
                                     size_t key_index, const std::string& topic,
                                     const std::string& answer_topic,
                                     const std::string& payload) const {
  const std::string root = "$sys/" + product + "/" + device + "/";
  std::string output;
  const int status = run({"mosquitto_rr",
                          "-V",
                          "mqttv311",
                          "-h",
                          "127.0.0.1",
                          "-p",
                          std::to_string(port()),
                          "-i",
                          device,
                          "-u",
                          product,
                          "-P",
                          device_token(product, device, key_index),
                          "-k",
                          "60",
                          "-t",
                          root + topic,
                          "-e",
                          root + answer_topic,
                          "-m",
                          payload,
                          "-W",
                          "10"},
                         30000, &output);
  REQUIRE(status == 0);
  return nlohmann::json::parse(output, nullptr, false);
}

}  // namespace itest

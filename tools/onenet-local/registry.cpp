#include "registry.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "onenet/auth/encoding.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/platform/system.hpp"

namespace onenet_local {

using nlohmann::json;

std::string device_key(const std::string& product_id, const std::string& name) {
  return product_id + "/" + name;
}

std::string new_access_key() {
  uint8_t raw[32];
  (void)onenet::platform::system_random(onenet::MutableByteView(raw, sizeof raw));
  char text[64];
  const auto n = onenet::auth::base64_encode(onenet::ByteView(raw, sizeof raw), text, sizeof text);
  return std::string(text, n.value_or(0));
}

void log_event(const std::string& path, const std::string& json_line) {
  if (path.empty()) return;
  // O_APPEND: the plugin and the launcher write the same file; each line is one write().
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string line = json_line + "\n";
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

void hide_credentials(nlohmann::json& value) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (it.key() == "sec_key" || it.key() == "access_key" || it.key() == "sasToken") {
        it.value() = "(not logged)";
      } else {
        hide_credentials(it.value());
      }
    }
  } else if (value.is_array()) {
    for (nlohmann::json& item : value) hide_credentials(item);
  }
}

void write_presence(const std::string& state_dir, const std::string& product_id,
                    const std::string& device, bool online) {
  const std::string dir = state_dir + "/online/" + product_id;
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  const std::string path = dir + "/" + device;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)!::write(fd, online ? "1" : "0", 1);
  ::close(fd);
}

int read_presence(const std::string& state_dir, const std::string& product_id,
                  const std::string& device, int64_t* changed_ms) {
  const std::string path = state_dir + "/online/" + product_id + "/" + device;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 2;
  if (changed_ms != nullptr)
    *changed_ms = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
  char c = '0';
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!::read(fd, &c, 1);
    ::close(fd);
  }
  return c == '1' ? 1 : 0;
}

void reset_presence(const std::string& state_dir) {
  std::error_code ignored;
  for (const auto& product : std::filesystem::directory_iterator(state_dir + "/online", ignored)) {
    for (const auto& device : std::filesystem::directory_iterator(product.path(), ignored)) {
      write_presence(state_dir, product.path().filename(), device.path().filename(), false);
    }
  }
}

bool Registry::load(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) return true;  // a new data directory
  std::stringstream text;
  text << in.rdbuf();
  const json root = onenet::model::parse_json(text.str());
  if (root.is_discarded() || !root.is_object()) {
    *error = path + ": not valid JSON";
    return false;
  }
  Registry r;
  r.user_id_ = onenet::model::string_member(root, "user_id");
  r.user_key_ = onenet::model::string_member(root, "user_key");
  r.next_did_ = onenet::model::integer_member(root, "next_did", int64_t{1000001});
  const json products = onenet::model::member_or(root, "products", json::object());
  for (auto p = products.begin(); p != products.end() && products.is_object(); ++p) {
    Product& product = r.products_[p.key()];
    product.id = p.key();
    product.key = onenet::model::string_member(p.value(), "key");
    product.data_stream = onenet::model::string_member(p.value(), "protocol") == "datastream";
    const json devices = onenet::model::member_or(p.value(), "devices", json::object());
    for (auto d = devices.begin(); d != devices.end() && devices.is_object(); ++d) {
      Device dev;
      dev.product_id = p.key();
      dev.name = d.key();
      dev.key = onenet::model::string_member(d.value(), "key");
      dev.desc = onenet::model::string_member(d.value(), "desc");
      dev.did = onenet::model::integer_member(d.value(), "did", int64_t{0});
      dev.created = onenet::model::integer_member(d.value(), "created", int64_t{0});
      product.devices[dev.name] = dev;
    }
  }
  const json topology = onenet::model::member_or(root, "topology", json::object());
  for (auto g = topology.begin(); g != topology.end() && topology.is_object(); ++g) {
    for (const json& sub : g.value()) {
      if (sub.is_string()) r.topology_[g.key()].insert(sub.get<std::string>());
    }
  }
  *this = std::move(r);
  return true;
}

bool Registry::save(const std::string& path, std::string* error) const {
  json root = json::object();
  root["user_id"] = user_id_;
  root["user_key"] = user_key_;
  root["next_did"] = next_did_;
  json products = json::object();
  for (const auto& [id, product] : products_) {
    json devices = json::object();
    for (const auto& [name, d] : product.devices) {
      devices[name] = {{"key", d.key}, {"desc", d.desc}, {"did", d.did}, {"created", d.created}};
    }
    products[id] = {{"key", product.key},
                    {"protocol", product.data_stream ? "datastream" : "onejson"},
                    {"devices", devices}};
  }
  root["products"] = products;
  json topology = json::object();
  for (const auto& [gateway, subs] : topology_) topology[gateway] = json(subs);
  root["topology"] = topology;
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << root.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    if (!out) {
      *error = "cannot write " + temp;
      return false;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    *error = "cannot replace " + path;
    return false;
  }
  return true;
}

void Registry::ensure_user() {
  if (!user_id_.empty()) return;
  uint8_t raw[4];
  (void)onenet::platform::system_random(onenet::MutableByteView(raw, sizeof raw));
  user_id_ = std::to_string(100000 + (raw[0] << 8 | raw[1]) % 900000);
  user_key_ = new_access_key();
}

Product& Registry::ensure_product(const std::string& product_id) {
  Product& p = products_[product_id];
  if (p.id.empty()) {
    p.id = product_id;
    p.key = new_access_key();
  }
  return p;
}

const Product* Registry::product(const std::string& product_id) const {
  const auto it = products_.find(product_id);
  return it == products_.end() ? nullptr : &it->second;
}

const Device* Registry::device(const std::string& product_id, const std::string& name) const {
  const Product* p = product(product_id);
  if (p == nullptr) return nullptr;
  const auto it = p->devices.find(name);
  return it == p->devices.end() ? nullptr : &it->second;
}

const Device* Registry::device_by_did(int64_t did) const {
  for (const auto& [id, product] : products_) {
    for (const auto& [name, device] : product.devices) {
      if (device.did == did) return &device;
    }
  }
  return nullptr;
}

const Device* Registry::create_device(const std::string& product_id, const std::string& name,
                                      const std::string& desc, const std::string& key) {
  Product& p = ensure_product(product_id);
  if (p.devices.count(name)) return nullptr;
  Device d;
  d.product_id = product_id;
  d.name = name;
  d.key = key.empty() ? new_access_key() : key;
  d.desc = desc;
  d.did = next_did_++;
  d.created = static_cast<int64_t>(std::time(nullptr));
  return &(p.devices[name] = d);
}

bool Registry::delete_device(const std::string& product_id, const std::string& name) {
  const auto it = products_.find(product_id);
  if (it == products_.end() || it->second.devices.erase(name) == 0) return false;
  const std::string key = device_key(product_id, name);
  topology_.erase(key);
  for (auto& [gateway, subs] : topology_) subs.erase(key);
  return true;
}

std::vector<const Device*> Registry::devices(const std::string& product_id) const {
  std::vector<const Device*> out;
  if (const Product* p = product(product_id)) {
    for (const auto& [name, d] : p->devices) out.push_back(&d);
  }
  return out;
}

bool Registry::bind(const std::string& gateway, const std::string& sub) {
  for (auto& [g, subs] : topology_) {
    if (g != gateway) subs.erase(sub);  // a sub-device has one gateway
  }
  return topology_[gateway].insert(sub).second;
}

bool Registry::unbind(const std::string& gateway, const std::string& sub) {
  const auto it = topology_.find(gateway);
  return it != topology_.end() && it->second.erase(sub) > 0;
}

size_t Registry::subdevice_count(const std::string& gateway) const {
  const auto it = topology_.find(gateway);
  return it == topology_.end() ? 0 : it->second.size();
}

std::vector<std::string> Registry::subdevices(const std::string& gateway) const {
  const auto it = topology_.find(gateway);
  if (it == topology_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

std::string Registry::gateway_of(const std::string& sub) const {
  for (const auto& [g, subs] : topology_) {
    if (subs.count(sub)) return g;
  }
  return {};
}

std::vector<std::string> Registry::product_ids() const {
  std::vector<std::string> ids;
  for (const auto& entry : products_) ids.push_back(entry.first);
  return ids;
}

}  // namespace onenet_local

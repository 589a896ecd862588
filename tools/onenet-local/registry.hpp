// onenet-local's device registry: the user account, products and their keys, devices and their
// keys, and gateway topology. Stored as one JSON file in the data directory; the launcher
// writes it (atomically: temp file + rename), the mosquitto plugin reads it. Not thread-safe:
// callers lock.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <vector>

namespace onenet_local {

struct Device {
  std::string product_id;
  std::string name;
  std::string key;  ///< Base64 access key (sec_key)
  std::string desc;
  int64_t did = 0;
  int64_t created = 0;  ///< Unix seconds
};

struct Product {
  std::string id;
  std::string key;           ///< product access key (Base64)
  bool data_stream = false;  ///< speaks the data-stream protocol (数据流), not OneJSON
  std::map<std::string, Device> devices;
};

class Registry {
 public:
  /// Loads `path`; a missing file is an empty registry. False (with `*error`) if unreadable.
  bool load(const std::string& path, std::string* error);
  /// Writes atomically. False (with `*error`) on failure.
  bool save(const std::string& path, std::string* error) const;

  /// Makes the user account if there is none.
  void ensure_user();
  const std::string& user_id() const { return user_id_; }
  const std::string& user_key() const { return user_key_; }

  Product& ensure_product(const std::string& product_id);
  const Product* product(const std::string& product_id) const;
  std::vector<std::string> product_ids() const;
  const Device* device(const std::string& product_id, const std::string& name) const;
  /// The device whose numeric id is `did` (OneNET's legacy API names devices so), or null.
  const Device* device_by_did(int64_t did) const;
  /// Creates the device with a fresh key, or with `key` when it is not empty; null if it exists.
  const Device* create_device(const std::string& product_id, const std::string& name,
                              const std::string& desc, const std::string& key = {});
  bool delete_device(const std::string& product_id, const std::string& name);
  std::vector<const Device*> devices(const std::string& product_id) const;

  /// Gateway topology: "pid/name" of a gateway -> its bound sub-devices.
  bool bind(const std::string& gateway, const std::string& sub);
  bool unbind(const std::string& gateway, const std::string& sub);
  std::vector<std::string> subdevices(const std::string& gateway) const;
  size_t subdevice_count(const std::string& gateway) const;
  /// The gateway a sub-device is bound to, or "".
  std::string gateway_of(const std::string& sub) const;

 private:
  std::string user_id_;
  std::string user_key_;
  std::map<std::string, Product> products_;
  std::map<std::string, std::set<std::string>> topology_;
  int64_t next_did_ = 1000001;
};

/// "pid/name".
std::string device_key(const std::string& product_id, const std::string& name);

/// A fresh 32-byte key, Base64.
std::string new_access_key();

/// Device presence, written by the broker plugin while it authenticates (so it is true before
/// the device sees CONNACK) and read by the platform: DIR/online/{pid}/{device} holds "1" while
/// connected, "0" after; no file means never connected. The file's mtime is the last change.
void write_presence(const std::string& state_dir, const std::string& product_id,
                    const std::string& device, bool online);
/// 1 online, 0 offline, 2 never connected; `*changed_ms` gets the last change (Unix ms).
int read_presence(const std::string& state_dir, const std::string& product_id,
                  const std::string& device, int64_t* changed_ms);
/// At start-up: nobody is online yet.
void reset_presence(const std::string& state_dir);

/// Appends one JSON object per line to a file shared by the plugin and the launcher.
void log_event(const std::string& path, const std::string& json_line);

/// Credentials never reach the event log (users attach it to bug reports): members named
/// sec_key (a device key, in device create/detail/list answers), access_key, or sasToken (a
/// sub-device's login token, in topo/add and topo/delete requests), at any depth, are replaced
/// by "(not logged)".
void hide_credentials(nlohmann::json& value);

}  // namespace onenet_local

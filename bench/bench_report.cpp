// Turns bench_mqtt's JSON lines (stdin) into the Markdown tables of bench/results/latest.md:
// the median of each measurement over the repetitions, and ours as a ratio of each peer.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string ratio(double ours, double peer, bool higher_is_better) {
  if (peer <= 0 || ours <= 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", higher_is_better ? ours / peer : peer / ours);
  return text;
}

}  // namespace

int main() {
  // (case, library) -> samples
  std::map<std::pair<std::string, std::string>, std::vector<double>> throughput, p50, p99, tls;
  std::map<std::pair<std::string, std::string>, json> memory;  // (library, phase)
  std::map<std::string, size_t> lost;
  std::vector<std::string> cases;
  std::string line;
  while (std::getline(std::cin, line)) {
    const json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    const std::string kind = j.value("kind", "");
    const std::string library = j.value("library", "");
    if (kind == "throughput") {
      const std::string c = "QoS " + std::to_string(j.value("qos", 0)) + ", " +
                            std::to_string(j.value("payload", 0)) + " B";
      if (std::find(cases.begin(), cases.end(), c) == cases.end()) cases.push_back(c);
      throughput[{c, library}].push_back(j.value("per_second", 0.0));
      lost[c + library] += j.value("sent", size_t{0}) - j.value("received", size_t{0});
    } else if (kind == "latency") {
      p50[{"", library}].push_back(j.value("p50_us", 0.0));
      p99[{"", library}].push_back(j.value("p99_us", 0.0));
    } else if (kind == "memory") {
      memory[{library, j.value("phase", "connected")}] = j;
    } else if (kind == "tls") {
      tls[{"", library}].push_back(j.value("per_second", 0.0));
    }
  }
  const char* peers[] = {"libmosquitto", "paho"};

  std::printf("### Throughput (messages/s, median of runs; one publisher -> one subscriber)\n\n");
  std::printf("| case | ours | libmosquitto | Paho C | ours / libmosquitto | ours / Paho |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const std::string& c : cases) {
    const double ours = median(throughput[{c, "ours"}]);
    const double mosq = median(throughput[{c, "libmosquitto"}]);
    const double paho = median(throughput[{c, "paho"}]);
    std::printf("| %s | %.0f | %.0f | %.0f | %s | %s |\n", c.c_str(), ours, mosq, paho,
                ratio(ours, mosq, true).c_str(), ratio(ours, paho, true).c_str());
  }
  size_t total_lost = 0;
  for (const auto& [key, n] : lost) total_lost += n;
  std::printf("\nMessages lost in all runs: %zu.\n", total_lost);

  if (!p50.empty()) {
    std::printf(
        "\n### Latency (QoS 1 publish-to-receive round trip through the broker, microseconds; "
        "median of runs)\n\n");
    std::printf("| library | p50 | p99 |\n|---|---|---|\n");
    for (const char* library : {"ours", "libmosquitto", "paho"}) {
      std::printf("| %s | %.1f | %.1f |\n", library, median(p50[{"", library}]),
                  median(p99[{"", library}]));
    }
    std::printf(
        "\np50 ratio (peer / ours, above 1 means ours is faster): libmosquitto %s, Paho %s\n",
        ratio(median(p50[{"", "ours"}]), median(p50[{"", peers[0]}]), false).c_str(),
        ratio(median(p50[{"", "ours"}]), median(p50[{"", peers[1]}]), false).c_str());
  }
  if (!memory.empty()) {
    std::printf("\n### Memory per client (1,000 clients in one process)\n\n");
    std::printf(
        "Connected: heap and resident growth per connected, idle client, subscribed to a topic "
        "of its own. In flight: the same clients each holding one QoS 1 message, published on "
        "that topic, whose PUBACK they have not read yet. Each client then receives its "
        "message back (ours-1k in parts, its rx being smaller than the message).\n\n");
    std::printf(
        "| library | connected: resident / heap | in flight: message | resident / heap | "
        "configuration |\n");
    std::printf("|---|---|---|---|---|\n");
    auto bytes = [&](const std::string& library, const char* phase, const char* field) {
      const auto it = memory.find({library, phase});
      return it == memory.end() ? size_t{0} : it->second.value(field, size_t{0});
    };
    for (const auto& [key, j] : memory) {
      if (key.second != "connected") continue;
      const std::string& library = key.first;
      std::printf("| %s | %zu / %zu | %zu B | %zu / %zu | %s |\n", library.c_str(),
                  j.value("rss_per_client", size_t{0}), j.value("heap_per_client", size_t{0}),
                  bytes(library, "in_flight", "message"),
                  bytes(library, "in_flight", "rss_per_client"),
                  bytes(library, "in_flight", "heap_per_client"), j.value("config", "").c_str());
    }
    std::printf(
        "\nPairs holding the same message (heap per client in flight; below 1 means ours is "
        "smaller):\n\n| ours | libmosquitto | message | ours / libmosquitto "
        "|\n|---|---|---|---|\n");
    for (const auto& [key, j] : memory) {
      const char* ours = key.first.c_str();
      if (key.second != "in_flight" || key.first.rfind("ours", 0) != 0) continue;
      const size_t message = j.value("message", size_t{0});
      const std::string peer = "libmosquitto-" + std::to_string(message);
      const size_t ours_heap = bytes(ours, "in_flight", "heap_per_client");
      const size_t peer_heap = bytes(peer, "in_flight", "heap_per_client");
      if (message == 0 || peer_heap == 0) continue;
      std::printf("| %s: %zu B | %zu B | %zu B | %.2f |\n", ours, ours_heap, peer_heap, message,
                  static_cast<double>(ours_heap) / static_cast<double>(peer_heap));
    }
  }
  if (!tls.empty()) {
    std::printf(
        "\n### TLS connection set-up (connect, CONNACK, DISCONNECT; per second; median of "
        "runs)\n\n");
    std::printf("| library | connects/s |\n|---|---|\n");
    for (const char* library : {"ours", "libmosquitto", "paho"})
      std::printf("| %s | %.1f |\n", library, median(tls[{"", library}]));
  }
  return 0;
}

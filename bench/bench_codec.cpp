// Codec micro-benchmarks: ns per encode/decode of PUBLISH (16 B and 4 KB) and CONNECT, with
// the allocations each operation makes (must be 0: the codec never allocates).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "onenet/codec/packets.hpp"
#include "onenet/codec/stream_decoder.hpp"

using namespace onenet;
using namespace onenet::codec;

namespace {

const std::string kTopic = "$sys/Ck2AF9QD2K/device-0001/thing/property/post";

// Call after the timed loop with the count taken just before it: reports allocations per
// iteration and fails the benchmark if the loop allocated at all.
void report_allocations(benchmark::State& state, size_t before) {
  const size_t made = onenet_bench::allocation_count() - before;
  state.counters["allocs_per_op"] =
      static_cast<double>(made) / static_cast<double>(state.iterations());
  if (made != 0) state.SkipWithError("the codec allocated");
}

Publish make_publish(const std::string& payload) {
  Publish p;
  p.topic = kTopic;
  p.payload = std::string_view(payload);
  p.qos = QoS::kAtLeastOnce;
  p.packet_id = 42;
  return p;
}

void BM_EncodePublish(benchmark::State& state) {
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  const Publish p = make_publish(payload);
  std::vector<uint8_t> out(payload.size() + 128);
  const size_t allocations_before = onenet_bench::allocation_count();
  for (auto _ : state) {
    Result<size_t> n = encode(p, MutableByteView(out.data(), out.size()));
    benchmark::DoNotOptimize(n);
  }
  report_allocations(state, allocations_before);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
}
BENCHMARK(BM_EncodePublish)->Arg(16)->Arg(4096);

void BM_DecodePublish(benchmark::State& state) {
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  const Publish p = make_publish(payload);
  std::vector<uint8_t> frame(encoded_size(p).value());
  (void)encode(p, MutableByteView(frame.data(), frame.size()));
  const size_t allocations_before = onenet_bench::allocation_count();
  for (auto _ : state) {
    Packet packet;
    Status s = decode_from_server(ByteView(frame.data(), frame.size()), &packet);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(packet);
  }
  report_allocations(state, allocations_before);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
}
BENCHMARK(BM_DecodePublish)->Arg(16)->Arg(4096);

// Through the streaming decoder, as the client reads: receive into free_space, then next().
void BM_StreamDecodePublish(benchmark::State& state) {
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  const Publish p = make_publish(payload);
  std::vector<uint8_t> frame(encoded_size(p).value());
  (void)encode(p, MutableByteView(frame.data(), frame.size()));
  std::vector<uint8_t> buffer(8192);
  StreamDecoder decoder(MutableByteView(buffer.data(), buffer.size()), buffer.size(),
                        decode_body_from_server);
  const size_t allocations_before = onenet_bench::allocation_count();
  for (auto _ : state) {
    MutableByteView space = decoder.free_space();
    std::memcpy(space.data, frame.data(), frame.size());
    decoder.commit(frame.size());
    Packet packet;
    Status s = decoder.next(&packet);
    benchmark::DoNotOptimize(s);
  }
  report_allocations(state, allocations_before);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
}
BENCHMARK(BM_StreamDecodePublish)->Arg(16)->Arg(4096);

Connect make_connect() {
  Connect c;
  c.client_id = "device-0001";
  c.keep_alive_seconds = 120;
  c.has_username = true;
  c.username = "Ck2AF9QD2K";
  c.has_password = true;
  c.password = std::string_view(
      "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Fdevice-0001&et=32472115200&"
      "method=sha256&sign=6Y4zbk3Sa89tRf9lMxCCE0jG74uEcEuu%2Fnly1pU9ADM%3D");
  return c;
}

void BM_EncodeConnect(benchmark::State& state) {
  const Connect c = make_connect();
  std::vector<uint8_t> out(512);
  const size_t allocations_before = onenet_bench::allocation_count();
  for (auto _ : state) {
    Result<size_t> n = encode(c, MutableByteView(out.data(), out.size()));
    benchmark::DoNotOptimize(n);
  }
  report_allocations(state, allocations_before);
}
BENCHMARK(BM_EncodeConnect);

void BM_DecodeConnect(benchmark::State& state) {
  const Connect c = make_connect();
  std::vector<uint8_t> frame(encoded_size(c).value());
  (void)encode(c, MutableByteView(frame.data(), frame.size()));
  const size_t allocations_before = onenet_bench::allocation_count();
  for (auto _ : state) {
    Packet packet;
    Status s = decode(ByteView(frame.data(), frame.size()), &packet);
    benchmark::DoNotOptimize(s);
  }
  report_allocations(state, allocations_before);
}
BENCHMARK(BM_DecodeConnect);

}  // namespace

BENCHMARK_MAIN();

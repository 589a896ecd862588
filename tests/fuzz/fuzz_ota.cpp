// fuse-ota for MCUs (onenet::ota::FuseOtaClient) against any bytes a server could send: as a
// task check's answer and as up to three answers to a download (the link cut after each), in
// pieces of any size. The sink may pause the download every 8 bytes (to report progress), and
// the download is then called again. Oracles: a download's pieces reach the sink in order with
// their offsets, never past the task's size, the count and MD5 state match what the sink holds
// after each call (a paused piece is not received), and kOk means the whole package with the
// task's MD5; a check's kOk gives a task as documented, a self-registration's a key that fits.
// The chunked decoder gives the same body whatever the pieces.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_require.hpp"
#include "onenet/ota/fuse_ota.hpp"
#include "ota/http.hpp"

namespace {

using onenet::Status;

class Server : public onenet::port::Transport {
 public:
  Status open(uint32_t) override {
    if (next == answers.size()) return Status::kTransportConnectFailed;
    current = answers[next++];
    at = 0;
    return Status::kOk;
  }
  int32_t send(const uint8_t*, size_t size) override { return static_cast<int32_t>(size); }
  int32_t recv(uint8_t* data, size_t size) override {
    if (at == current.size()) return -1;
    size_t n = current.size() - at;
    if (n > size) n = size;
    if (n > piece) n = piece;
    std::memcpy(data, current.data() + at, n);
    at += n;
    return static_cast<int32_t>(n);
  }
  Status wait(uint32_t, bool) override { return Status::kOk; }
  void close() override {}

  std::vector<std::string_view> answers;
  size_t piece = 1;

 private:
  size_t next = 0;
  std::string_view current;
  size_t at = 0;
};

class Clock : public onenet::port::Clock {
 public:
  uint64_t now_ms() override { return ++now; }
  uint64_t now = 0;
};

struct Flash {
  std::string bytes;
  bool in_order = true;
  uint32_t pause_at = 0;  // 0: never; else the first piece from here pauses, and it moves on
  static Status write(void* context, uint32_t offset, onenet::ByteView piece) {
    auto& flash = *static_cast<Flash*>(context);
    if (flash.pause_at != 0 && offset >= flash.pause_at) {
      flash.pause_at += 8;
      return Status::kProvisionDownloadPaused;
    }
    if (offset != flash.bytes.size()) flash.in_order = false;
    flash.bytes.append(piece.as_text());
    return Status::kOk;
  }
};

std::string md5_of(const std::string& bytes) {
  onenet::ota::Md5 md5;
  md5.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  char hex[33];
  md5.hex_digest(hex);
  return hex;
}

// Chunked decoding in one piece and byte by byte: the same body and the same end.
void check_decoder(std::string_view bytes) {
  using onenet::ota::detail::BodyDecoder;
  std::string whole(bytes), split(bytes);
  BodyDecoder at_once(BodyDecoder::Framing::kChunked), by_bytes(BodyDecoder::Framing::kChunked);
  const size_t n = at_once.decode(reinterpret_cast<uint8_t*>(whole.data()), whole.size());
  std::string piecewise;
  for (size_t i = 0; i < split.size(); ++i) {
    if (by_bytes.decode(reinterpret_cast<uint8_t*>(&split[i]), 1) == 1) piecewise += split[i];
  }
  require(whole.substr(0, n) == piecewise);
  require(at_once.done() == by_bytes.done());
  require(at_once.failed() == by_bytes.failed());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0];
  const size_t piece = 1 + data[1] % 64;  // data[1]'s bit 7: the sink pauses (below)
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  check_decoder(text);

  // Up to three answers, cut at each "\x00\x00".
  Server server;
  server.piece = mode & 0x80 ? piece * 37 : piece;
  size_t from = 0;
  while (server.answers.size() < 3) {
    const size_t cut = text.find(std::string_view("\0\0", 2), from);
    server.answers.push_back(text.substr(from, cut == std::string_view::npos ? cut : cut - from));
    if (cut == std::string_view::npos) break;
    from = cut + 2;
  }
  Clock clock;
  uint8_t buffer[600];
  onenet::ota::FuseOtaClient ota(server, clock, onenet::MutableByteView(buffer, sizeof buffer));
  const onenet::ota::Caller device{"Pid", "dev", "token"};

  if ((mode & 1) == 0 && (mode & 0x40) != 0) {
    // The device's self-registration: kOk gives a key that fits, NUL-terminated.
    onenet::ota::Registration registered;
    if (ota.register_device(device, &registered) == Status::kOk) {
      const size_t length = std::strlen(registered.key);
      require(length > 0 && length < sizeof registered.key);
    }
    return 0;
  }
  if ((mode & 1) == 0) {
    onenet::ota::Task task;
    if (ota.check(device, onenet::ota::Kind::kFirmware, "1.0", &task) == Status::kOk) {
      require(task.tid > 0 && task.size > 0);
      require(onenet::ota::valid_version(task.target));
      require(std::strlen(task.md5) == 32);
      for (const char c : std::string_view(task.md5, 32))
        require((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    return 0;
  }
  // A download of a package of 1 to 64 bytes, named by the input; its MD5 is of 'x' bytes,
  // which an input can send.
  onenet::ota::Task task;
  task.tid = 7;
  task.size = 1 + (mode >> 1) % 64;
  const std::string package(task.size, 'x');
  md5_of(package).copy(task.md5, 32);
  uint32_t received = 0;
  onenet::ota::Md5 digest;
  Flash flash;
  flash.pause_at = data[1] & 0x80 ? 8 : 0;
  Status s = Status::kProvisionDownloadPaused;
  // Each call opens a connection, and the server has three answers: a few calls at most.
  for (int calls = 0; s == Status::kProvisionDownloadPaused && calls < 8; ++calls) {
    s = ota.download(device, task, &received, &digest, Flash::write, &flash);
    require(flash.in_order);
    require(received == flash.bytes.size());
    require(received <= task.size);
    require(md5_of(flash.bytes) == [&] {
      char hex[33];
      digest.hex_digest(hex);
      return std::string(hex);
    }());
  }
  if (s == Status::kOk) require(flash.bytes == package);
  // A checksum verdict only on a whole package: an answer that ends short is never called a
  // bad MD5.
  if (s == Status::kProvisionOtaChecksumMismatch) require(received == task.size);
  return 0;
}

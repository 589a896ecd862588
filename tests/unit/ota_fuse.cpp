// onenet::ota: fuse-ota over a port::Transport, heap-free (the HTTP framing it reads, requests
// byte for byte, answers and refusals, downloads resumed with a Range, MD5), against a
// scripted server; the JSON walker it reads answers with; the streaming MD5.
#include <doctest/doctest.h>

#include <deque>
#include <string>
#include <vector>

#include "client_fixture.hpp"  // FakeClock
#include "onenet/json_walker.hpp"
#include "onenet/ota/fuse_ota.hpp"
#include "onenet/ota/md5.hpp"
#include "ota/http.hpp"

using onenet::ByteView;
using onenet::MutableByteView;
using onenet::Status;
using onenet::ota::Caller;
using onenet::ota::FuseOtaClient;
using onenet::ota::FuseOtaOptions;
using onenet::ota::Md5;
using onenet::ota::Task;
using onenet::ota::detail::BodyDecoder;
using onenet::ota::detail::ResponseHead;

namespace {

// A server on the other side of the transport: each connection gets the next answer (its bytes
// at most `chunk` at a time), then the server closes it; with `hang`, it stays silent instead.
// What each connection sent is kept.
class ScriptedServer : public onenet::port::Transport {
 public:
  struct Answer {
    std::string bytes;
    bool hang = false;  ///< after its bytes, silence instead of a close
  };

  Status open(uint32_t) override {
    ++opens;
    if (refuse_opens > 0) {
      --refuse_opens;
      return refusal;
    }
    requests.emplace_back();
    current = answers.empty() ? Answer{"", false} : answers.front();
    if (!answers.empty()) answers.pop_front();
    at = 0;
    is_open = true;
    return Status::kOk;
  }
  int32_t send(const uint8_t* data, size_t size) override {
    if (!is_open) return -1;
    if (send_stuck) return 0;
    const size_t n = size < send_chunk ? size : send_chunk;
    requests.back().append(reinterpret_cast<const char*>(data), n);
    return static_cast<int32_t>(n);
  }
  int32_t recv(uint8_t* data, size_t size) override {
    if (!is_open) return -1;
    if (at == current.bytes.size()) return current.hang ? 0 : -1;
    size_t n = current.bytes.size() - at;
    if (n > size) n = size;
    if (n > chunk) n = chunk;
    current.bytes.copy(reinterpret_cast<char*>(data), n, at);
    at += n;
    return static_cast<int32_t>(n);
  }
  Status wait(uint32_t, bool) override {
    ++waits;
    if (clock != nullptr) clock->now += 1000;  // each wait takes a second of the fake clock
    return at == current.bytes.size() && current.hang ? Status::kTransportTimeout : Status::kOk;
  }
  void close() override { is_open = false; }

  std::deque<Answer> answers;
  std::vector<std::string> requests;
  size_t chunk = 4096;
  size_t send_chunk = 4096;
  int refuse_opens = 0;
  Status refusal = Status::kTransportConnectFailed;  ///< what a refused open returns
  bool send_stuck = false;  ///< send takes nothing, and wait says it is ready all the same
  client_test::FakeClock* clock = nullptr;
  int opens = 0;
  int waits = 0;

 private:
  Answer current;
  size_t at = 0;
  bool is_open = false;
};

std::string json_answer(const std::string& body, int status = 200) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string package_answer(const std::string& bytes, int status = 200,
                           const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " OK\r\nContent-Type: application/octet-stream\r\n" + extra +
         "Content-Length: " + std::to_string(bytes.size()) + "\r\n\r\n" + bytes;
}

std::string md5_of(const std::string& bytes) {
  Md5 md5;
  md5.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  char hex[33];
  md5.hex_digest(hex);
  return hex;
}

// Bytes that are not all alike, so a misplaced piece shows.
std::string make_package(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 7919) >> 3);
  return bytes;
}

Task task_for(const std::string& package, uint64_t tid = 42) {
  Task task;
  task.tid = tid;
  task.size = static_cast<uint32_t>(package.size());
  const std::string md5 = md5_of(package);
  md5.copy(task.md5, 32);
  std::string("2.0").copy(task.target, 3);
  return task;
}

// What the sink was given: every piece, at its offset.
struct Sink {
  std::string bytes;
  std::vector<uint32_t> offsets;
  size_t fail_after = SIZE_MAX;  // the sink refuses once it holds this many bytes
  size_t pause_at = SIZE_MAX;    // the sink pauses once, at the first piece from here
  bool offsets_in_order = true;

  static Status take(void* context, uint32_t offset, ByteView piece) {
    auto& sink = *static_cast<Sink*>(context);
    if (offset != sink.bytes.size()) sink.offsets_in_order = false;
    if (sink.bytes.size() >= sink.fail_after) return Status::kInvalidArgument;
    if (offset >= sink.pause_at) {
      sink.pause_at = SIZE_MAX;
      return Status::kProvisionDownloadPaused;
    }
    sink.offsets.push_back(offset);
    sink.bytes.append(piece.as_text());
    return Status::kOk;
  }
};

struct Fixture {
  ScriptedServer server;
  client_test::FakeClock clock;
  uint8_t storage[1024];
  FuseOtaClient ota{server, clock, MutableByteView(storage, sizeof storage)};
  Caller caller{"Ck2AF9QD2K", "meter-1", "version=2018-10-31&res=products%2FCk2AF9QD2K&sign=x"};
};

std::string decode_all(BodyDecoder decoder, std::string bytes, size_t piece, bool* done,
                       bool* failed) {
  std::string out;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    const size_t n = std::min(piece, bytes.size() - at);
    const size_t got = decoder.decode(reinterpret_cast<uint8_t*>(&bytes[at]), n);
    out.append(bytes, at, got);
  }
  *done = decoder.done();
  *failed = decoder.failed();
  return out;
}

}  // namespace

TEST_CASE("HTTP head: status line and the fields that frame the body") {
  const std::string text =
      "HTTP/1.1 206 Partial Content\r\nServer: x\r\ncontent-LENGTH:  12 \r\n"
      "Content-Type: application/octet-stream\r\nContent-Range: bytes 100-111/112\r\n\r\nBODY";
  const size_t length = onenet::ota::detail::head_length(text);
  REQUIRE(length == text.size() - 4);
  ResponseHead head;
  REQUIRE(parse_response_head(std::string_view(text).substr(0, length), &head));
  CHECK(head.status == 206);
  CHECK(head.has_length);
  CHECK(head.length == 12);
  CHECK_FALSE(head.json);
  CHECK_FALSE(head.chunked);
  CHECK(head.has_range);
  CHECK(head.range_first == 100);

  CHECK(onenet::ota::detail::head_length("HTTP/1.1 200 OK\r\nA: b\r\n") == 0);  // not all here
  REQUIRE(onenet::ota::detail::head_length("HTTP/1.0 200 OK\nTransfer-Encoding: Chunked\n\n") > 0);
  REQUIRE(parse_response_head("HTTP/1.0 200 OK\nTransfer-Encoding: Chunked\n\n", &head));
  CHECK(head.chunked);
  REQUIRE(parse_response_head(
      "HTTP/1.1 404\r\ncontent-type: Application/JSON; charset=utf-8\r\n\r\n", &head));
  CHECK(head.status == 404);
  CHECK(head.json);

  for (const char* bad :
       {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000\r\n\r\n",
        "HTTP/1.1 099 x\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 206 OK\r\nContent-Range: 1-2/3\r\n\r\n",
        "HTTP/1.1 206 OK\r\nContent-Range: bytes */3\r\n\r\n"}) {
    INFO(bad);
    CHECK_FALSE(parse_response_head(bad, &head));
  }
  CHECK_FALSE(parse_response_head("HTTP/1.1 200 OK\r\nA: b\r\n", &head));  // no empty line
  // The same length twice is allowed (RFC 9112 section 6.3).
  CHECK(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
                            &head));
}

TEST_CASE("HTTP body: chunked, by length and to the close, in any pieces") {
  const std::string chunked =
      "5;name=value\r\nhello\r\n1A \r\n, a chunk of twenty-six by\r\n3\ntes\n0\r\nTrailer: "
      "x\r\n\r\n"
      "after the end";
  for (size_t piece = 1; piece <= chunked.size(); ++piece) {
    INFO("pieces of " << piece);
    bool done = false, failed = false;
    CHECK(decode_all(BodyDecoder(BodyDecoder::Framing::kChunked), chunked, piece, &done, &failed) ==
          "hello, a chunk of twenty-six bytes");
    CHECK(done);
    CHECK_FALSE(failed);
  }
  bool done = false, failed = false;
  CHECK(decode_all(BodyDecoder(BodyDecoder::Framing::kLength, 5), "12345678", 3, &done, &failed) ==
        "12345");
  CHECK(done);
  CHECK(decode_all(BodyDecoder(BodyDecoder::Framing::kLength, 0), "x", 1, &done, &failed).empty());
  CHECK(done);
  CHECK(decode_all(BodyDecoder(BodyDecoder::Framing::kUntilClose), "12345678", 3, &done, &failed) ==
        "12345678");
  CHECK_FALSE(done);  // only the close ends it

  for (const char* bad :
       {"x\r\n", "\r\n", "5\r\nhelloXX", "5\rX", "1234567890123456\r\n", "-1\r\n", "5x\r\n"}) {
    INFO(bad);
    decode_all(BodyDecoder(BodyDecoder::Framing::kChunked), bad, 1, &done, &failed);
    CHECK(failed);
  }
}

TEST_CASE("lite_json: numbers and plain strings as fuse-ota's answers carry them") {
  uint64_t n = 0;
  CHECK(onenet::lite_json::read_unsigned("18446744073709551615", &n) == false);  // 20 digits
  REQUIRE(onenet::lite_json::read_unsigned("9999999999999999999", &n));
  CHECK(n == 9999999999999999999ull);
  CHECK_FALSE(onenet::lite_json::read_unsigned("", &n));
  CHECK_FALSE(onenet::lite_json::read_unsigned("-1", &n));
  CHECK_FALSE(onenet::lite_json::read_unsigned("1.0", &n));
  std::string_view text;
  REQUIRE(onenet::lite_json::read_plain_string("\"V2.0\"", &text));
  CHECK(text == "V2.0");
  CHECK_FALSE(onenet::lite_json::read_plain_string("\"a\\\"b\"", &text));
  CHECK_FALSE(onenet::lite_json::read_plain_string("12", &text));
  CHECK_FALSE(onenet::lite_json::read_plain_string("\"", &text));
}

TEST_CASE("Md5: the digest leaves the running state as it was") {
  Md5 md5;
  md5.update(reinterpret_cast<const uint8_t*>("mess"), 4);
  char hex[33];
  md5.hex_digest(hex);
  CHECK(std::string(hex) == md5_of("mess"));
  md5.update(reinterpret_cast<const uint8_t*>("age digest"), 10);
  md5.hex_digest(hex);
  CHECK(std::string(hex) == "f96b697d7cb7938d525a2f31aaf161d0");  // RFC 1321's "message digest"
}

TEST_CASE("fuse-ota check: the request byte for byte, and the task read from the answer") {
  Fixture f;
  f.server.answers.push_back({json_answer(
      R"({"code":0,"msg":"succ","data":{"target":"V2.0","tid":"12345678901","size":70000,)"
      R"("md5":"0123456789ABCDEF0123456789abcdef","status":1,"type":2,"extra":[1,{"a":"}"}]},)"
      R"("request_id":"x"})")});
  f.server.chunk = 7;  // the answer in small pieces
  Task task;
  REQUIRE(f.ota.check(f.caller, onenet::ota::Kind::kSoftware, "V1.0", &task) == Status::kOk);
  CHECK(f.server.requests.front() ==
        "GET /fuse-ota/Ck2AF9QD2K/meter-1/check?type=2&version=V1.0 HTTP/1.1\r\n"
        "Host: iot-api.heclouds.com\r\n"
        "authorization: version=2018-10-31&res=products%2FCk2AF9QD2K&sign=x\r\n"
        "Connection: close\r\n\r\n");
  CHECK(task.tid == 12345678901ull);
  CHECK(std::string(task.target) == "V2.0");
  CHECK(task.size == 70000);
  CHECK(std::string(task.md5) == "0123456789abcdef0123456789abcdef");
  CHECK(task.status == 1);
  CHECK(task.type == 2);
}

TEST_CASE("register_device: the request byte for byte; the legacy envelope read both ways") {
  Fixture f;
  FuseOtaOptions options;
  options.host = onenet::ota::kLegacyApiHost;
  FuseOtaClient legacy(f.server, f.clock, MutableByteView(f.storage, sizeof f.storage), options);
  // As captured from OneNET (community firmware keeps it in a comment).
  f.server.answers.push_back({json_answer(
      R"({"request_id":"f55a5a37-36e4-43a6-905c-cc8f958437b0","code":"onenet_common_success",)"
      R"("code_no":"000000","message":null,"data":{"device_id":"589804481",)"
      R"("name":"mcu_id_43057127","pid":282932,"key":"indu/peTFlsgQGL060Gp7GhJOn9DnuRecadrybv9/XY="}})")});
  const Caller product{"282932", "mcu_id_43057127",
                       "version=2018-10-31&res=products%2F282932&et=1&method=sha1&sign=x"};
  onenet::ota::Registration got;
  REQUIRE(legacy.register_device(product, &got) == Status::kOk);
  CHECK(f.server.requests.front() ==
        "POST /mqtt/v1/devices/reg HTTP/1.1\r\n"
        "Host: api.heclouds.com\r\n"
        "authorization: version=2018-10-31&res=products%2F282932&et=1&method=sha1&sign=x\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n"
        R"({"name":"mcu_id_43057127"})");
  CHECK(got.did == 589804481u);
  CHECK(std::string(got.key) == "indu/peTFlsgQGL060Gp7GhJOn9DnuRecadrybv9/XY=");

  // The image page's way round ("000000" in code), and a device id as a number.
  f.server.answers.push_back({json_answer(
      R"({"code":"000000","code_no":"onenet_common_success","data":{"device_id":7,"key":"k"}})")});
  REQUIRE(legacy.register_device(product, &got) == Status::kOk);
  CHECK(got.did == 7u);
  CHECK(std::string(got.key) == "k");

  SUBCASE("its error table: a bad token, another refusal") {
    f.server.answers.push_back({json_answer(
        R"({"code":"onenet_common_authFailed","code_no":"000002","message":"token expired"})")});
    CHECK(legacy.register_device(product, &got) == Status::kProvisionBadCredentials);
    CHECK(legacy.last_code() == 2);
    CHECK(std::string(legacy.last_message()) == "token expired");
    f.server.answers.push_back(
        {json_answer(R"({"code":"onenet_auth_prodNotFound","code_no":"001000","message":null})")});
    CHECK(legacy.register_device(product, &got) == Status::kProvisionApiError);
    CHECK(legacy.last_code() == 1000);
    CHECK(std::string(legacy.last_message()) == "onenet_auth_prodNotFound");
  }
  SUBCASE("answers without what it needs") {
    for (const std::string& body : std::vector<std::string>{
             R"({"code_no":"000000","data":{"key":"k"}})",
             R"({"code_no":"000000","data":{"device_id":"12a","key":"k"}})",
             R"({"code_no":"000000","data":{"device_id":"1"}})", R"({"code_no":"ok","code":"x"})",
             R"({"code_no":"000000","data":{"device_id":"1","key":")" + std::string(65, 'k') +
                 "\"}}"}) {
      CAPTURE(body);
      f.server.answers.push_back({json_answer(body)});
      CHECK(legacy.register_device(product, &got) == Status::kProvisionBadResponse);
    }
    CHECK(got.did == 7u);  // untouched
  }
  SUBCASE("refused before a request: a name that is not path-safe, no Registration") {
    const Caller bad{"282932", "has space", "t"};
    CHECK(legacy.register_device(bad, &got) == Status::kInvalidArgument);
    CHECK(legacy.register_device(product, nullptr) == Status::kInvalidArgument);
    CHECK(f.server.opens == 2);
  }
}

TEST_CASE("fuse-ota answers that refuse, and answers that are not OneNET's") {
  Fixture f;
  Task task;
  auto check = [&] { return f.ota.check(f.caller, onenet::ota::Kind::kFirmware, "1.0", &task); };

  SUBCASE("12012: no task") {
    f.server.answers.push_back({json_answer(R"({"code":12012,"msg":"not exist"})")});
    CHECK(check() == Status::kProvisionNoOtaTask);
    CHECK(f.ota.last_code() == 12012);
    CHECK(std::string(f.ota.last_message()) == "not exist");
    CHECK(f.ota.last_http_status() == 200);
  }
  SUBCASE("10403: the token") {
    f.server.answers.push_back({json_answer(R"({"code":10403,"msg":"auth failed"})", 401)});
    CHECK(check() == Status::kProvisionBadCredentials);
    CHECK(f.ota.last_http_status() == 401);
  }
  SUBCASE("another code: its message, cut at a character and not inside one") {
    // "x" and 30 three-byte characters (91 bytes): 63 bytes would end inside the 21st
    // character, so the message keeps "x" and the 20 whole ones before it (61 bytes).
    std::string message = "x";
    for (int i = 0; i < 30; ++i) message += "\xe4\xb8\x8d";
    f.server.answers.push_back({json_answer(R"({"code":10001,"msg":")" + message + "\"}")});
    CHECK(check() == Status::kProvisionApiError);
    CHECK(f.ota.last_code() == 10001);
    CHECK(std::string(f.ota.last_message()) == message.substr(0, 61));
  }
  SUBCASE("a message with escapes: its raw text") {
    f.server.answers.push_back({json_answer(R"({"code":10001,"msg":"a \"quoted\" word"})")});
    CHECK(check() == Status::kProvisionApiError);
    CHECK(std::string(f.ota.last_message()) == R"(a \"quoted\" word)");
  }
  SUBCASE("JSON that is not the envelope") {
    f.server.answers.push_back({json_answer(R"({"msg":"no code"})")});
    CHECK(check() == Status::kProvisionBadResponse);
    CHECK(std::string(f.ota.last_message()) == "the answer is not OneNET's JSON envelope");
  }
  SUBCASE("a chunked answer that cannot be read") {
    f.server.answers.push_back(
        {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
         "zz\r\n{}\r\n0\r\n\r\n"});
    CHECK(check() == Status::kProvisionBadResponse);
    CHECK(std::string(f.ota.last_message()) == "a chunked answer that cannot be read");
  }
  SUBCASE("a task without an md5") {
    f.server.answers.push_back(
        {json_answer(R"({"code":0,"msg":"succ","data":{"target":"2","tid":1,"size":5}})")});
    CHECK(check() == Status::kProvisionBadResponse);
  }
  SUBCASE("a package of 4 GiB") {
    f.server.answers.push_back(
        {json_answer(R"({"code":0,"data":{"target":"2","tid":1,"size":4294967296,"md5":")" +
                     std::string(32, 'a') + "\"}}")});
    CHECK(check() == Status::kProvisionBadResponse);
  }
  SUBCASE("an HTML error page") {
    f.server.answers.push_back(
        {"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: "
         "9\r\n\r\n<h1>x</h1>"});
    CHECK(check() == Status::kProvisionBadResponse);
    CHECK(f.ota.last_http_status() == 502);
  }
  SUBCASE("not HTTP") {
    f.server.answers.push_back({"SSH-2.0-OpenSSH_9.2\r\n\r\n"});
    CHECK(check() == Status::kProvisionBadResponse);
  }
  SUBCASE("a head larger than the buffer") {
    f.server.answers.push_back({"HTTP/1.1 200 OK\r\nX: " + std::string(2000, 'a') + "\r\n\r\n"});
    CHECK(check() == Status::kProvisionBadResponse);
  }
  SUBCASE("an answer larger than the buffer") {
    f.server.answers.push_back(
        {json_answer("{\"code\":0,\"msg\":\"" + std::string(2000, 'a') + "\"}")});
    CHECK(check() == Status::kProvisionBadResponse);
  }
  SUBCASE("a chunked answer, and one that ends at the close") {
    f.server.answers.push_back(
        {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
         "A\r\n{\"code\":12\r\n8\r\n012,\"a\":\r\n2\r\n1}\r\n0\r\n\r\n"});
    CHECK(check() == Status::kProvisionNoOtaTask);
    f.server.answers.push_back(
        {"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"code\":12012}"});
    CHECK(check() == Status::kProvisionNoOtaTask);
  }
  SUBCASE("an answer cut short: the request is made again, then given up") {
    for (int i = 0; i < 3; ++i)
      f.server.answers.push_back({"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"code\":"});
    CHECK(check() == Status::kProvisionNetworkFailed);
    CHECK(f.server.opens == 3);
  }
  SUBCASE("a silent server: the timeout ends each attempt") {
    for (int i = 0; i < 3; ++i) f.server.answers.push_back({"HTTP/1.1 200 OK\r\n", true});
    CHECK(check() == Status::kProvisionTimeout);
    CHECK(f.server.opens == 3);
  }
  SUBCASE("a transport that says it is ready and takes nothing: the send times out") {
    f.server.send_stuck = true;
    f.server.clock = &f.clock;
    CHECK(check() == Status::kProvisionTimeout);
    CHECK(std::string(f.ota.last_message()) == "the request could not be sent in time");
    CHECK(f.server.opens == 3);
    CHECK(f.server.waits == 30);  // ten one-second waits of the 10-s timeout, three times
  }
  SUBCASE("a TLS layer that does not trust the server: its status, and no second attempt") {
    f.server.refuse_opens = 3;
    f.server.refusal = Status::kTlsVerifyFailed;
    CHECK(check() == Status::kTlsVerifyFailed);
    CHECK(f.server.opens == 1);
  }
  SUBCASE("a stop requested while connecting: at once") {
    f.server.refuse_opens = 3;
    f.server.refusal = Status::kTransportCancelled;
    CHECK(check() == Status::kTransportCancelled);
    CHECK(f.server.opens == 1);
  }
  SUBCASE("refused connections, then an answer") {
    f.server.refuse_opens = 2;
    f.server.answers.push_back({json_answer(R"({"code":12012})")});
    CHECK(check() == Status::kProvisionNoOtaTask);
    CHECK(f.server.opens == 3);
  }
}

TEST_CASE("fuse-ota: version and step reports, and the arguments refused before any request") {
  Fixture f;
  f.server.answers.push_back({json_answer(R"({"code":0,"msg":"succ"})")});
  f.server.answers.push_back({json_answer(R"({"code":0,"msg":"succ"})")});
  f.server.answers.push_back({json_answer(R"({"code":0,"msg":"succ"})")});
  f.server.send_chunk = 5;  // the request in small pieces
  REQUIRE(f.ota.report_version(f.caller, "FW-1.0", "V1.0") == Status::kOk);
  CHECK(f.server.requests[0] ==
        "POST /fuse-ota/Ck2AF9QD2K/meter-1/version HTTP/1.1\r\nHost: iot-api.heclouds.com\r\n"
        "authorization: version=2018-10-31&res=products%2FCk2AF9QD2K&sign=x\r\n"
        "Connection: close\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n"
        R"({"f_version":"FW-1.0","s_version":"V1.0"})");
  REQUIRE(f.ota.report_version(f.caller, "", "V1.0") == Status::kOk);
  CHECK(f.server.requests[1].substr(f.server.requests[1].find("\r\n\r\n")) ==
        "\r\n\r\n{\"s_version\":\"V1.0\"}");
  REQUIRE(f.ota.report_step(f.caller, 9007199254740993ull, 101) == Status::kOk);
  CHECK(f.server.requests[2].rfind("POST /fuse-ota/Ck2AF9QD2K/meter-1/9007199254740993/status ",
                                   0) == 0);
  CHECK(f.server.requests[2].find("Content-Length: 12\r\n\r\n{\"step\":101}") != std::string::npos);

  Task task;
  CHECK(f.ota.report_step(f.caller, 1, 150) == Status::kInvalidArgument);
  CHECK(std::string(f.ota.last_message()) == "step: 0-100, 101-107 or 201-208");
  CHECK(f.ota.report_step(f.caller, 0, 101) == Status::kInvalidArgument);
  CHECK(f.ota.report_version(f.caller, "", "") == Status::kInvalidArgument);
  CHECK(f.ota.report_version(f.caller, "1.0 beta", "") == Status::kInvalidArgument);
  CHECK(f.ota.report_version(f.caller, std::string(21, '1'), "") == Status::kInvalidArgument);
  CHECK(f.ota.check(f.caller, onenet::ota::Kind::kFirmware, "1.0&x=y", &task) ==
        Status::kInvalidArgument);
  CHECK(f.ota.check(f.caller, static_cast<onenet::ota::Kind>(3), "1.0", &task) ==
        Status::kInvalidArgument);
  FuseOtaOptions no_host;
  no_host.host = "";
  FuseOtaClient hostless(f.server, f.clock, MutableByteView(f.storage, sizeof f.storage), no_host);
  CHECK(hostless.task_active(f.caller, 1) == Status::kInvalidArgument);
  CHECK(std::string(hostless.last_message()) == "options.host: empty, or with spaces");
  Caller bad = f.caller;
  bad.token = "sign=x\r\nX-Injected: 1";
  CHECK(f.ota.task_active(bad, 1) == Status::kInvalidArgument);
  bad = f.caller;
  bad.device_name = "../meter";
  CHECK(f.ota.task_active(bad, 1) == Status::kInvalidArgument);
  bad.device_name = "";
  CHECK(f.ota.task_active(bad, 1) == Status::kInvalidArgument);
  uint8_t small[256];
  FuseOtaClient tiny(f.server, f.clock, MutableByteView(small, sizeof small));
  CHECK(tiny.task_active(f.caller, 1) == Status::kBufferTooSmall);
  FuseOtaOptions long_host;
  const std::string host(900, 'h');
  long_host.host = host;
  FuseOtaClient far(f.server, f.clock, MutableByteView(f.storage, sizeof f.storage), long_host);
  CHECK(far.task_active(f.caller, 1) == Status::kBufferTooSmall);
  CHECK(f.server.opens == 3);  // none of these went out
}

TEST_CASE("fuse-ota download: every byte to the sink, in order, checked by MD5") {
  Fixture f;
  const std::string package = make_package(10000);
  const Task task = task_for(package);
  Sink sink;
  uint32_t received = 0;
  Md5 digest;

  SUBCASE("whole, in small pieces") {
    f.server.answers.push_back({package_answer(package)});
    f.server.chunk = 333;
    REQUIRE(f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink) == Status::kOk);
    CHECK(f.server.requests[0].rfind("GET /fuse-ota/Ck2AF9QD2K/meter-1/42/download HTTP/1.1\r\n",
                                     0) == 0);
    CHECK(f.server.requests[0].find("Range") == std::string::npos);
  }
  SUBCASE("chunked") {
    std::string body;
    for (size_t at = 0; at < package.size(); at += 999) {
      const std::string piece = package.substr(at, 999);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      body += size + piece + "\r\n";
    }
    body += "0\r\n\r\n";
    f.server.answers.push_back({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body});
    f.server.chunk = 1000;
    REQUIRE(f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink) == Status::kOk);
  }
  SUBCASE("to the close (no length given)") {
    f.server.answers.push_back({"HTTP/1.0 200 OK\r\n\r\n" + package});
    REQUIRE(f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink) == Status::kOk);
  }
  SUBCASE("cut twice: the rest asked for with a Range each time") {
    // The first answer's head is about 90 bytes: what arrived of the body sets the next range.
    const size_t first_head = package_answer(package).find("\r\n\r\n") + 4;
    const size_t first = 3000 - first_head;
    f.server.answers.push_back({package_answer(package).substr(0, 3000)});
    const std::string second_range =
        "Content-Range: bytes " + std::to_string(first) + "-9999/10000\r\n";
    const std::string second = package_answer(package.substr(first), 206, second_range);
    const size_t second_head = second.find("\r\n\r\n") + 4;
    f.server.answers.push_back({second.substr(0, second_head + 4000)});
    const size_t third_from = first + 4000;
    f.server.answers.push_back(
        {package_answer(package.substr(third_from), 206,
                        "Content-Range: bytes " + std::to_string(third_from) + "-9999/10000\r\n")});
    REQUIRE(f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink) == Status::kOk);
    REQUIRE(f.server.requests.size() == 3);
    CHECK(f.server.requests[1].find("Range: bytes=" + std::to_string(first) + "-9999\r\n") !=
          std::string::npos);
    CHECK(f.server.requests[2].find("Range: bytes=" + std::to_string(third_from) + "-9999\r\n") !=
          std::string::npos);
  }
  SUBCASE("paused by the sink (to report progress), then asked for from there with a Range") {
    f.server.answers.push_back({package_answer(package)});
    f.server.chunk = 1000;
    sink.pause_at = 5000;
    REQUIRE(f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink) ==
            Status::kProvisionDownloadPaused);
    // The paused piece is not received; everything before it is, with its MD5 state.
    CHECK(received >= 5000);
    CHECK(received < 6000);
    CHECK(received == sink.bytes.size());
    const uint32_t paused_at = received;
    f.server.answers.push_back(
        {package_answer(package.substr(paused_at), 206,
                        "Content-Range: bytes " + std::to_string(paused_at) + "-9999/10000\r\n")});
    REQUIRE(f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink) == Status::kOk);
    REQUIRE(f.server.requests.size() == 2);
    CHECK(f.server.requests[1].find("Range: bytes=" + std::to_string(paused_at) + "-9999\r\n") !=
          std::string::npos);
  }
  SUBCASE("a server that ignores the Range: the bytes held are passed over") {
    f.server.answers.push_back({package_answer(package).substr(0, 4000)});
    f.server.answers.push_back({package_answer(package)});
    f.server.chunk = 700;
    REQUIRE(f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink) == Status::kOk);
    CHECK(f.server.requests.size() == 2);
  }
  SUBCASE("resumed by a new client from the count and MD5 saved before a restart") {
    f.server.answers.push_back({package_answer(package).substr(0, 6000)});
    for (int i = 0; i < 3; ++i) f.server.answers.push_back({"", false});  // then no answer
    CHECK(f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink) ==
          Status::kProvisionNetworkFailed);
    REQUIRE(received > 0);
    REQUIRE(received < package.size());
    CHECK(received == sink.bytes.size());
    const uint32_t saved_received = received;
    const Md5 saved_digest = digest;

    ScriptedServer later;
    later.answers.push_back({package_answer(
        package.substr(saved_received), 206,
        "Content-Range: bytes " + std::to_string(saved_received) + "-9999/10000\r\n")});
    FuseOtaClient after_restart(later, f.clock, MutableByteView(f.storage, sizeof f.storage));
    uint32_t resumed = saved_received;
    Md5 resumed_digest = saved_digest;
    REQUIRE(after_restart.download(f.caller, task, &resumed, &resumed_digest, Sink::take, &sink) ==
            Status::kOk);
    received = resumed;
  }
  CHECK(sink.bytes == package);
  CHECK(sink.offsets_in_order);
  CHECK(received == package.size());
}

TEST_CASE("fuse-ota download: what ends it, and what it leaves") {
  Fixture f;
  const std::string package = make_package(5000);
  Task task = task_for(package);
  Sink sink;
  uint32_t received = 0;
  Md5 digest;
  auto download = [&] {
    return f.ota.download(f.caller, task, &received, &digest, Sink::take, &sink);
  };

  SUBCASE("the package is not the task's: MD5") {
    std::string other = package;
    other[4000] ^= 1;
    f.server.answers.push_back({package_answer(other)});
    CHECK(download() == Status::kProvisionOtaChecksumMismatch);
    CHECK(received == package.size());
  }
  SUBCASE("more bytes than the task's size, announced") {
    f.server.answers.push_back({package_answer(package + "x")});
    CHECK(download() == Status::kProvisionBadResponse);
    CHECK(sink.bytes.empty());
  }
  SUBCASE("more bytes than the task's size, sent to the close") {
    f.server.answers.push_back({"HTTP/1.0 200 OK\r\n\r\n" + package + "extra"});
    CHECK(download() == Status::kProvisionBadResponse);
    CHECK(received <= package.size());
  }
  SUBCASE("a range that starts elsewhere") {
    f.server.answers.push_back({package_answer(package).substr(0, 1000)});
    f.server.answers.push_back(
        {package_answer(package.substr(10), 206, "Content-Range: bytes 10-4999/5000\r\n")});
    CHECK(download() == Status::kProvisionBadResponse);
  }
  SUBCASE("a success envelope instead of the package") {
    f.server.answers.push_back({json_answer(R"({"code":0,"msg":"succ"})")});
    CHECK(download() == Status::kProvisionBadResponse);
    CHECK(std::string(f.ota.last_message()) == "a download answered without the package");
    CHECK(f.server.opens == 1);
  }
  SUBCASE("the task is gone") {
    f.server.answers.push_back({json_answer(R"({"code":12012,"msg":"not exist"})")});
    CHECK(download() == Status::kProvisionNoOtaTask);
  }
  SUBCASE("the sink refuses: its status, and the piece not counted") {
    sink.fail_after = 2000;
    f.server.chunk = 1000;
    f.server.answers.push_back({package_answer(package)});
    CHECK(download() == Status::kInvalidArgument);
    CHECK(received == sink.bytes.size());
    CHECK(received >= 2000);
    CHECK(received < package.size());
  }
  SUBCASE("answers that bring nothing, max_attempts times") {
    for (int i = 0; i < 5; ++i) f.server.answers.push_back({package_answer("")});
    CHECK(download() == Status::kProvisionNetworkFailed);
    CHECK(f.server.opens == 3);
  }
  SUBCASE("a server that falls silent mid-head") {
    for (int i = 0; i < 5; ++i)
      f.server.answers.push_back({package_answer(package).substr(0, 50), true});
    CHECK(download() == Status::kProvisionTimeout);
    CHECK(f.server.opens == 3);
  }
  SUBCASE("a chunked package that cannot be read: what came before it is kept") {
    f.server.answers.push_back({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" +
                                package.substr(0, 16) + "\r\nnot a size\r\n"});
    CHECK(download() == Status::kProvisionBadResponse);
    CHECK(std::string(f.ota.last_message()) == "a chunked body that cannot be read");
    CHECK(received == 16);
    CHECK(sink.bytes == package.substr(0, 16));
  }
  SUBCASE("tasks and counts check would not have given") {
    task.md5[5] = 'x';
    CHECK(download() == Status::kInvalidArgument);
    task = task_for(package);
    task.size = 0;
    CHECK(download() == Status::kInvalidArgument);
    task = task_for(package);
    received = 5001;
    CHECK(download() == Status::kInvalidArgument);
    received = 0;
    CHECK(f.ota.download(f.caller, task, &received, &digest, nullptr, &sink) ==
          Status::kInvalidArgument);
    CHECK(f.server.opens == 0);
  }
  SUBCASE("already whole: only the MD5 is checked") {
    digest.update(reinterpret_cast<const uint8_t*>(package.data()), package.size());
    received = 5000;
    CHECK(download() == Status::kOk);
    CHECK(f.server.opens == 0);
  }
}

TEST_CASE("download_failure_step: the step section 5.5's table gives each way a download ends") {
  using onenet::ota::download_failure_step;
  CHECK(download_failure_step(Status::kProvisionOtaChecksumMismatch) == 205);
  CHECK(download_failure_step(Status::kProvisionTimeout) == 104);
  CHECK(download_failure_step(Status::kProvisionNetworkFailed) == 106);
  CHECK(download_failure_step(Status::kProvisionBadResponse) == 107);
  CHECK(download_failure_step(Status::kInvalidArgument) == 107);  // a flash write the sink refused
  CHECK(download_failure_step(Status::kTlsVerifyFailed) == 107);
  // Nothing to report: a whole package, or a task that is gone.
  CHECK(download_failure_step(Status::kOk) == 0);
  CHECK(download_failure_step(Status::kProvisionNoOtaTask) == 0);
  CHECK(download_failure_step(Status::kProvisionDownloadPaused) == 0);  // the caller's own pause
}

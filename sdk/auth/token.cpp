#include "onenet/auth/token.hpp"

#include <cstring>

#include "onenet/auth/encoding.hpp"
#include "token_internal.hpp"

namespace onenet::auth {
namespace detail {

port::HmacAlgorithm algorithm_of(Method method) {
  switch (method) {
    case Method::kMd5:
      return port::HmacAlgorithm::kMd5;
    case Method::kSha1:
      return port::HmacAlgorithm::kSha1;
    case Method::kSha256:
      break;
  }
  return port::HmacAlgorithm::kSha256;
}

// A res is `class/id[/class/id...]`: an even number of non-empty segments of printable ASCII
// (section 1.2). Encoding handles any byte, but a control character or space here is a bug.
Status check_resource(std::string_view res) {
  if (res.empty() || res.size() > kMaxResourceLength) return Status::kAuthResourceInvalid;
  size_t segments = 1;
  size_t segment_length = 0;
  for (const char c : res) {
    if (c == '/') {
      if (segment_length == 0) return Status::kAuthResourceInvalid;
      ++segments;
      segment_length = 0;
    } else if (c <= ' ' || c > '~') {
      return Status::kAuthResourceInvalid;
    } else {
      ++segment_length;
    }
  }
  if (segment_length == 0 || segments % 2 != 0) return Status::kAuthResourceInvalid;
  return Status::kOk;
}

// Versions are date-like strings ("2018-10-31"); any [A-Za-z0-9.-] text is accepted so a
// future version needs no SDK change.
Status check_version(std::string_view version) {
  if (version.empty() || version.size() > kMaxVersionLength) return Status::kAuthVersionInvalid;
  for (const char c : version) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '.';
    if (!ok) return Status::kAuthVersionInvalid;
  }
  return Status::kOk;
}

Status decode_key(std::string_view access_key, DecodedKey* key) {
  if (access_key.empty()) return Status::kAuthEmptyKey;
  if (base64_decoded_max_length(access_key.size()) > kMaxKeyBytes) return Status::kAuthKeyTooLong;
  const Result<size_t> n = base64_decode(access_key, key->bytes, sizeof key->bytes);
  if (!n) return n.status();
  key->size = n.value();
  return Status::kOk;
}

// HMAC over "et\nmethod\nres\nversion" (section 1.3), Base64-encoded.
Status compute_signature(const DecodedKey& key, uint64_t et, std::string_view method_text,
                         Method method, std::string_view res, std::string_view version,
                         port::HmacFunction hmac, Signature* out) {
  char message[20 + 1 + 6 + 1 + kMaxResourceLength + 1 + kMaxVersionLength];
  if (method_text.size() > 6) return Status::kAuthUnknownMethod;
  TextWriter text{message, sizeof message};
  text.decimal(et);
  text.put('\n');
  text.put(method_text);
  text.put('\n');
  text.put(res);
  text.put('\n');
  text.put(version);
  // Callers bound res and version (check_resource, check_version); never sign a truncated text.
  if (text.overflowed()) return Status::kInternalError;

  uint8_t digest[32];
  const port::HmacAlgorithm algorithm = algorithm_of(method);
  const Status status = hmac(algorithm, ByteView(key.bytes, key.size),
                             ByteView(reinterpret_cast<uint8_t*>(message), text.length), digest);
  if (status != Status::kOk) return Status::kAuthHmacFailed;
  const Result<size_t> written = base64_encode(ByteView(digest, port::hmac_length(algorithm)),
                                               out->base64, sizeof out->base64);
  if (!written) return written.status();
  out->size = written.value();
  return Status::kOk;
}

// Every check of a request; the key it decodes is what signing needs, so no caller decodes twice.
Status check_and_decode(const TokenRequest& request, DecodedKey* key) {
  Status s = check_resource(request.resource);
  if (s != Status::kOk) return s;
  s = check_version(request.version);
  if (s != Status::kOk) return s;
  return decode_key(request.access_key, key);
}

Status sign_request(const TokenRequest& request, port::HmacFunction hmac, Signature* signature) {
  DecodedKey key;
  const Status checked = check_and_decode(request, &key);
  if (checked != Status::kOk) return checked;
  return compute_signature(key, request.expires_at, method_name(request.method), request.method,
                           request.resource, request.version, hmac, signature);
}

// Field order fixed by section 1.6; only values are encoded.
void write_token(const TokenRequest& request, const Signature& signature, TextWriter& out) {
  out.put("version=");
  out.put(request.version);
  out.put("&res=");
  out.url_encoded(request.resource);
  out.put("&et=");
  out.decimal(request.expires_at);
  out.put("&method=");
  out.put(method_name(request.method));
  out.put("&sign=");
  out.url_encoded(std::string_view(signature.base64, signature.size));
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace detail

using namespace detail;

std::string_view method_name(Method method) {
  switch (method) {
    case Method::kMd5:
      return "md5";
    case Method::kSha1:
      return "sha1";
    case Method::kSha256:
      break;
  }
  return "sha256";
}

Result<Method> parse_method(std::string_view name) {
  for (const Method m : {Method::kMd5, Method::kSha1, Method::kSha256}) {
    if (equals_ignore_case(name, method_name(m))) return m;
  }
  return Status::kAuthUnknownMethod;
}

Status check_request(const TokenRequest& request) {
  DecodedKey key;
  return check_and_decode(request, &key);
}

Result<size_t> token_length(const TokenRequest& request, port::HmacFunction hmac) {
  Signature signature;
  const Status s = sign_request(request, hmac, &signature);
  if (s != Status::kOk) return s;
  TextWriter counter{nullptr, 0};
  write_token(request, signature, counter);
  return counter.length;
}

Result<size_t> sign_token(const TokenRequest& request, port::HmacFunction hmac, char* out,
                          size_t out_size) {
  Signature signature;
  const Status s = sign_request(request, hmac, &signature);
  if (s != Status::kOk) return s;
  if (out == nullptr || out_size == 0) return Status::kBufferTooSmall;
  TextWriter text{out, out_size - 1};  // room kept for the terminator
  write_token(request, signature, text);
  if (text.overflowed()) {
    out[0] = '\0';  // no partial token left behind
    return Status::kBufferTooSmall;
  }
  out[text.length] = '\0';
  return text.length;
}

Result<size_t> device_resource(std::string_view product_id, std::string_view device_name, char* out,
                               size_t out_size) {
  if (product_id.empty() || device_name.empty() || product_id.find('/') != std::string_view::npos ||
      device_name.find('/') != std::string_view::npos) {
    return Status::kAuthResourceInvalid;
  }
  if (out == nullptr || out_size == 0) return Status::kBufferTooSmall;
  TextWriter text{out, out_size - 1};
  text.put("products/");
  text.put(product_id);
  text.put("/devices/");
  text.put(device_name);
  if (text.overflowed()) {
    out[0] = '\0';
    return Status::kBufferTooSmall;
  }
  out[text.length] = '\0';
  return text.length;
}

}  // namespace onenet::auth

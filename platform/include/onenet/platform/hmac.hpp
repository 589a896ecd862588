// HMAC implementations of onenet::port::HmacFunction. Each is available when its backend was
// found at build time (ONENET_HAVE_OPENSSL_HMAC / ONENET_HAVE_MBEDTLS_HMAC).
#pragma once

#include "onenet/port.hpp"

namespace onenet::platform {

/// HMAC with OpenSSL's libcrypto. Thread-safe, blocking, no state.
Status openssl_hmac(port::HmacAlgorithm algorithm, ByteView key, ByteView message, uint8_t* digest);

/// HMAC with mbedTLS (the embedded path). Thread-safe, blocking, no state.
Status mbedtls_hmac(port::HmacAlgorithm algorithm, ByteView key, ByteView message, uint8_t* digest);

}  // namespace onenet::platform

namespace onenet::platform {

/// The HMAC of the build's TLS backend: OpenSSL when present, else mbedTLS.
inline port::HmacFunction default_hmac() {
#if defined(ONENET_HAVE_OPENSSL_HMAC)
  return &openssl_hmac;
#elif defined(ONENET_HAVE_MBEDTLS_HMAC)
  return &mbedtls_hmac;
#else
  return nullptr;
#endif
}

}  // namespace onenet::platform

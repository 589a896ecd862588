// An mbedTLS configuration for a bare-metal build (no OS): Debian's default configuration
// without the parts that need one (threads, sockets, timers, files). scripts/size.sh compiles
// MbedTlsTransport for Cortex-M4 against it (-DMBEDTLS_CONFIG_FILE); a firmware project uses
// its own configuration and its own mbedTLS build.
#ifndef ONENET_MBEDTLS_CONFIG_BARE_METAL_H
#define ONENET_MBEDTLS_CONFIG_BARE_METAL_H

#include <mbedtls/config.h>

#undef MBEDTLS_THREADING_C
#undef MBEDTLS_THREADING_PTHREAD
#undef MBEDTLS_NET_C
#undef MBEDTLS_TIMING_C
#undef MBEDTLS_FS_IO
#undef MBEDTLS_HAVE_TIME_DATE
#undef MBEDTLS_ENTROPY_PLATFORM

#endif

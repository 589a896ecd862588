# Resolves every third-party dependency from the system (Debian packages). Nothing is vendored:
# a missing dependency stops the configure step with the apt package that provides it.

function(onenet_missing what package)
  message(FATAL_ERROR
    "${what} was not found. Install it with:\n"
    "    sudo apt-get install ${package}\n"
    "or run ./scripts/deps.sh, which installs everything this project needs.")
endfunction()

find_package(PkgConfig QUIET)

if(ONENET_TLS STREQUAL "openssl")
  find_package(OpenSSL 3 QUIET)
  if(NOT OpenSSL_FOUND)
    onenet_missing("OpenSSL (libssl, libcrypto)" "libssl-dev")
  endif()
elseif(ONENET_TLS STREQUAL "mbedtls")
  find_library(ONENET_MBEDTLS_LIB mbedtls)
  find_library(ONENET_MBEDX509_LIB mbedx509)
  find_library(ONENET_MBEDCRYPTO_LIB mbedcrypto)
  find_path(ONENET_MBEDTLS_INCLUDE mbedtls/md.h)
  if(NOT ONENET_MBEDTLS_LIB OR NOT ONENET_MBEDCRYPTO_LIB OR NOT ONENET_MBEDTLS_INCLUDE)
    onenet_missing("mbedTLS" "libmbedtls-dev")
  endif()
elseif(NOT ONENET_TLS STREQUAL "none")
  message(FATAL_ERROR "ONENET_TLS must be openssl, mbedtls or none (got '${ONENET_TLS}')")
endif()

# mbedTLS is also looked up (quietly) on an OpenSSL build so its HMAC port and TLS layer are
# tested too.
if(NOT ONENET_TLS STREQUAL "mbedtls")
  find_library(ONENET_MBEDTLS_LIB mbedtls)
  find_library(ONENET_MBEDX509_LIB mbedx509)
  find_library(ONENET_MBEDCRYPTO_LIB mbedcrypto)
  find_path(ONENET_MBEDTLS_INCLUDE mbedtls/md.h)
endif()

if(ONENET_BUILD_SAMPLES OR ONENET_BUILD_TOOLS)
  find_package(CLI11 QUIET CONFIG)
  if(NOT CLI11_FOUND)
    onenet_missing("CLI11" "libcli11-dev")
  endif()
endif()

# nlohmann/json everywhere (model, tools, tests), always in no-throw mode: a throw would be
# abort(), so only the non-throwing API is used (parse(..., nullptr, false), find, is_*).
# Inside another project (add_subdirectory) it is optional: without it the thing model, gateways
# and provisioning are not built, and the rest is.
find_package(nlohmann_json 3 QUIET CONFIG)
if(NOT nlohmann_json_FOUND AND (PROJECT_IS_TOP_LEVEL OR ONENET_BUILD_SAMPLES OR ONENET_BUILD_TOOLS
                                OR ONENET_BUILD_TESTS OR ONENET_BUILD_FUZZ))
  onenet_missing("nlohmann/json" "nlohmann-json3-dev")
endif()
# onenet::json passes JSON_NOEXCEPTION on to whoever links it. Our own build also sets it on
# nlohmann's target, for the tools and tests that use nlohmann/json directly; inside another
# project that target may be the application's, and is left alone.
if(nlohmann_json_FOUND AND PROJECT_IS_TOP_LEVEL)
  set_property(TARGET nlohmann_json::nlohmann_json APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS JSON_NOEXCEPTION)
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)  # the mosquitto plugin links sdk/ into a shared object

# libcurl for sdk/provision (OneNET's HTTP API): built whenever libcurl is there; required by
# onenet-cli and the tests.
find_package(CURL 7.85 QUIET)
if(NOT CURL_FOUND AND (ONENET_BUILD_SAMPLES OR ONENET_BUILD_TESTS))
  onenet_missing("libcurl (7.85 or later)" "libcurl4-openssl-dev")
endif()

if(ONENET_BUILD_TESTS)
  find_package(doctest QUIET CONFIG)
  if(NOT doctest_FOUND)
    onenet_missing("doctest" "doctest-dev")
  endif()
endif()

if(ONENET_BUILD_BENCH)
  find_package(benchmark QUIET CONFIG)
  if(NOT benchmark_FOUND)
    onenet_missing("Google Benchmark" "libbenchmark-dev")
  endif()
  # The peers of bench_mqtt.
  find_path(ONENET_MOSQUITTO_INCLUDE mosquitto.h)
  find_library(ONENET_MOSQUITTO_LIB mosquitto)
  if(NOT ONENET_MOSQUITTO_INCLUDE OR NOT ONENET_MOSQUITTO_LIB)
    onenet_missing("libmosquitto" "libmosquitto-dev")
  endif()
  find_path(ONENET_PAHO_INCLUDE MQTTAsync.h)
  find_library(ONENET_PAHO_LIB paho-mqtt3as)
  if(NOT ONENET_PAHO_INCLUDE OR NOT ONENET_PAHO_LIB)
    onenet_missing("Eclipse Paho C" "libpaho-mqtt-dev")
  endif()
endif()
find_package(Threads REQUIRED)

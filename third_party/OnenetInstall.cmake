# cmake --install: the SDK as a CMake package. An application then writes
#   find_package(OnenetSdk 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE onenet::model onenet::platform_net)
# The package looks up again the system libraries the SDK was built against (the same Debian
# packages as OnenetDependencies.cmake), so a missing one is named at the application's configure
# step, not at its link step.
include(CMakePackageConfigHelpers)

get_property(onenet_exported_targets GLOBAL PROPERTY ONENET_EXPORTED_TARGETS)
# The tools too, as the package's executables onenet::onenet-cli and onenet::onenet-local: an
# application's own tests can start onenet-local with $<TARGET_FILE:onenet::onenet-local>.
foreach(tool onenet-cli onenet-local)
  if(TARGET ${tool})
    list(APPEND onenet_exported_targets ${tool})
  endif()
endforeach()
install(TARGETS ${onenet_exported_targets} EXPORT OnenetSdkTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(NOT ONENET_PORTABLE_CORE_ONLY)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/platform/include/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
set(ONENET_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/onenet-sdk)
install(FILES ${PROJECT_SOURCE_DIR}/platform/certs/onenet-mqtts-ca.pem
        DESTINATION ${ONENET_INSTALL_DATADIR})

set(ONENET_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/OnenetSdk)
install(EXPORT OnenetSdkTargets NAMESPACE onenet:: DESTINATION ${ONENET_INSTALL_CMAKEDIR})

# What the package must find again: each only when a library that needs it was built.
set(ONENET_PACKAGE_NEEDS_THREADS OFF)
set(ONENET_PACKAGE_NEEDS_OPENSSL OFF)
set(ONENET_PACKAGE_NEEDS_JSON OFF)
set(ONENET_PACKAGE_NEEDS_CURL OFF)
if(TARGET onenet_platform_net)
  set(ONENET_PACKAGE_NEEDS_THREADS ON)
endif()
if(TARGET onenet_platform AND ONENET_TLS STREQUAL "openssl")
  set(ONENET_PACKAGE_NEEDS_OPENSSL ON)
endif()
if(TARGET onenet_json)
  set(ONENET_PACKAGE_NEEDS_JSON ON)
endif()
if(TARGET onenet_provision)
  set(ONENET_PACKAGE_NEEDS_CURL ON)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/OnenetSdkConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/OnenetSdkConfig.cmake
                              INSTALL_DESTINATION ${ONENET_INSTALL_CMAKEDIR}
                              PATH_VARS ONENET_INSTALL_DATADIR)
# 0.x: a new minor version may change the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/OnenetSdkConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/OnenetSdkConfig.cmake
              ${PROJECT_BINARY_DIR}/OnenetSdkConfigVersion.cmake
        DESTINATION ${ONENET_INSTALL_CMAKEDIR})

# pkg-config, for builds without CMake (make, meson): one module, onenet-sdk, with every library
# this installation has, in link order (static libraries: each before what it uses), and the
# definitions the headers read: those the libraries' targets give whoever links them, so the
# two cannot disagree.
set(onenet_pc_libs "")
set(onenet_pc_definitions "")
foreach(target onenet_platform_model onenet_gateway onenet_model onenet_provision onenet_json
               onenet_platform_net onenet_platform_mbedtls onenet_platform onenet_client
               onenet_codec onenet_topics onenet_ota onenet_auth onenet_common)
  if(TARGET ${target})
    string(APPEND onenet_pc_libs " -l${target}")
    get_target_property(definitions ${target} INTERFACE_COMPILE_DEFINITIONS)
    if(definitions)
      list(APPEND onenet_pc_definitions ${definitions})
    endif()
  endif()
endforeach()
list(REMOVE_DUPLICATES onenet_pc_definitions)
list(TRANSFORM onenet_pc_definitions PREPEND " -D")
list(JOIN onenet_pc_definitions "" onenet_pc_cflags)
set(onenet_pc_requires "")
set(onenet_pc_extra_libs "")
if(TARGET onenet_json)
  list(APPEND onenet_pc_requires nlohmann_json)
endif()
if(ONENET_PACKAGE_NEEDS_OPENSSL)
  list(APPEND onenet_pc_requires openssl)
endif()
if(TARGET onenet_platform AND ONENET_MBEDCRYPTO_LIB AND ONENET_MBEDTLS_INCLUDE)
  string(APPEND onenet_pc_extra_libs " -lmbedcrypto")
endif()
if(TARGET onenet_platform_mbedtls)
  set(onenet_pc_extra_libs " -lmbedtls -lmbedx509${onenet_pc_extra_libs}")
endif()
if(TARGET onenet_provision)
  list(APPEND onenet_pc_requires libcurl)
endif()
if(TARGET onenet_platform_net)
  string(APPEND onenet_pc_extra_libs " -pthread")
endif()
list(JOIN onenet_pc_requires " " onenet_pc_requires)
# The prefix relative to the .pc file, so the installation can be moved (and --prefix given to
# cmake --install works).
file(RELATIVE_PATH onenet_pc_prefix "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" onenet_pc_prefix "${onenet_pc_prefix}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/onenet-sdk.pc.in ${PROJECT_BINARY_DIR}/onenet-sdk.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/onenet-sdk.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

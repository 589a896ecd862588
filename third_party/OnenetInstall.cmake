# cmake --install: the SDK as a CMake package. An application then writes
#   find_package(OnenetSdk 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE onenet::model onenet::platform_net)
# The package looks up again the system libraries the SDK was built against (the same Debian
# packages as OnenetDependencies.cmake), so a missing one is named at the application's configure
# step, not at its link step.
include(CMakePackageConfigHelpers)

get_property(onenet_exported_targets GLOBAL PROPERTY ONENET_EXPORTED_TARGETS)
install(TARGETS ${onenet_exported_targets} EXPORT OnenetSdkTargets
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

// The SDK's version. Semantic versioning; while the major version is 0, a new minor version may
// change the API, so the CMake package accepts only the same minor version. CMakeLists.txt reads
// these numbers for project(VERSION), so the header, the package and onenet-cli --version agree.
#pragma once

#define ONENET_SDK_VERSION_MAJOR 0
#define ONENET_SDK_VERSION_MINOR 1
#define ONENET_SDK_VERSION_PATCH 0
#define ONENET_SDK_VERSION_STRING "0.1.0"

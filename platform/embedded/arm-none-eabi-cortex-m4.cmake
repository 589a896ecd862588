# CMake toolchain for a Cortex-M4 (Thumb-2, soft-float ABI) with Debian's gcc-arm-none-eabi and
# newlib-nano. With it the SDK builds its portable core only (ONENET_PORTABLE_CORE_ONLY): common,
# auth, codec, client and the OneJSON topic table, as onenet::<name>. A firmware project adds the
# SDK with add_subdirectory() under its own toolchain; this file is one to start from:
#   cmake -S . -B build/m4 -DCMAKE_TOOLCHAIN_FILE=platform/embedded/arm-none-eabi-cortex-m4.cmake
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
# No operating system to run a test program on: compiler checks link a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "-mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti")
# newlib-nano with stubbed system calls; a real firmware brings its own start-up and linker script.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections")
set(CMAKE_CXX_FLAGS_MINSIZEREL_INIT "-Os -DNDEBUG")

# Libraries and headers from the target's sysroot only, programs from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

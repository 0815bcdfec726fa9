# The core for 64-bit ARM (arm64): see toolchain-debian-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(WV_TRIPLET aarch64-linux-gnu)
set(WV_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-debian-cross.cmake)

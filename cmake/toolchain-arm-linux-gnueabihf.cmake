# The core for 32-bit ARM with hardware floating point (armhf): see
# toolchain-debian-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR arm)
set(WV_TRIPLET arm-linux-gnueabihf)
set(WV_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-debian-cross.cmake)

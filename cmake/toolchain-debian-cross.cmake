# Cross-compiling the core with Debian's cross compiler for WV_TRIPLET and
# its multiarch -dev packages (scripts/install-cross-deps.sh); CTest runs
# the programs under WV_QEMU. Included by cmake/toolchain-<triplet>.cmake,
# which sets those two and CMAKE_SYSTEM_PROCESSOR. Used by `make cross-test`.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${WV_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${WV_TRIPLET})
set(CMAKE_FIND_ROOT_PATH /usr/${WV_TRIPLET} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config sees the target's .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${WV_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
# -L /: the dynamic loader and libc both from the multiarch libc6 the -dev
# packages bring. With -L /usr/${WV_TRIPLET} qemu takes the loader of
# libc6-*-cross, a different build from that libc, and the first thread a
# test starts hangs or crashes.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/${WV_QEMU};-L;/)

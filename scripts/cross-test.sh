#!/usr/bin/env bash
# make cross-test: the core (libwvoice-core), its unit tests and bench_core,
# cross-compiled for aarch64 and armhf with the project's own warning flags,
# run under qemu-user. Then bench_core's figures, native and under qemu
# (qemu's are emulation times, for comparison between runs, not a board's),
# and the instructions per frame natively (callgrind), the stable figure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}

scripts/install-cross-deps.sh
for triplet in aarch64-linux-gnu arm-linux-gnueabihf; do
	dir=build-cross-$triplet
	echo "== $triplet"
	cmake -S . -B "$dir" -DWV_CORE_ONLY=ON \
		-DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-$triplet.cmake >/dev/null
	cmake --build "$dir" -j "$jobs"
	machine=$(case $triplet in aarch64*) echo AArch64;; *) echo ARM;; esac)
	readelf -h "$dir/test_call" | grep "Machine: *$machine" >/dev/null ||
		{ echo "cross-test: $dir/test_call is not a $triplet program" >&2; exit 1; }
	(cd "$dir" && ctest --output-on-failure -j "$jobs")
done

echo "== bench_core (--quick)"
cmake -S . -B build-core -DWV_CORE_ONLY=ON >/dev/null
cmake --build build-core -j "$jobs" --target bench_core >/dev/null
echo "-- native $(uname -m)"
build-core/bench_core --quick
echo "-- aarch64 under qemu (emulated: times for comparing runs, not a board's; the goals are native)"
qemu-aarch64 -L / build-cross-aarch64-linux-gnu/bench_core --quick
echo "-- armhf under qemu (emulated, as above)"
qemu-arm -L / build-cross-arm-linux-gnueabihf/bench_core --quick

# Instructions per frame, natively, from callgrind: the same on a loaded
# machine as on an idle one. Two runs of different lengths, so that what
# is done once (set-up, warm-up) cancels out.
echo "-- instructions per 20 ms frame, native $(uname -m) (valgrind --tool=callgrind)"
inclusive() { # the instructions function $2 took in bench_core --count $1
	local out
	out=$(mktemp)
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		build-core/bench_core --count "$1" >/dev/null 2>&1
	callgrind_annotate --inclusive=yes "$out" |
		awk -v f=":$2 " 'index($0, f) && $0 !~ /=>/ { gsub(",", "", $1); print $1; exit }'
	rm -f "$out"
}
for path in outbound inbound; do
	a=$(inclusive 1000 bench_$path)
	b=$(inclusive 2000 bench_$path)
	echo "$path: $(( (b - a) / 1000 )) instructions per frame"
done

#!/usr/bin/env bash
# Installs the Debian packages wvoice builds and tests with, if any is missing,
# or with arguments those packages instead (install-cross-deps.sh's).
# Idempotent and quiet when everything is present. Run as root to install;
# otherwise it lists what is missing and fails.
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	libjansson-dev      # JSON events
	libspeexdsp-dev     # resampler, VAD, AGC, noise suppression, AEC
	portaudio19-dev     # audio devices (microphone, speaker); brings libasound2-dev
	alsa-utils          # aplay -L / arecord -L: what ALSA sees, by hand
	libwebsockets-dev   # WebSocket server and client, TLS through OpenSSL
	libev-dev           # the event loop lws runs on (epoll, exact timers)
	libssl-dev openssl  # TLS; openssl makes the test certificates
	libsndfile1-dev     # WAV recordings and prompts
	libespeak-ng-dev    # the local agent's voice
	uuid-dev            # communication ids
	python3             # the server's integration tests (a raw WebSocket client)
	python3-jsonschema  # the load report checked against its schema (tests/cli/)
	tmux                # drives wvoice call's terminal in its tests
	libcmocka-dev       # unit tests
	libspandsp-dev      # independent G.711 reference for the codec tests
	sox                 # inspecting recordings by hand
	emscripten          # the core for WebAssembly: the browser's module, its tests under node
	dpkg-dev            # apt-get source: Debian's speexdsp, jansson, cmocka for it (scripts/wasm-deps.sh)
	chromium            # the browser client's end-to-end tests (tests/browser/)
	python3-kubernetes  # deploy/kubernetes/'s manifests checked against the API's types (tests/cli/test_deploy_manifests.py)
)

[ $# -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

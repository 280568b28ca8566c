#!/bin/sh
# deps.sh - make sure the Debian packages duet builds, runs and tests with are
# installed. As root it installs what is missing; otherwise it prints the exact
# apt-get line and fails. Usage: tools/deps.sh STAMPFILE
set -u
stamp=${1:-}
packages="build-essential pkg-config libxml2-dev liblmdb-dev libuv1-dev libcmocka-dev lmdb-utils
	libprotobuf-c-dev protobuf-c-compiler libwebsockets-dev libwebsockets-evlib-uv libmosquitto-dev
	mosquitto protobuf-compiler python3 python3-protobuf python3-paho-mqtt python3-websockets
	openssl procps gsoap libgsoap-dev libxml2-utils libcurl4-openssl-dev libssl-dev python3-lxml"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing$missing" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 || {
			echo "deps: apt-get failed; run: apt-get install -y$missing" >&2; exit 1; }
	else
		echo "deps: missing Debian packages. Run as root:" >&2
		echo "  apt-get install -y$missing" >&2
		exit 1
	fi
fi
[ -n "$stamp" ] && mkdir -p "$(dirname "$stamp")" && : > "$stamp"
exit 0

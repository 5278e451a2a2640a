#!/usr/bin/env bash
# Prepare a Docker engine and the m1 sandbox image for the terminal tests.
#
# Installs Debian's docker.io if dockerd is missing, starts dockerd in the
# background when `docker info` fails (trying configurations that work inside
# containers and VMs without iptables or bridges), then builds
# m1-sandbox:latest with `make sandbox-image` (or directly from
# terminal/sandbox.mk when there is no top-level Makefile).
#
# Usage: .ci/docker.sh            (from the repository root; needs root)
# Env:   FORCE=1 rebuilds the image; DOCKERD_LOG (default /tmp/dockerd.log);
#        DOCKER_WAIT seconds to wait for the daemon (default 60).
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf '.ci/docker.sh: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi

apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	if ! $SUDO apt-get install -y --no-install-recommends "$@"; then
		$SUDO apt-get update
		$SUDO apt-get install -y --no-install-recommends "$@"
	fi
}

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
	log "installing docker.io"
	apt_install docker.io
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	log "installing debootstrap"
	apt_install debootstrap
fi

DOCKERD_LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
DOCKER_WAIT=${DOCKER_WAIT:-60}

# wait_daemon PID waits until `docker info` answers or PID exits or time runs
# out; it returns 0 only when the daemon answers.
wait_daemon() {
	local pid=$1 deadline=$((SECONDS + DOCKER_WAIT))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if docker info >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 1
	done
	return 1
}

start_dockerd() {
	log "starting dockerd${*:+ $*} (log: $DOCKERD_LOG)"
	printf '\n=== dockerd %s ===\n' "$*" >>"$DOCKERD_LOG"
	# setsid keeps dockerd out of this script's process group so it survives
	# the CI step that started it.
	$SUDO setsid dockerd "$@" >>"$DOCKERD_LOG" 2>&1 </dev/null &
	local pid=$!
	if wait_daemon "$pid"; then
		log "dockerd is up"
		return 0
	fi
	log "dockerd $* did not come up; see $DOCKERD_LOG"
	$SUDO kill "$pid" 2>/dev/null || true
	# Give it a moment to release its pid file and socket.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	$SUDO rm -f /var/run/docker.pid
	return 1
}

if docker info >/dev/null 2>&1; then
	log "docker daemon already running"
else
	start_dockerd ||
		start_dockerd --iptables=false --ip6tables=false ||
		start_dockerd --iptables=false --ip6tables=false --bridge=none ||
		start_dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs || {
		log "could not start dockerd; last lines of $DOCKERD_LOG:"
		tail -n 30 "$DOCKERD_LOG" >&2 || true
		exit 1
	}
fi

if [ -f Makefile ] && grep -q 'sandbox.mk' Makefile; then
	make sandbox-image
else
	make -f terminal/sandbox.mk sandbox-image
fi

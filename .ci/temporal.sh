#!/usr/bin/env bash
# Build the Temporal CLI (for `temporal server start-dev`) once from the Go
# module proxy and cache it outside the clone. The module has replace
# directives, so `go install module@version` refuses it: download the module,
# copy it somewhere writable (the module cache is read-only) and build there.
# Prints the binary's path on stdout; everything else goes to stderr.
set -euo pipefail

version="${TEMPORAL_CLI_VERSION:-v1.5.1}"
cache="${M1_CI_CACHE:-/var/cache/m1-ci}"
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
	cache="${HOME}/.cache/m1-ci"
	mkdir -p "$cache"
fi
bin="$cache/temporal-${version#v}"

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi

dir=$(go mod download -json "github.com/temporalio/cli@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "temporal.sh: go mod download github.com/temporalio/cli@$version gave no module directory" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/src"
chmod -R u+w "$work/src"
echo "temporal.sh: building the Temporal CLI $version (several CPU-minutes)" >&2
(cd "$work/src" && GOFLAGS=-mod=mod go build -trimpath -o "$work/temporal" ./cmd/temporal)
mv "$work/temporal" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"

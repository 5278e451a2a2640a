#!/usr/bin/env bash
# make demo: build m1, then run it on a small task against the bundled
# SCRIPTED model.
#
# The model is a local stand-in that replays testdata/scenarios/demo.yaml:
# no API key, no network. Everything else is real: the orchestrator's ledger
# loop, the Coder, and the ComputerTerminal running the Coder's Python on this
# machine (--executor local, in a temporary folder). The run is saved as a
# session like any other, so `bin/m1 show --last` shows it again.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
BIN=${BIN:-bin}
# bin is where the binaries are from here, whether BIN is relative or not.
case $BIN in
/*) bin=$BIN ;;
*) bin=$PWD/$BIN ;;
esac
LDFLAGS=${LDFLAGS:-}

# count_packages reads go build -v's output, one import path per package it
# compiles, and shows a count instead; anything else is a compiler message
# and is passed on whole. It reads line by line (awk would read the pipe in
# blocks and show nothing for minutes).
count_packages() {
	local total=$1 tty=$2 n=0 line
	while IFS= read -r line; do
		if [[ $line =~ ^[^\ :#]+$ ]]; then
			n=$((n + 1))
			if [ "$tty" = 1 ]; then
				printf '\r  compiled %d of up to %d packages %-60.60s' "$n" "$total" "$line" >&2
			elif [ $((n % 50)) = 0 ]; then
				printf '  compiled %d of up to %d packages\n' "$n" "$total" >&2
			fi
		else
			[ "$tty" = 1 ] && [ "$n" -gt 0 ] && printf '\n' >&2
			printf '%s\n' "$line" >&2
		fi
	done
	if [ "$n" -gt 0 ]; then
		if [ "$tty" = 1 ]; then printf '\r  compiled %d packages%-70s\n' "$n" "" >&2; else printf '  compiled %d packages\n' "$n" >&2; fi
	fi
}

# build compiles m1 and the scripted server with go build -v, turning the
# package names it prints into a running count, so a first build (several
# minutes on a small machine) never looks hung. A warm build prints nothing.
build() {
	local total tty=0
	total=$("$GO" list -deps ./cmd/m1 ./cmd/scripted-model | wc -l)
	[ -t 2 ] && tty=1
	echo "m1 demo: building $BIN/m1 (a first build compiles up to $total packages and can take several minutes; later builds take seconds)" >&2
	{
		"$GO" build -v -trimpath -ldflags "$LDFLAGS" -o "$BIN/m1" ./cmd/m1
		"$GO" build -v -trimpath -o "$BIN/scripted-model" ./cmd/scripted-model
	} 2>&1 | count_packages "$total" "$tty"
	echo "m1 demo: built $BIN/m1" >&2
}

build

work=$(mktemp -d)
"$bin/scripted-model" --scenario testdata/scenarios/demo.yaml >"$work/.server" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do
	[ -s "$work/.server" ] && break
	sleep 0.1
done
base=$(sed -n 's/^OPENAI_BASE_URL=//p' "$work/.server")
rm -f "$work/.server"

echo "m1 demo: the model is SCRIPTED (testdata/scenarios/demo.yaml), not a real LLM." >&2
echo >&2
status=0
OPENAI_BASE_URL=$base OPENAI_API_KEY=scripted-demo-key M1_MODEL=scripted \
	"$bin/m1" --agents coder,terminal --executor local --yes --work-dir "$work" \
	"What is the 30th Fibonacci number? Check it by running code." || status=$?

{
	echo
	echo "m1 demo: done. The run is saved like any other: $BIN/m1 show --last shows it again."
	echo "Next, with a real model:"
	# The comments line up whatever BIN is.
	printf '  %-32s  # %s\n' "export OPENAI_API_KEY=sk-..." "or OPENAI_BASE_URL=http://localhost:11434/v1 for a local server" \
		"$BIN/m1 doctor" "is everything in place?"
	echo "  $BIN/m1 \"Summarise why the sky is blue in two sentences\""
} >&2
exit $status

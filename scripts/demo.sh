#!/usr/bin/env bash
# make demo: run m1 on a small task against the bundled SCRIPTED model.
#
# The model is a local stand-in that replays testdata/scenarios/demo.yaml:
# no API key, no network. Everything else is real: the orchestrator's ledger
# loop, the Coder, and the ComputerTerminal running the Coder's Python on this
# machine (--executor local, in a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
state=$(mktemp -d)
"$PWD/bin/scripted-model" --scenario testdata/scenarios/demo.yaml >"$work/.server" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work" "$state"' EXIT
for _ in $(seq 50); do
	[ -s "$work/.server" ] && break
	sleep 0.1
done
base=$(sed -n 's/^OPENAI_BASE_URL=//p' "$work/.server")
rm -f "$work/.server"

echo "m1 demo: the model is SCRIPTED (testdata/scenarios/demo.yaml), not a real LLM." >&2
echo >&2
OPENAI_BASE_URL=$base OPENAI_API_KEY=scripted M1_MODEL=scripted XDG_STATE_HOME=$state \
	./bin/m1 --agents coder,terminal --executor local --yes --work-dir "$work" \
	"What is the 30th Fibonacci number? Check it by running code."

#!/usr/bin/env bash
# Runs every Go fuzz target (func FuzzX in any _test.go) for FUZZTIME each, one
# after the other (go test runs one -fuzz target per invocation). A crash fails the
# run; Go writes the crasher to the package's testdata/fuzz/FuzzX/, where it stays
# as a seed once committed with the fix.
#
#   FUZZTIME=1m scripts/fuzz.sh          # make fuzz
#   FUZZTIME=1s scripts/fuzz.sh          # make fuzz-short (CI, inside make test)
#   scripts/fuzz.sh ./internal/sigv4     # one package
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-1m}
# A crasher found by a short run is minimized for at most this long.
MINIMIZE=${FUZZMINIMIZETIME:-10s}
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' internal cmd | xargs -n1 dirname | sort -u | sed 's|^|./|')
fi
failed=0
start=$(date +%s)
for pkg in "${pkgs[@]}"; do
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$pkg"/*_test.go | sed 's/^func //'); do
		t0=$(date +%s)
		corpus="$pkg/testdata/fuzz/$target"
		before=$(ls "$corpus" 2>/dev/null || true)
		if out=$($GO test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$MINIMIZE" 2>&1); then
			echo "ok   $pkg $target ($(( $(date +%s) - t0 ))s)"
		elif [ "$before" = "$(ls "$corpus" 2>/dev/null || true)" ] &&
			! grep -qE 'Failing input written|failure while testing seed|panic:|_test\.go:[0-9]+:' <<<"$out" &&
			grep -q '^    context deadline exceeded$' <<<"$out"; then
			# Go's fuzz coordinator (go1.26) can report a bare "context deadline
			# exceeded" when -fuzztime ends while a starved worker is mid-call
			# (go.dev/issue/75804, fixed in go1.27). No input was written, so there is
			# nothing to reproduce: count it as a pass, but say so.
			echo "ok   $pkg $target ($(( $(date +%s) - t0 ))s; coordinator deadline race, no crasher)"
		else
			echo "FAIL $pkg $target"
			echo "$out" | grep -v '^fuzz: elapsed' | tail -40
			failed=1
		fi
	done
done
echo "fuzz: $(( $(date +%s) - start ))s in all"
exit $failed

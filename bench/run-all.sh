#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every benchmark of bench/ at three sizes (small, medium, large), each
# with the baselines its script measures in the same run, and writes
# bench/RESULTS.md: the machine, the date, the commit, one table per benchmark
# (parsed from the scripts' printed tables) and the scripts' raw output.
# See bench/README.md.
#
# Usage: bench/run-all.sh [--quick] [--sizes small,medium,large] [BUILD_DIR]
#   --quick      the smallest sizes only (a smoke run)
#   --sizes L    the size classes to run, comma-separated
#   BUILD_DIR    holds threatsync and threatsyncd (default: build/dev, else build)
#   Environment: NICE (10: the niceness the benchmarks run at), OUT (the
#   results file, default bench/RESULTS.md), ONLY ("generate ingest push poll
#   webhook idle": the benchmarks to run).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
classes=small,medium,large
while [ $# -gt 0 ]; do
	case $1 in
	--quick) classes=small; shift ;;
	--sizes) [ $# -ge 2 ] || { echo "run-all.sh: --sizes needs a list" >&2; exit 64; }
		classes=$2; shift 2 ;;
	-h | --help) sed -n '3,16p' "$0"; exit 0 ;;
	-*) echo "run-all.sh: unknown option $1" >&2; exit 64 ;;
	*) break ;;
	esac
done
[ $# -le 1 ] || { echo "usage: bench/run-all.sh [--quick] [--sizes LIST] [BUILD_DIR]" >&2; exit 64; }
if [ $# -eq 1 ]; then
	build=$1
elif [ -x "$src/build/dev/threatsync" ]; then
	build=$src/build/dev
else
	build=$src/build
fi
build=$(cd "$build" && pwd)
for b in threatsync threatsyncd; do
	[ -x "$build/$b" ] || { echo "run-all.sh: no $b in $build" >&2; exit 69; }
done
for c in $(echo "$classes" | tr ',' ' '); do
	case $c in small | medium | large) ;; *) echo "run-all.sh: unknown size class '$c'" >&2; exit 64 ;; esac
done
only=${ONLY:-generate ingest push poll webhook idle}
nice=${NICE:-10}
out=${OUT:-$here/RESULTS.md}
cli=$build/threatsync
daemon=$build/threatsyncd

raw=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench-all.XXXXXX")
trap 'rm -rf "$raw"' EXIT
trap 'exit 130' INT TERM

# The sizes of each class, per benchmark (what each script takes).
size_of() {
	case $1:$2 in
	generate:small) echo 100 ;; generate:medium) echo 1000 ;; generate:large) echo 10000 ;;
	ingest:small) echo "2500 4000" ;; ingest:medium) echo "25000 40000" ;;
	ingest:large) echo "250000 400000" ;;
	push:small) echo 1000 ;; push:medium) echo 3000 ;; push:large) echo 10000 ;;
	poll:small) echo 1000 ;; poll:medium) echo 10000 ;; poll:large) echo 100000 ;;
	webhook:small) echo "50 5s" ;; webhook:medium) echo "200 10s" ;; webhook:large) echo "1000 10s" ;;
	esac
}

# bench NAME CLASS CMD...: runs CMD at the configured niceness, its output in
# $raw/NAME-CLASS.txt, its exit status and wall time in $raw/NAME-CLASS.meta.
# A failed benchmark is recorded and the others still run.
bench() {
	name=$1 class=$2
	shift 2
	echo "run-all.sh: $name ($class): $*" >&2
	t0=$(date +%s)
	rc=0
	nice -n "$nice" "$@" >"$raw/$name-$class.txt" 2>"$raw/$name-$class.err" || rc=$?
	t1=$(date +%s)
	printf 'rc=%d seconds=%d size=%s\n' "$rc" $((t1 - t0)) "$(size_of "$name" "$class")" \
		>"$raw/$name-$class.meta"
	[ "$rc" -eq 0 ] || { echo "run-all.sh: $name ($class) exited $rc:" >&2; tail -5 "$raw/$name-$class.err" >&2; }
	# push and poll run with KEEP=1: their per-run JSON (peak RSS) is copied, the rest removed.
	kept=$(sed -n 's/^work directory kept: //p' "$raw/$name-$class.err")
	if [ -n "$kept" ] && [ -d "$kept" ]; then
		mkdir -p "$raw/$name-$class.json"
		find "$kept" -name 'run-*.json' -o -name 'result.json' | while read -r f; do
			d=$(basename "$(dirname "$f")")
			cp "$f" "$raw/$name-$class.json/$d-$(basename "$f")"
		done
		rm -rf "$kept"
	fi
}

idle_done=
for c in $(echo "$classes" | tr ',' ' '); do
	for b in $only; do
		# shellcheck disable=SC2046 # the sizes are words
		set -- $(size_of "$b" "$c")
		case $b in
		generate) bench generate "$c" "$here/bench_generate.sh" "$cli" "$1" ;;
		ingest) bench ingest "$c" "$here/bench_ingest.sh" "$cli" "$1" "$2" ;;
		push) bench push "$c" env KEEP=1 TASKS="$1" TRACKERS="jira gitlab" "$here/bench_push.sh" "$cli" ;;
		poll) bench poll "$c" env KEEP=1 SIZES="$1" TS_THREATSYNCD="$daemon" "$here/bench_poll.sh" "$cli" ;;
		webhook) bench webhook "$c" env TICKETS="$1" DURATION="$2" "$here/bench_webhook.sh" "$daemon" "$cli" ;;
		idle) # one size: the daemon at rest, run with the first class
			[ -z "$idle_done" ] || continue
			idle_done=1
			bench idle "$c" "$here/bench_idle.sh" "$daemon" "$cli" ;;
		*) echo "run-all.sh: unknown benchmark '$b'" >&2; exit 64 ;;
		esac
	done
done

dirty=
[ -z "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=" (dirty)"
commit="$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
python3 "$here/results_md.py" "$raw" "$out" "$classes" "$commit" "$build" "$nice"
echo "run-all.sh: wrote $out" >&2

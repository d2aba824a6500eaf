#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer harnesses (fuzz/) with clang in build/fuzz, replays the
# kept regression inputs, then fuzzes each harness for SECONDS; fails on any
# crash, leak, sanitizer report or timeout. docs/fuzzing.md describes them.
#
# usage: scripts/fuzz.sh [SECONDS] [HARNESS...]
#   SECONDS   fuzzing time per harness (default 30; 0: only replay the regressions)
#   HARNESS   model_native model_otm model_threatdragon expr library jsonload sarif zap
#             gitlab semgrep config webhook jira_response gitlab_response http_request
#             (default: all)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
seconds=${1:-30}
[ $# -gt 0 ] && shift
case "$seconds" in
'' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 64 ;;
esac
all=(model_native model_otm model_threatdragon expr library jsonload sarif zap gitlab semgrep config
	webhook jira_response gitlab_response http_request)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
	case " ${all[*]} " in
	*" $h "*) ;;
	*) echo "fuzz.sh: unknown harness '$h' (one of: ${all[*]})" >&2; exit 64 ;;
	esac
done

scripts/setup.sh --fuzz --build-dir build/fuzz --quiet

# Seeds per harness; the first corpus directory given to libFuzzer is the one
# it adds new inputs to, so it is a work directory under build/, never a seed.
seeds_of() {
	case "$1" in
	model_* | jsonload) echo tests/data/models ;;
	sarif) echo fuzz/corpus/sarif tests/data/findings/sarif ;;
	zap | gitlab | semgrep) echo "fuzz/corpus/$1" tests/data/findings/reports ;;
	config) echo fuzz/corpus/config tests/data/config ;;
	*) echo "fuzz/corpus/$1" ;;
	esac
}
# The largest input tried: models and library files grow to what covers new
# code (their product limits are megabytes, checked in the harness); an
# expression may just pass its 4096-byte limit.
max_len_of() {
	case "$1" in
	expr) echo 4112 ;;
	*) echo 65536 ;;
	esac
}

# The model harnesses get the library's type ids and the foreign type names it
# maps as a dictionary: an element named after a type takes paths of the
# importers that random bytes reach only by luck.
model_dict=build/fuzz/model.dict
{
	jq -r '.component_types[].id' library/component_types.json
	jq -r '.type_mappings[] | keys[]' library/mappings.json
} | LC_ALL=C sort -u | sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/"&"/' >"$model_dict"
dict_of() {
	case "$1" in
	model_*) echo "-dict=$model_dict" ;;
	zap) echo "-dict=fuzz/zap.dict" ;;
	http_request) echo "-dict=fuzz/http_request.dict" ;;
	esac
}

failed=()
for h in "${harnesses[@]}"; do
	bin=build/fuzz/fuzz/fuzz_$h
	work=build/fuzz/corpus/$h
	findings=build/fuzz/findings/$h
	log=build/fuzz/fuzz_$h.log
	mkdir -p "$work" "$findings"
	regressions=()
	if [ -d "fuzz/regressions/$h" ]; then
		while IFS= read -r -d '' f; do
			regressions+=("$f")
		done < <(find "fuzz/regressions/$h" -type f ! -name '*.md' -print0 | sort -z)
	fi
	if [ ${#regressions[@]} -gt 0 ]; then
		if ! "$bin" -timeout=10 "${regressions[@]}" >"$log" 2>&1; then
			echo "fuzz.sh: $h: a kept regression input fails again (log: $log)" >&2
			grep -E 'ERROR|fuzz:|Running:' "$log" | tail -n 5 >&2 || true
			failed+=("$h")
			continue
		fi
		echo "fuzz.sh: $h: ${#regressions[@]} regression inputs pass"
	fi
	[ "$seconds" -eq 0 ] && continue
	# shellcheck disable=SC2046
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len_of "$h")" -print_final_stats=1 $(dict_of "$h") \
		-artifact_prefix="$findings/" "$work" $(seeds_of "$h") >"$log" 2>&1; then
		status=ok
	else
		status=FAILED
		failed+=("$h")
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -oE '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 | sed 's/.*cov/cov/')
	echo "fuzz.sh: $h: $status, ${execs:-?} executions in ${seconds} s, ${cov:-no coverage line}"
	if [ $status = FAILED ]; then
		grep -E 'ERROR|fuzz:|SUMMARY|Test unit written' "$log" | head -n 8 >&2 || true
		echo "fuzz.sh: $h: full log $log; the input is in $findings/" >&2
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: failed: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz.sh: every harness passed"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Drives the generated bash completion of threatsync the way bash does and
# checks what it offers at a few positions.
#   completion.sh SOURCE_DIR
set -u
. "$1/completion/threatsync" || exit 1
fails=0
# expect "WORDS..." -- the words offered for the last (possibly empty) word
expect()
{
	local want=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_threatsync
	local got="${COMPREPLY[*]}"
	if [ "$got" != "$want" ]; then
		echo "FAIL: '${COMP_WORDS[*]}' offered '$got', expected '$want'"
		fails=$((fails + 1))
	fi
}
expect "model" threatsync mo
expect "init import diff" threatsync model ""
expect "--config" threatsync --con
expect "auto native otm threatdragon" threatsync model import demo m.json --format ""
expect "json md html csv" threatsync -c x.conf report demo --format ""
expect "--strict" threatsync --db x.db model import demo m.json --s
expect "--format --help --json --strict" threatsync model import demo m.json --
expect "lint" threatsync library l
expect "--dead --help --json" threatsync outbox retry --
[ $fails -eq 0 ] || exit 1
echo "PASS: 9 completions"

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks manual pages with groff, every warning enabled: any output fails.
#   man_lint.sh PAGE...
set -u
if ! command -v groff >/dev/null 2>&1; then
	echo "SKIP: groff is not installed"
	exit 77
fi
fails=0
for page in "$@"; do
	out=$(LC_ALL=C.UTF-8 groff -ww -z -man "$page" 2>&1)
	if [ $? -ne 0 ] || [ -n "$out" ]; then
		echo "FAIL: $page:"
		echo "$out"
		fails=$((fails + 1))
	else
		echo "PASS: $page"
	fi
done
[ $fails -eq 0 ]

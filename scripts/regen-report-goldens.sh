#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Rewrites the golden files of the report tests (tests/data/report/: the
# WidgetsRUs report as JSON, Markdown and CSV, and the portfolio) from the
# current code, by running the test case that compares them with
# TS_REPORT_REGENERATE set. Review the diff before committing it.
#
# usage: scripts/regen-report-goldens.sh [BUILD_DIR]   (default: build/dev)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/dev}
cmake --build "$build" --target test_report threatsync >/dev/null
TS_SOURCE_DIR=$root TS_BUILD_DIR=$build TS_THREATSYNC=$build/threatsync \
	TS_THREATSYNCD=$build/threatsyncd THREATSYNC_LIBRARY=$root/library \
	TS_TEST_CASE=test_golden_widgetsrus TS_REPORT_REGENERATE=1 \
	"$build/tests/test_report"

# SPDX-License-Identifier: Apache-2.0
# Shell functions shared by the benchmarks that run the tracker emulators of
# tests/emulators/ (sourced, not run). The caller sets `src` (the source tree),
# `here` (bench/) and `work` (its work directory) first.
#
#   bench_start_emu TRACKER LOG   a fresh, empty emulator (jira or gitlab) on a
#                                 free loopback port; sets emu_pid and url
#   bench_stop_emu                stops it (safe to call twice)
#   bench_free_port               prints a free loopback TCP port

emu_pid=

bench_start_emu() {
	rm -f "$work/emu.port"
	python3 "$src/tests/emulators/${1}_emulator.py" --port 0 --port-file "$work/emu.port" \
		>>"$2" 2>&1 &
	emu_pid=$!
	port=$(python3 "$here/sync_util.py" wait-port "$work/emu.port" 20) || {
		cat "$2" >&2
		return 1
	}
	url="http://127.0.0.1:$port"
}

bench_stop_emu() {
	if [ -n "$emu_pid" ]; then
		kill -TERM "$emu_pid" 2>/dev/null || true
		wait "$emu_pid" 2>/dev/null || true
		emu_pid=
	fi
}

bench_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

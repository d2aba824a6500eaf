#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The idle daemon: threatsyncd with one project (a small generated model whose
# tasks it pushes on its first pass) and a Jira connector pointed at the Jira
# emulator of tests/emulators/, polling at its default interval. Once the
# first pass is done (outbox empty, emulator quiet), the daemon is sampled for
# IDLE_S seconds from /proc/PID: CPU used (utime + stime delta), RSS, and PSS
# and anonymous memory from smaps_rollup (the largest of the samples taken
# every second; that sample's anonymous memory split by mapping from smaps).
# See bench/README.md.
#
# Usage: bench/bench_idle.sh [THREATSYNCD] [THREATSYNC]
#   binaries default to $TS_THREATSYNCD / $TS_THREATSYNC, else build/.
#   Environment: IDLE_S (60), COMPONENTS (10), KEEP=1 keeps the work directory.
# Goal: <= 60 ms of CPU per minute, anonymous memory <= 4 MiB.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
daemon=${1:-${TS_THREATSYNCD:-$src/build/threatsyncd}}
cli=${2:-${TS_THREATSYNC:-$src/build/threatsync}}
idle_s=${IDLE_S:-60}
components=${COMPONENTS:-10}

for b in "$daemon" "$cli"; do
	[ -x "$b" ] || { echo "bench_idle.sh: no binary at $b" >&2; exit 69; }
done
for t in python3 sqlite3; do
	command -v "$t" >/dev/null || { echo "bench_idle.sh: $t is needed" >&2; exit 69; }
done
[ -r /proc/self/smaps_rollup ] || { echo "bench_idle.sh: /proc/PID/smaps_rollup is needed (Linux >= 4.14)" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench-idle.XXXXXX")
. "$here/lib.sh"
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	bench_stop_emu
	[ "${KEEP:-0}" = 1 ] && echo "work directory kept: $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start_emu jira "$work/emu.log"
printf 'emu-token\n' >"$work/token"
db="$work/bench.db"
# No poll_interval_s: the connector's default interval is what is measured.
cat >"$work/bench.conf" <<CONF
database = "$db";
library_paths = [ "$src/library" ];
log_level = "notice";
connectors = (
	{ name = "jira"; type = "jira"; flavor = "cloud"; base_url = "$url";
	  email = "threatsync@example.com"; token_file = "token"; }
);
projects = ( { slug = "bench"; connector = "jira"; tracker_project = "SEC"; } );
CONF
c="$cli -c $work/bench.conf"
python3 "$here/gen_model.py" "$components" "$work/model.json"
$c db migrate >/dev/null
$c project add bench >/dev/null
$c model import bench "$work/model.json" >/dev/null
$c generate bench >/dev/null
queued=$(sqlite3 "$db" "SELECT count(*) FROM outbox WHERE state = 'pending'")

"$daemon" -c "$work/bench.conf" >"$work/daemon.log" 2>&1 &
pid=$!

# Sample the daemon; prints one line of key=value figures.
python3 - "$pid" "$idle_s" "$url" "$db" "$here" <<'PY'
import os, sqlite3, sys, time
pid, idle_s, url, db, here = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sys.path.insert(0, here)
import sync_util

emu = sync_util.Emu(url)
tck = os.sysconf("SC_CLK_TCK")


def alive():
    if not os.path.exists("/proc/%d" % pid):
        raise SystemExit("bench_idle.sh: threatsyncd exited (see daemon.log)")


def cpu_ticks():
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def sched_ns():
    """Time on CPU of all the daemon's threads (ns, /proc/PID/task/*/schedstat):
    finer than the clock ticks of utime + stime."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def kib(path, keys):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out


def anon_split():
    """The anonymous memory by where it is mapped (KiB): the heap (brk), other
    anonymous mappings (thread stacks, malloc arenas, large blocks) and the
    private written pages of mapped files (the libraries' relocated data)."""
    out = {"heap": 0, "anon": 0, "file": 0}
    where = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = line.split(None, 6)
            if len(head) >= 5 and "-" in head[0] and ":" not in head[0]:
                name = head[5].strip() if len(head) > 5 else ""
                where = "heap" if name == "[heap]" else "file" if name.startswith("/") else "anon"
            elif line.startswith("Anonymous:") and where:
                out[where] += int(line.split()[1])
    return out


def open_rows():
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight')"
                           ).fetchone()[0]
    finally:
        con.close()


# The first pass: every queued create pushed and the emulator quiet for 2 s.
deadline = time.monotonic() + 120
last, quiet_since = -1, None
while True:
    alive()
    if time.monotonic() > deadline:
        raise SystemExit("bench_idle.sh: no complete first pass within 120 s")
    total = emu.stats()["total"]
    if total > 0 and total == last and open_rows() == 0:
        if quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 2:
            break
    else:
        quiet_since = None
    last = total
    time.sleep(0.2)
settle_requests = last

t0, c0, s0 = time.monotonic(), cpu_ticks(), sched_ns()
peak = {"VmRSS": 0, "Pss": 0, "Anonymous": 0}
split = {"heap": 0, "anon": 0, "file": 0}  # of the sample with the most anonymous memory
while True:
    alive()
    s = kib("/proc/%d/status" % pid, ("VmRSS",))
    s.update(kib("/proc/%d/smaps_rollup" % pid, ("Pss", "Anonymous")))
    if s.get("Anonymous", 0) > peak["Anonymous"]:
        split = anon_split()
    for k in peak:
        peak[k] = max(peak[k], s.get(k, 0))
    left = t0 + idle_s - time.monotonic()
    if left <= 0:
        break
    time.sleep(min(1.0, left))
c1, t1, s1 = cpu_ticks(), time.monotonic(), sched_ns()
reqs = emu.stats()["total"] - settle_requests
cpu_ms = (c1 - c0) * 1000.0 / tck
per_min = cpu_ms * 60.0 / (t1 - t0)
print("RESULT seconds=%.1f cpu_ms=%.0f cpu_ms_per_min=%.0f sched_ms=%.1f rss_kib=%d pss_kib=%d anon_kib=%d "
      "anon_heap_kib=%d anon_maps_kib=%d anon_files_kib=%d "
      "requests=%d first_pass_requests=%d cpu_goal=%s anon_goal=%s" % (
          t1 - t0, cpu_ms, per_min, (s1 - s0) / 1e6, peak["VmRSS"], peak["Pss"], peak["Anonymous"],
          split["heap"], split["anon"], split["file"], reqs, settle_requests, "met" if per_min <= 60 else "not_met",
          "met" if peak["Anonymous"] <= 4096 else "not_met"))
PY
kill -TERM "$pid"
wait "$pid" || { echo "bench_idle.sh: the daemon did not stop cleanly" >&2; exit 1; }
pid=
echo "idle daemon: one project, $queued tasks pushed on the first pass, Jira emulator, default poll interval"
echo "anonymous memory of the largest sample: anon_heap_kib the heap, anon_maps_kib other anonymous mappings (thread stacks, arenas), anon_files_kib the libraries' written pages"
echo "CPU: utime + stime in clock ticks ($(getconf CLK_TCK)/s); sched_ms: time on CPU of all threads (schedstat, ns); peaks of 1 s samples; goal <= 60 ms CPU per minute, anonymous <= 4096 KiB"

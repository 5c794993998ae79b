#!/bin/bash
# blknotifyd's history (daemon/history.h) and blknotify-history(1) with real
# errors on a blkfault device and no client connected:
#  - a few errors of three kinds: --summary, --subtype, --device, --json,
#    --since/--until exact against what was caused;
#  - a 100,000-error storm at full rate stored whole (rows + recorded
#    losses = the records the source gave; against the errors caused too);
#  - a restart (SIGTERM) and a SIGKILL in the middle of storms, the source
#    pinned: nothing committed is lost, a crash is a loss row;
#  - retention by size trims while a storm is stored, and by age;
#  - a damaged file, another program's database and a newer schema are
#    refused with a clear error, their bytes unchanged;
#  - the file is root's: another user is told so.
# TAP output.  Needs root, /dev/fuse, /dev/loop-control, BPF, bpffs, curl,
# sqlite3; BLKFAULT, BLKNOTIFYD, HISTORY and ERRSTORM name the binaries.
set -u

. "$(dirname "$0")/lib-outputs.sh"

echo "TAP version 13"
[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in curl sqlite3 python3; do
	command -v $t >/dev/null || skip "$t is not installed (scripts/bootstrap daemon)"
done
[ -d /sys/fs/bpf ] || skip "no bpffs at /sys/fs/bpf"

BATCH=1024
pin=/sys/fs/bpf/bnh-test-$$
cleanup_pin() { rm -rf "$pin"; }
trap 'cleanup_pin; cleanup' EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_blkfault "$BLKFAULT" --bad 4096+256:r:EIO --bad 8192+200:r:ENODATA --bad 12288+200:w:EIO
echo 2 >"/sys/block/${dev#/dev/}/queue/nomerges"	# one read, one request
name=${dev#/dev/}
db=$work/history.db

conf() {	# file [extra lines]
	local f=$1
	cat >"$f" <<EOF
socket = $work/sock
pin_path = $pin
state_file = $work/clients.state
upstream_queue_size = 1048576
metrics_listen = 127.0.0.1:$port
outputs_devices = $majmin
history_path = $db
history_batch = $BATCH
EOF
	shift
	for l in "$@"; do echo "$l" >>"$f"; done
}
conf "$work/d.conf"

daemon=
start_daemon() {	# [config]
	"$BLKNOTIFYD" -c "${1:-$work/d.conf}" --source bpf 2>>"$work/daemon.log" &
	daemon=$!
	pids+=($daemon)
	for _ in $(seq 200); do
		curl -sf "http://127.0.0.1:$port/metrics" >/dev/null && return 0
		kill -0 "$daemon" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
stop_daemon() {	# [signal]
	kill -"${1:-TERM}" "$daemon"
	wait "$daemon" 2>/dev/null
	local r=$?
	daemon=
	rm -f "$work/sock"
	return $r
}
metric() {	# name{labels} as printed
	curl -s "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
# The records the outputs took for the device (the metrics output counts
# the same records as the history): not blknotify_records_total, which
# also counts other disks' errors for the second after a start, before the
# source's watches are narrowed to outputs_devices.
device_records() {
	curl -s "http://127.0.0.1:$port/metrics" |
		awk -v m="devnum=\"$majmin\"" 'index($0, "blknotify_errors_total{") == 1 && index($0, m) { s += $2 } END { print s + 0 }'
}
# What the history holds for the device: "errors lost unknown" (losses of any disk).
stored() {
	"$HISTORY" -f "$db" --summary --json "$@" | python3 -c '
import json, sys
e = l = u = 0
for line in sys.stdin:
    o = json.loads(line)
    if o["type"] == "disk" and o["dev"] == sys.argv[1]:
        e += o["errors"]
    elif o["type"] == "losses":
        l, u = o["lost"], o["unknown"]
print(e, l, u)' "$majmin"
}
# Wait until the history holds what the daemon read: rows + lost = records + source losses
# (losses are any disk's: on this shared machine, 0 unless the source overran).
settle() {
	local want got
	for _ in $(seq 300); do
		want=$(($(device_records) + $(metric 'blknotify_records_lost_total{reason="upstream"}')))
		read -r e l _ <<<"$(stored)"
		got=$((e + l - ${1:-0}))
		[ "$got" -eq "$want" ] && break
		sleep 0.1
	done
	echo "$got $want"
}
# Wait until the history stops changing (after a restart the counters start again).
quiesce() {
	local a b
	for _ in $(seq 60); do
		a=$(stored)
		sleep 0.5
		b=$(stored)
		[ "$a" = "$b" ] && break
	done
}
storm() {	# count -> prints caused
	"$ERRSTORM" -d "$dev" -s 4096+256 -n "$1" -t 4 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["caused"])'
}

start_daemon
ok "blknotifyd starts with a new history" $?
ok "the history is root's alone (mode 0600)" $([ "$(stat -c %a "$db")" = 600 ]; echo $?)

# 1. A few errors, exact.
sector_io read 4096 30
sector_io read 8192 20
sector_io write 12288 10
read -r got want <<<"$(settle)"
expect_eq "the history holds what the source gave" "$got" "$want"
expect_eq "... which is the 60 errors caused" "$want" 60
"$HISTORY" -f "$db" --summary --json >"$work/summary.json"
expect_eq "--summary: exact by subtype and op, first/last time, distinct sectors" "$(python3 - \
	"$work/summary.json" "$majmin" "$name" <<'PY'
import json, sys
disks = [json.loads(l) for l in open(sys.argv[1])]
d = [o for o in disks if o["type"] == "disk" and o["dev"] == sys.argv[2]]
if len(d) != 1:
    print("disks:", len(d)); sys.exit()
d = d[0]
by = {(b["subtype"], b["op"]): b["count"] for b in d["by"]}
want = {("io", "read"): 30, ("medium", "read"): 20, ("io", "write"): 10}
bad = []
if by != want: bad.append(f"by {by}")
if d["errors"] != 60: bad.append(f"errors {d['errors']}")
if d["distinct_sectors"] != 60: bad.append(f"sectors {d['distinct_sectors']}")
if d["disk"] != sys.argv[3]: bad.append(f"disk {d['disk']}")
if not d["first_ns"] < d["last_ns"]: bad.append("first/last")
print(" ".join(bad) or "exact")
PY
)" exact
expect_eq "--subtype medium: the 20 medium errors" \
	"$("$HISTORY" -f "$db" -t medium | grep -c " medium read ")" 20
expect_eq "--subtype error (a class): all 60" "$("$HISTORY" -f "$db" -t error | grep -c " sector ")" 60
expect_eq "--device NAME" "$("$HISTORY" -f "$db" -d "$name" | grep -c " sector ")" 60
expect_eq "--device MAJ:MIN" "$("$HISTORY" -f "$db" -d "$majmin" | grep -c " sector ")" 60
expect_eq "--device of another disk: none" "$("$HISTORY" -f "$db" -d 254:99 | grep -c " sector ")" 0
expect_eq "--since tomorrow: none" "$("$HISTORY" -f "$db" --since tomorrow | wc -l)" 0
expect_eq "--until yesterday: none" "$("$HISTORY" -f "$db" --until yesterday | wc -l)" 0
expect_eq "--since '1 hour ago' --until now: all" \
	"$("$HISTORY" -f "$db" --since '1 hour ago' --until now | grep -c " sector ")" 60
expect_eq "--json: one object per error, with the record's fields" "$("$HISTORY" -f "$db" --json |
	python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
ok = all(r["type"] == "error" and r["errno"] in (5, 61) and r["nr_sectors"] == 1 and
         "mono_ns" in r and "time_ns" in r and r["disk"] == sys.argv[1] for r in rows)
print(len(rows) if ok else "bad")' "$name")" 60
expect_eq "-n 5: the newest five" "$("$HISTORY" -f "$db" -n 5 | grep -c " io write ")" 5
"$HISTORY" -f "$db" --since garbage 2>"$work/usage.err"
expect_eq "a bad --since: exit 2" $? 2
ok "... saying what it takes" $(grep -q '"garbage" is not a time' "$work/usage.err"; echo $?)

# 2. The storm, at full rate.
caused=$(storm 100000)
read -r got want <<<"$(settle)"
expect_eq "storm: the history holds every record the source gave (rows + recorded losses)" "$got" "$want"
read -r e l u <<<"$(stored)"
echo "# storm: caused $caused, stored $((e - 60)) rows, $l recorded lost, $u unknown"
expect_eq "storm: nothing dropped by the history" "$(metric blknotify_history_dropped_total)" 0
# The kernel skips the tracepoint's programs for a few errors under load
# (bench/RESULTS.md figure 6, not blknotify's: up to 1.3 % seen at high load): at most 2 %.
ok "storm: rows + recorded losses = the errors caused, but for the kernel's misses (<= 2 %)" \
	$([ $((e - 60 + l)) -le "$caused" ] && [ $((caused - (e - 60 + l))) -le $((caused / 50)) ]; echo $?)
commits=$(metric blknotify_history_commits_total)
ok "storm: batched ($commits commits for $((e)) rows)" $([ "$commits" -lt $((e / 100)) ]; echo $?)

# 3. A restart in the middle of a storm: the pinned source keeps what comes meanwhile.
before=$(stored)
storm 50000 >"$work/caused1" &
stormer=$!
sleep 0.3
stop_daemon TERM
ok "stopped cleanly mid-storm" $?
start_daemon
ok "restarted" $?
wait $stormer
quiesce
read -r e l u <<<"$(stored)"
read -r e0 l0 u0 <<<"$before"
c1=$(cat "$work/caused1")
echo "# restart: caused $c1, stored $((e - e0)) + lost $((l - l0)), unknown $((u - u0))"
expect_eq "restart: no crash loss row" "$((u - u0))" 0
ok "restart: stored + recorded losses = caused, but for the kernel's misses (<= 2 %)" \
	$([ $((e - e0 + l - l0)) -le "$c1" ] && [ $((c1 - (e - e0 + l - l0))) -le $((c1 / 50 + 1)) ]; echo $?)

# 4. SIGKILL in the middle of a storm: what was committed stays; the crash is a loss row.
storm 50000 >"$work/caused2" &
stormer=$!
sleep 0.3
"$HISTORY" -f "$db" --json | grep -v '"type":"loss"' >"$work/committed"
stop_daemon KILL
start_daemon
ok "restarted after SIGKILL" $?
wait $stormer
quiesce
"$HISTORY" -f "$db" --json | grep -v '"type":"loss"' >"$work/after"
nc=$(wc -l <"$work/committed")
expect_eq "SIGKILL: every row committed before it is still there ($nc)" \
	"$(head -n "$nc" "$work/after" | cmp -s - "$work/committed"; echo $?)" 0
read -r e2 l2 u2 <<<"$(stored)"
expect_eq "SIGKILL: one loss row with the count unknown" "$((u2 - u))" 1
ok "SIGKILL: the log says the last daemon did not stop cleanly" \
	$(grep -q "did not stop cleanly" "$work/daemon.log"; echo $?)
c2=$(cat "$work/caused2")
lost=$((c2 - (e2 - e + l2 - l)))
echo "# SIGKILL: caused $c2, stored $((e2 - e)), recorded lost $((l2 - l)), missing $lost"
ok "SIGKILL: what is missing is at most the open batch ($BATCH) and the kernel's misses" \
	$([ "$lost" -ge 0 ] && [ "$lost" -le $((BATCH + c2 / 50)) ]; echo $?)
"$HISTORY" -f "$db" | grep -q "LOSS: records lost, how many is not known (crash)"
ok "the crash loss row reads as such" $?
stop_daemon

# 5. Retention by size, while a storm is stored.
rm -f "$db"
conf "$work/small.conf" "history_max_bytes = 1M"
start_daemon "$work/small.conf"
caused=$(storm 100000)
for _ in $(seq 300); do
	want=$(device_records)
	[ "$(metric 'blknotify_history_rows_total{kind="record"}')" = "$want" ] && break
	sleep 0.1
done
pages=$(sqlite3 "file:$db?mode=ro" 'SELECT (SELECT page_count FROM pragma_page_count) - (SELECT freelist_count FROM pragma_freelist_count)')
psize=$(sqlite3 "file:$db?mode=ro" 'PRAGMA page_size')
trimmed=$(metric blknotify_history_trimmed_total)
rows=$(metric 'blknotify_history_rows_total{kind="record"}')
echo "# size: $rows rows stored, $trimmed trimmed, $((pages * psize)) bytes in use"
expect_eq "size: nothing dropped while trimming" "$(metric blknotify_history_dropped_total)" 0
expect_eq "size: every record was stored before retention trimmed it" "$rows" "$want"
ok "size: rows were trimmed" $([ "$trimmed" -gt 0 ]; echo $?)
ok "size: the database stays within history_max_bytes and a batch's pages" \
	$([ $((pages * psize)) -le $((1048576 + 2 * BATCH * 100)) ]; echo $?)
read -r e _ <<<"$(stored)"
expect_eq "size: what is left is the newest rows" "$((e + trimmed))" "$rows"
stop_daemon

# SQLite busy (another program holds the write lock) during a storm: the
# daemon never waits; rows wait in history_queue, what has no room is
# counted and becomes a loss row; nothing is unaccounted for.
rm -f "$db"
conf "$work/busy.conf" "history_queue = 2048"
start_daemon "$work/busy.conf"
storm 10 >/dev/null
settle >/dev/null	# the database exists, in WAL mode
mkfifo "$work/lockin"
sqlite3 "$db" <"$work/lockin" >/dev/null 2>&1 &
locker=$!
exec {lockfd}>"$work/lockin"
echo "BEGIN IMMEDIATE;" >&$lockfd
sleep 0.5	# (the lock is taken; nothing asserts on this time)
caused=$(storm 20000)
dropped_busy=$(metric blknotify_history_dropped_total)
echo "COMMIT;" >&$lockfd
exec {lockfd}>&-
wait $locker
read -r got want <<<"$(settle)"
read -r e l u <<<"$(stored)"
echo "# busy: caused $caused, stored $e rows, $l recorded lost, dropped $dropped_busy"
ok "busy: the history's queue filled and dropped ($dropped_busy)" $([ "$dropped_busy" -gt 0 ]; echo $?)
expect_eq "busy: every drop is in a loss row (reason history_queue)" \
	"$("$HISTORY" -f "$db" --summary --json | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if o["type"] == "losses":
        print(o["by_reason"].get("history_queue", {}).get("lost", 0))')" "$(metric blknotify_history_dropped_total)"
expect_eq "busy: rows + recorded losses = what the source gave" "$got" "$want"
ok "busy: commits failed and were retried" $([ "$(metric blknotify_history_commit_failed_total)" -gt 0 ]; echo $?)
stop_daemon

# Retention by age: rows older than history_max_age_s go with the next commit.
rm -f "$db"
conf "$work/age.conf" "history_max_age_s = 1"
start_daemon "$work/age.conf"
storm 300 >/dev/null
quiesce
read -r old _ <<<"$(stored)"
sleep 2.5	# older than history_max_age_s, whatever the timing
storm 100 >/dev/null
for _ in $(seq 100); do read -r e _ <<<"$(stored)"; [ "$e" -le 100 ] && break; sleep 0.1; done
quiesce
read -r e _ <<<"$(stored)"
echo "# age: $old rows, then $e"
ok "age: the older rows are gone, the new ones kept" $([ "$old" -ge 250 ] && [ "$e" -gt 0 ] && [ "$e" -le 100 ]; echo $?)
stop_daemon
# And at start, for what aged while no daemon ran.
sleep 1.5
start_daemon "$work/age.conf"
for _ in $(seq 50); do read -r e _ <<<"$(stored)"; [ "$e" -eq 0 ] && break; sleep 0.1; done
expect_eq "age: rows that aged while no daemon ran are trimmed at start" "$e" 0
stop_daemon

# 6. Files that are not ours: refused, left as they are.
refused() {	# description file expected-message
	cp "$2" "$work/orig"
	conf "$work/r.conf"
	sed -i "s|^history_path = .*|history_path = $2|" "$work/r.conf"
	"$BLKNOTIFYD" -c "$work/r.conf" --source bpf 2>"$work/r.err"
	expect_eq "$1: blknotifyd does not start (exit 1)" $? 1
	ok "$1: the error names the file and what to do" \
		$(grep -q "history_path $2: $3.*move it away" "$work/r.err"; echo $?)
	[ $? -eq 0 ] || sed 's/^/# /' "$work/r.err"
	expect_eq "$1: its bytes are unchanged" "$(cmp -s "$2" "$work/orig"; echo $?)" 0
	ok "$1: no WAL was made beside it" $([ ! -e "$2-wal" ]; echo $?)
}
head -c 65536 /dev/urandom >"$work/garbage.db"
refused "a file of garbage" "$work/garbage.db" "not an SQLite database"
cp "$db" "$work/damaged.db"
printf 'this page is not a b-tree page any more' | dd of="$work/damaged.db" bs=1 seek=100 conv=notrunc 2>/dev/null
refused "a damaged history" "$work/damaged.db" "SQLite cannot read it"
sqlite3 "$work/foreign.db" 'CREATE TABLE mail(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO mail(body) VALUES ("keep me")'
refused "another program's database" "$work/foreign.db" "an SQLite database of another program"
cp "$db" "$work/newer.db"
sqlite3 "$work/newer.db" 'PRAGMA user_version = 99'
refused "a newer schema" "$work/newer.db" "written by a newer blknotifyd"
"$HISTORY" -f "$work/foreign.db" 2>"$work/q.err"
expect_eq "blknotify-history refuses another program's database (exit 1)" $? 1
ok "... saying so" $(grep -q "is not a blknotify history" "$work/q.err"; echo $?)

# 7. Another user: the file is root's.
if id nobody >/dev/null 2>&1; then
	chmod 755 "$work"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$HISTORY" -f "$db" 2>"$work/nobody.err"
	expect_eq "another user: exit 1" $? 1
	ok "another user: told the history is root's" $(grep -q "readable by root only" "$work/nobody.err"; echo $?)
fi

[ "$failed" -eq 0 ] || { echo "# daemon log:"; tail -20 "$work/daemon.log" | sed 's/^/# /'; }
echo "1..$n"
exit $((failed > 0))

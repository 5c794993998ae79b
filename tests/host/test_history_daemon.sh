#!/bin/bash
# blknotify-history through blknotifyd (GET_HISTORY, docs/protocol.md) for a
# user without privilege: real errors on two blkfault disks, A readable by
# the user's group (device_access = readable lets the user watch it), B
# not.  The user's query returns exactly A's rows and says B's were
# withheld; --summary is exact; root reading the file and root through the
# daemon agree row for row, also over many pages (a storm of 5,000 on A,
# more than a page examines: B's last rows come after a page with none); a malformed
# query gets a clear error.
# TAP output.  Needs root, /dev/fuse, /dev/loop-control, BPF, sqlite3,
# python3, useradd, setpriv.  BLKFAULT, BLKNOTIFYD, HISTORY and ERRSTORM name the binaries.
set -u

. "$(dirname "$0")/lib-outputs.sh"

echo "TAP version 13"
[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in sqlite3 python3 useradd setpriv; do
	command -v $t >/dev/null || skip "$t is not installed (scripts/bootstrap daemon)"
done

chmod 0711 "$work"
user=bnhd$$
cleanup_user() {
	userdel "$user" 2>/dev/null
	groupdel "$user" 2>/dev/null
	cleanup
}
trap cleanup_user EXIT
useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$user" ||
	{ echo "Bail out! useradd failed"; exit 1; }

start_blkfault "$BLKFAULT" --bad 4096+256:r:EIO --bad 12288+200:w:EIO
devA=$dev majA=$majmin nameA=${dev#/dev/}
start_blkfault "$BLKFAULT" --bad 8192+200:r:ENODATA
devB=$dev majB=$majmin
for d in "$devA" "$devB"; do echo 2 >"/sys/block/${d#/dev/}/queue/nomerges"; done
# A: the user's group may read it.  B: root's and group disk's, as the kernel makes it.
chgrp "$user" "$devA" && chmod 0640 "$devA"
chgrp disk "$devB" 2>/dev/null; chmod 0660 "$devB"

db=$work/history.db
mkdir -p "$work/d" && chmod 0711 "$work/d"
sock=$work/d/sock
cat >"$work/d.conf" <<EOF
source = bpf
socket = $sock
socket_mode = 0666
pin_path = none
state_file = $work/state
outputs_devices = $majA $majB
history_path = $db
history_commit_ms = 50
EOF
"$BLKNOTIFYD" -c "$work/d.conf" 2>>"$work/daemon.err" &
daemonpid=$!
pids+=($daemonpid)
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
ok "blknotifyd starts with a history" $([ -S "$sock" ]; echo $?)

# A: 30 failed reads, 10 failed writes; B: 20 failed reads (medium).
for i in $(seq 0 29); do
	dd if="$devA" of=/dev/null bs=512 skip=$((4096 + 2 * i)) count=1 iflag=direct 2>/dev/null
done
sector_io write 12288 10 "$devA"
for i in $(seq 0 19); do
	dd if="$devB" of=/dev/null bs=512 skip=$((8192 + 2 * i)) count=1 iflag=direct 2>/dev/null
done
rows() { sqlite3 "$db" "SELECT count(*) FROM events WHERE kind = 0 AND dev = $1" 2>/dev/null; }
devnum() { python3 -c 'import os, sys; a, b = map(int, sys.argv[1].split(":")); print(os.makedev(a, b))' "$1"; }
nA=$(devnum "$majA") nB=$(devnum "$majB")
for _ in $(seq 200); do
	[ "$(rows "$nA")" = 40 ] && [ "$(rows "$nB")" = 20 ] && break
	sleep 0.1
done
expect_eq "the history holds A's 40 errors" "$(rows "$nA")" 40
expect_eq "... and B's 20" "$(rows "$nB")" 20

as_user() { setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"; }

# 1. Root: the file and the daemon agree row for row, in every format.
same=0
for f in "" "--json" "--summary" "--summary --json" "-t medium" "-d $nameA -n 7"; do
	# shellcheck disable=SC2086
	"$HISTORY" -f "$db" $f >"$work/direct" 2>&1
	# shellcheck disable=SC2086
	"$HISTORY" --socket "$sock" $f >"$work/viad" 2>"$work/viad.err"
	if ! cmp -s "$work/direct" "$work/viad" || [ -s "$work/viad.err" ]; then
		echo "# root, '$f': the file and the daemon differ:"
		diff "$work/direct" "$work/viad" | head -5 | sed 's/^/# /'
		sed 's/^/# /' "$work/viad.err"
		same=1
	fi
done
ok "root: the file and --socket agree row for row (text, --json, --summary, filters); nothing withheld" $same
expect_eq "root through the daemon: all 60 rows" "$("$HISTORY" --socket "$sock" | grep -c " sector ")" 60

# 2. The user: the file is root's, so the tool asks the daemon by itself (--file names it).
as_user "$HISTORY" -f "$db" --socket "$sock" >"$work/user" 2>"$work/user.err"
expect_eq "user: exit 0" $? 0
expect_eq "user: A's 40 rows" "$(grep -c " sector " "$work/user")" 40
expect_eq "user: none of B's" "$(grep -c "($majB)" "$work/user")" 0
ok "user: told 20 rows were withheld by the policy" \
	$(grep -q "^blknotify-history: 20 rows on disks you may not watch were withheld" "$work/user.err"; echo $?)
"$HISTORY" -f "$db" -d "$majA" >"$work/rootA"
ok "user: exactly root's listing of A, line for line" $(cmp -s "$work/rootA" "$work/user"; echo $?)
# (The EACCES path: no --socket, the default socket; the daemon is asked at $sock only
# when named, so here it must say both what it could not read and what failed.)
as_user "$HISTORY" -f "$db" 2>"$work/eacces.err" >/dev/null
r=$?
if [ -S /run/blknotify/blknotifyd.sock ]; then
	ok "user without --socket: (a system blknotifyd answers; not checked) # SKIP" 0
else
	expect_eq "user without --socket, no daemon at the default socket: exit 1" $r 1
	ok "... saying the file is root's and asking blknotifyd failed" \
		$(grep -q "readable by root only.*asking blknotifyd failed: cannot connect" "$work/eacces.err"; echo $?)
fi

# 3. --summary exact, and the same as root's summary of A.
as_user "$HISTORY" --socket "$sock" --summary --json >"$work/usum.json" 2>/dev/null
expect_eq "user --summary: exact (A only, by subtype and op, distinct sectors)" "$(python3 - \
	"$work/usum.json" "$majA" "$nameA" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
d = [o for o in objs if o["type"] == "disk"]
if len(d) != 1 or d[0]["dev"] != sys.argv[2]:
    print("disks:", [o["dev"] for o in d]); sys.exit()
d = d[0]
by = {(b["subtype"], b["op"]): b["count"] for b in d["by"]}
bad = []
if by != {("io", "read"): 30, ("io", "write"): 10}: bad.append(f"by {by}")
if d["errors"] != 40: bad.append(f"errors {d['errors']}")
if d["distinct_sectors"] != 40: bad.append(f"sectors {d['distinct_sectors']}")
if d["disk"] != sys.argv[3]: bad.append(f"disk {d['disk']}")
if not d["first_ns"] < d["last_ns"]: bad.append("first/last")
print(" ".join(bad) or "exact")
PY
)" exact
as_user "$HISTORY" --socket "$sock" --summary >"$work/usum" 2>/dev/null
"$HISTORY" -f "$db" --summary -d "$majA" >"$work/rsum"
ok "user --summary = root's --summary -d A, byte for byte" $(cmp -s "$work/usum" "$work/rsum"; echo $?)
expect_eq "user --json: 40 objects, all of A" "$(as_user "$HISTORY" --socket "$sock" --json 2>/dev/null |
	python3 -c 'import json, sys; r = [json.loads(l) for l in sys.stdin]; print(len(r) if all(o["dev"] == sys.argv[1] for o in r) else "bad")' "$majA")" 40
as_user "$HISTORY" --socket "$sock" -d "$majB" >"$work/userB" 2>"$work/userB.err"
expect_eq "user --device B: no rows" "$(grep -c " sector " "$work/userB")" 0
ok "... and 20 withheld" $(grep -q " 20 rows on disks you may not watch" "$work/userB.err"; echo $?)
as_user "$HISTORY" --socket "$sock" -t medium 2>"$work/userM.err" | grep -q " sector "
expect_eq "user --subtype medium: none (B's medium errors are withheld)" $? 1

# 4. Many pages: 5,000 more errors on A, so a query for B examines pages
# (HISTORY_QUERY_SCAN rows) that hold none of its rows before it finds them.
caused=$("$ERRSTORM" -d "$devA" -s 4096+256 -n 5000 -t 2 | python3 -c 'import json, sys; print(json.load(sys.stdin)["caused"])')
want=$((40 + caused))
for _ in $(seq 300); do [ "$(rows "$nA")" = "$want" ] && break; sleep 0.1; done
for i in $(seq 20 29); do	# and B's next 10 after the storm: past the first page's scan
	dd if="$devB" of=/dev/null bs=512 skip=$((8192 + 2 * i)) count=1 iflag=direct 2>/dev/null
done
for _ in $(seq 200); do [ "$(rows "$nB")" = 30 ] && break; sleep 0.1; done
expect_eq "storm: B's 10 more after it" "$(rows "$nB")" 30
echo "# storm: caused $caused, A has $(rows "$nA") rows"
expect_eq "storm: A's rows are in the history" "$(rows "$nA")" "$want"
same=0
for f in "" "--summary" "-d $majB" "-d $majB --json" "--since -1h -n 300"; do
	# shellcheck disable=SC2086
	"$HISTORY" -f "$db" $f >"$work/direct" 2>&1
	# shellcheck disable=SC2086
	"$HISTORY" --socket "$sock" $f >"$work/viad" 2>"$work/viad.err"
	cmp -s "$work/direct" "$work/viad" && [ ! -s "$work/viad.err" ] || { echo "# root '$f' differs"; same=1; }
done
ok "storm: root's file and daemon listings agree over many pages" $same
expect_eq "storm: root through the daemon: every row" \
	"$("$HISTORY" --socket "$sock" | grep -c " sector ")" $((want + 30))
as_user "$HISTORY" --socket "$sock" >"$work/user" 2>"$work/user.err"
expect_eq "storm: the user gets all of A's rows" "$(grep -c "($majA)" "$work/user")" "$want"
ok "... and is told B's 30 were withheld" $(grep -q "^blknotify-history: 30 rows" "$work/user.err"; echo $?)
as_user "$HISTORY" --socket "$sock" -d "$majB" >"$work/userB" 2>"$work/userB.err"
expect_eq "storm: the user's query for B: nothing, after the empty pages" \
	"$(grep -c " sector " "$work/userB")" 0
ok "... 30 withheld" $(grep -q "^blknotify-history: 30 rows" "$work/userB.err"; echo $?)

# 5. Malformed queries: a clear error, the connection closed (as for any malformed
# request), and the daemon goes on.
as_user /usr/bin/python3 - "$sock" >"$work/bad.out" 2>&1 <<'PY'
import socket, struct, sys
MAGIC = 0x644e4c42
def msg(t, seq, body):
    return struct.pack("=IHHII", MAGIC, 1, t, 16 + len(body), seq) + body
def query(body):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.send(msg(0x01, 1, struct.pack("=IIQ", 1, 0, 0)))
    s.recv(65536)
    s.send(msg(0x09, 2, body))
    r = s.recv(65536)
    t = struct.unpack_from("=H", r, 6)[0]
    if t == 0x83:
        err = struct.unpack_from("=i", r, 16)[0]
        print(err, r[24:].rstrip(b"\0").decode())
    else:
        print("type", hex(t))
Q = "=QqqQHHHH"
query(struct.pack(Q, 0, 0, 1 << 62, 0, 0, 255, 0, 0))		# limit 0
query(struct.pack(Q, 0, 0, 1 << 62, 0, 0, 255, 256, 1))		# flags
query(struct.pack(Q, 0, 5, 4, 0, 0, 255, 256, 0))		# since > until
query(struct.pack(Q, 0, 0, 1 << 62, 0, 9, 3, 256, 0))		# subtypes
query(struct.pack(Q, 0, 0, 1 << 62, 0, 0, 255, 256, 0)[:-2])	# short
query(struct.pack(Q, 0, 0, 1 << 62, 0, 0, 255, 256, 0))		# good
PY
sed 's/^/# /' "$work/bad.out"
expect_eq "GET_HISTORY limit 0: -EBADMSG, naming the limit" "$(sed -n 1p "$work/bad.out")" \
	"-74 GET_HISTORY: limit 0 (must be 1..256); disconnecting"
expect_eq "... unknown flags" "$(sed -n 2p "$work/bad.out")" "-74 GET_HISTORY: unknown flags 0x1; disconnecting"
expect_eq "... since after until" "$(sed -n 3p "$work/bad.out")" \
	"-74 GET_HISTORY: time range 5..4 (need 0 <= since <= until); disconnecting"
expect_eq "... subtypes backwards" "$(sed -n 4p "$work/bad.out")" \
	"-74 GET_HISTORY: subtypes 9..3 (need lo <= hi <= 255); disconnecting"
expect_eq "... a short body" "$(sed -n 5p "$work/bad.out")" \
	"-74 GET_HISTORY: body is 38 bytes, expected 40; disconnecting"
expect_eq "... and a good one is answered after them" "$(sed -n 6p "$work/bad.out")" "type 0x87"
as_user "$HISTORY" --socket "$work/nothing.sock" 2>"$work/nosock.err"
expect_eq "--socket naming no daemon: exit 1" $? 1
ok "... saying it cannot connect" $(grep -q "through blknotifyd: cannot connect to blknotifyd at $work/nothing.sock" "$work/nosock.err"; echo $?)
"$HISTORY" --socket 2>/dev/null
expect_eq "--socket without a path: exit 2" $? 2

kill "$daemonpid" && wait "$daemonpid"
expect_eq "blknotifyd stops cleanly" $? 0
line=$(grep "history queries:" "$work/daemon.err")
echo "# $line"
ok "... logging the pages it answered and the rows it withheld" \
	$(echo "$line" | grep -Eq "[1-9][0-9]* pages .* [1-9][0-9]* withheld by the policy"; echo $?)

[ "$failed" -eq 0 ] || { echo "# daemon log:"; tail -20 "$work/daemon.err" | sed 's/^/# /'; }
echo "1..$n"
exit $((failed > 0))

#!/bin/bash
# blknotifyd's journal entries with a real systemd-journald: journald runs
# standalone in a mount namespace of this test's own (tmpfs over
# /run/systemd, /run/log/journal and /var/log/journal, so it creates its
# sockets there and stores only this run's entries), blknotifyd writes to
# it, and journalctl reads the entries back.  Isolated errors become entries
# with the documented fields; a storm becomes the first entries of each
# window plus summaries whose counts make up the rest exactly.
# TAP output.  Needs root, unshare, /dev/fuse, /dev/loop-control, BPF;
# BLKFAULT and BLKNOTIFYD name the binaries (meson sets them).
set -u

skip() {
	echo "TAP version 13"
	echo "1..0 # SKIP $1"
	[ -n "${BLKNOTIFY_TEST_NO_SKIP:-}" ] && exit 1
	exit 0
}
if [ "${1:-}" != --inside ]; then
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	[ -x /lib/systemd/systemd-journald ] || skip "systemd-journald is not installed (package systemd)"
	command -v unshare >/dev/null || skip "unshare is not installed (package util-linux)"
	exec unshare -m --propagation private "$0" --inside
fi

echo "TAP version 13"
MSG_ERROR=30785b7f7d3240809df08cb3185d760e
MSG_SUMMARY=6663ef1bbdf046d5aac781bb450bcfa1
BURST=5
MEDIUM=3
STORM=300

. "$(dirname "$0")/lib-outputs.sh"

start_journald
ok "systemd-journald runs in the test's namespace" $?

start_blkfault "$BLKFAULT" --bad 4096+1000:r:EIO --bad 8192+100:r:ENODATA

cat >"$work/blknotifyd.conf" <<EOF
socket = $work/sock
pin_path = none
state_file = $work/clients.state
journal = yes
journal_burst = $BURST
journal_window_ms = 2000
EOF
"$BLKNOTIFYD" -c "$work/blknotifyd.conf" --source bpf 2>"$work/daemon.log" &
daemon=$!
pids+=($daemon)
for _ in $(seq 100); do grep -q "reading bpf" "$work/daemon.log" && break; sleep 0.1; done

# Isolated medium errors, then a storm of io errors, no client connected.
sector_io read 8192 "$MEDIUM"
sector_io read 4096 "$STORM"
# Stopping writes the summaries of the windows still open.
kill "$daemon"
wait "$daemon"
ok "blknotifyd stops cleanly" $?

# Entries and summaries for the device: journalctl's JSON, added up.
tally() {
	journalctl -o json "BLKNOTIFY_DEVNUM=$majmin" 2>/dev/null | python3 -c '
import json, sys
e = [json.loads(l) for l in sys.stdin]
err = [x for x in e if x.get("MESSAGE_ID") == sys.argv[1]]
summ = [x for x in e if x.get("MESSAGE_ID") == sys.argv[2]]
med = [x for x in err if x.get("BLKNOTIFY_SUBTYPE") == "medium"]
io = [x for x in err if x.get("BLKNOTIFY_SUBTYPE") == "io"]
print(len(err), len(med), len(io), len(summ),
      sum(int(x["BLKNOTIFY_SUMMARY_COUNT"]) for x in summ),
      sum(int(x.get("BLKNOTIFY_COUNT_IO_READ", 0)) for x in summ),
      sum(int(x.get("BLKNOTIFY_COUNT_MEDIUM_READ", 0)) for x in summ))
m = med[0] if med else {}
want = {"PRIORITY": "2", "BLKNOTIFY_DEVICE": sys.argv[3], "BLKNOTIFY_OP": "read",
        "BLKNOTIFY_SECTOR": "8192", "BLKNOTIFY_NR_SECTORS": "1", "BLKNOTIFY_ERRNO": "61",
        "BLKNOTIFY_KERNEL_DEVICE": "b" + sys.argv[4], "SYSLOG_IDENTIFIER": "blknotifyd",
        "MESSAGE": sys.argv[3] + ": medium error on read, sector 8192 (+1), ENODATA"}
bad = [k for k in want if m.get(k) != want[k]]
print(",".join(bad) or "all")
print(min((int(x["BLKNOTIFY_SECTOR_MIN"]) for x in summ), default=-1),
      max((int(x["BLKNOTIFY_SECTOR_MAX"]) for x in summ), default=-1))
' "$MSG_ERROR" "$MSG_SUMMARY" "${dev#/dev/}" "$majmin"
}
# journald stores what it has received; wait until it is all there.
for _ in $(seq 100); do
	tally >"$work/tally"
	read -r entries _ _ _ summarised _ _ <"$work/tally"
	[ $((entries + summarised)) -ge $((MEDIUM + STORM)) ] && break
	sleep 0.2
done
{ read -r entries medium io summaries summarised sum_io sum_medium
  read -r fields; read -r smin smax; } <"$work/tally"
echo "# entries $entries (medium $medium, io $io), summaries $summaries counting $summarised"
expect_eq "every error is an entry or counted in a summary" $((entries + summarised)) $((MEDIUM + STORM))
expect_eq "the isolated medium errors are entries of their own" "$medium" $MEDIUM
expect_eq "the io errors: entries + summarised = the storm" $((io + sum_io)) $STORM
expect_eq "no medium error in a summary" "$sum_medium" 0
ok "the storm was coalesced into summaries" $([ "$summaries" -ge 1 ] && [ "$summarised" -gt 0 ]; echo $?)
# The storm took at least a window: at most BURST entries per window of it, plus the medium.
ok "at most journal_burst entries per window" $([ "$entries" -lt $((MEDIUM + STORM)) ]; echo $?)
expect_eq "an entry's fields" "$fields" all
ok "the summaries' sector range lies within the storm's" \
	$([ "$smin" -ge 4096 ] && [ "$smax" -le $((4096 + 2 * STORM)) ]; echo $?)
expect_eq "found by MESSAGE_ID and device name" \
	"$(journalctl -o cat MESSAGE_ID=$MSG_ERROR BLKNOTIFY_DEVICE="${dev#/dev/}" | wc -l)" "$entries"
expect_eq "found by the kernel's device id" \
	"$(journalctl -o cat BLKNOTIFY_KERNEL_DEVICE="b$majmin" | wc -l)" $((entries + summaries))
expect_eq "summaries at priority err (io)" \
	"$(journalctl -o cat MESSAGE_ID=$MSG_SUMMARY BLKNOTIFY_DEVNUM="$majmin" PRIORITY=3 | wc -l)" "$summaries"
# journald stops reading (SIGSTOP): the daemon must not wait for it.  A
# client gets every record of 200 more errors meanwhile; when journald
# reads again, the refused entries are in summaries and the journal is
# exact again.
# (A burst larger than the errors: every one is an entry, or would be.)
MORE=200
sed "s/^journal_burst = .*/journal_burst = 1000/" "$work/blknotifyd.conf" >"$work/burst.conf"
"$BLKNOTIFYD" -c "$work/burst.conf" --source bpf 2>>"$work/daemon.log" &
daemon=$!
pids+=($daemon)
for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.1; done
"$BLKWATCH" --source daemon --socket "$work/sock" -d "$dev" --count $MORE >"$work/client" 2>"$work/client.err" &
client=$!
for _ in $(seq 100); do grep -q watching "$work/client.err" && break; sleep 0.05; done
kill -STOP "$journald"
sector_io read $((4096 + 2 * STORM)) "$MORE"
for _ in $(seq 200); do kill -0 $client 2>/dev/null || break; sleep 0.1; done
kill -0 $client 2>/dev/null && kill $client
wait $client
ok "with journald stopped, a client still gets every record" $?
expect_eq "the client's records" "$(wc -l <"$work/client")" $MORE
kill -CONT "$journald"
kill "$daemon"
wait "$daemon"
ok "blknotifyd stops cleanly" $?
for _ in $(seq 100); do
	tally >"$work/tally"
	read -r entries _ _ _ summarised _ _ <"$work/tally"
	[ $((entries + summarised)) -ge $((MEDIUM + STORM + MORE)) ] && break
	sleep 0.2
done
expect_eq "after journald stalled: still every error an entry or in a summary" \
	$((entries + summarised)) $((MEDIUM + STORM + MORE))
# Identity fields: what libblknotify says of the disk, and absent when it
# has none (a loop device without udev).  A client asks the library (after
# the counts: blkwatch --identity probes the disk, which adds errors).
"$BLKNOTIFYD" -c "$work/blknotifyd.conf" --source bpf 2>>"$work/daemon.log" &
daemon=$!
pids+=($daemon)
for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.1; done
"$BLKWATCH" --source daemon --socket "$work/sock" -d "$dev" -n 1 --identity --no-files --json \
	>"$work/ident" 2>"$work/ident.err" &
client=$!
for _ in $(seq 100); do grep -q watching "$work/ident.err" && break; sleep 0.05; done
dd if="$dev" of=/dev/null bs=512 skip=$((8192 + 50)) count=1 iflag=direct 2>/dev/null
wait $client
kill "$daemon"
wait "$daemon"
expect_eq "BLKNOTIFY_SERIAL, _WWN, _BY_ID: what the library says of the disk" "$(
	journalctl -o json MESSAGE_ID=$MSG_ERROR BLKNOTIFY_DEVNUM="$majmin" | python3 -c '
import json, sys
ident = json.loads(open(sys.argv[1]).readline())
bad = set()
for l in sys.stdin:
    e = json.loads(l)
    for k in ("serial", "wwn", "by_id"):
        if e.get("BLKNOTIFY_" + k.upper()) != ident.get(k):
            bad.add(k)
print(",".join(sorted(bad)) or "all")' "$work/ident")" all

# The catalog: journalctl -x explains the entries (in this namespace only).
mkdir -p /usr/lib/systemd/catalog /var/lib/systemd/catalog
mount -t tmpfs tmpfs /usr/lib/systemd/catalog && mount -t tmpfs tmpfs /var/lib/systemd/catalog &&
	cp "$CATALOG" /usr/lib/systemd/catalog/ && journalctl --update-catalog 2>"$work/catalog.err"
ok "journalctl --update-catalog takes the catalog" $?
journalctl -x -o short MESSAGE_ID=$MSG_SUMMARY BLKNOTIFY_DEVNUM="$majmin" -n 1 >"$work/explained"
ok "journalctl -x explains a summary" $(grep -q "more block I/O errors on ${dev#/dev/}" "$work/explained"; echo $?)
[ $failed -eq 0 ] || { sed 's/^/# catalog: /' "$work/catalog.err"; sed 's/^/# daemon: /' "$work/daemon.log"; sed 's/^/# journald: /' "$work/journald.log"; }
echo "1..$n"
[ $failed -eq 0 ]

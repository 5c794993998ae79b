#!/bin/bash
# blkwatch end to end on real errors, and its answers to bad usage.
# TAP output.  Needs root, /dev/fuse, /dev/loop-control; BLKWATCH and
# BLKFAULT name the binaries (meson sets them).
set -u

n=0
failed=0
ok() {		# description, then the command's status
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
expect_eq() {	# description actual expected
	[ "$2" = "$3" ] || echo "# $1: got '$2', expected '$3'"
	ok "$1" $([ "$2" = "$3" ]; echo $?)
}

work=$(mktemp -d)
faultpid=
cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$faultpid" ] && { kill "$faultpid" 2>/dev/null; wait "$faultpid" 2>/dev/null; }
	rm -rf "$work"
}
trap cleanup EXIT

echo "TAP version 13"
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root"
	[ -n "${BLKNOTIFY_TEST_NO_SKIP:-}" ] && exit 1
	exit 0
fi

# A device with 100 bad sectors at 4096..4195 (every 2nd read below).
mkfifo "$work/ctl"
"$BLKFAULT" --bad 4096+200 --until-stdin-eof <"$work/ctl" >"$work/dev" &
faultpid=$!
exec 3>"$work/ctl"
for _ in $(seq 100); do [ -s "$work/dev" ] && break; sleep 0.1; done
read -r dev majmin <"$work/dev"
[ -b "$dev" ] || { echo "Bail out! blkfault gave no device"; exit 1; }

wait_watching() {	# errfile pid
	for _ in $(seq 200); do
		grep -q "watching" "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# --- the issue's acceptance check: exactly those 100 records ---
"$BLKWATCH" --json --count 100 >"$work/out.json" 2>"$work/err" &
pid=$!
wait_watching "$work/err" $pid
ok "blkwatch says when it is watching" $?
for i in $(seq 0 99); do
	dd if="$dev" of=/dev/null bs=512 skip=$((4096 + 2 * i)) count=1 iflag=direct 2>/dev/null
done
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && { kill $pid; echo "# blkwatch did not exit after 100 records"; }
wait $pid
ok "blkwatch --count 100 exits 0 by itself" $?
# Only our device's records, in order: other devices may fail too on a busy machine.
python3 - "$work/out.json" "$majmin" "${dev#/dev/}" >"$work/check" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
mine = [r for r in recs if r.get("dev") == sys.argv[2]]
print(len(recs))
print(len(mine))
print(" ".join(str(r["sector"]) for r in mine))
print(all(r["type"] == "error" and r["subtype"] == "io" and r["op"] == "read" and
          r["nr_sectors"] == 1 and r["error"] == "EIO" and r["errno"] == -5 and
          r["id"] == 0 and r["disk"] == sys.argv[3] for r in mine) if mine else False)
EOF
{ read -r total; read -r mine; read -r sectors; read -r fields; } <"$work/check"
expect_eq "100 records printed" "$total" 100
expect_eq "all 100 from our device" "$mine" 100
expect_eq "the 100 bad sectors read, in order" "$sectors" "$(seq -s ' ' 4096 2 4294)"
expect_eq "each record: io, read, 1 sector, EIO, id 0, disk name" "$fields" True

# --- device filter, ID, text output ---
"$BLKWATCH" --device "$dev" --id 42 --count 2 >"$work/out.txt" 2>"$work/err" &
pid=$!
wait_watching "$work/err" $pid
dd if="$dev" of=/dev/null bs=512 skip=4100 count=1 iflag=direct 2>/dev/null
dd if="$dev" of=/dev/null bs=4096 skip=$((4104 / 8)) count=1 iflag=direct 2>/dev/null
wait $pid
ok "blkwatch --device exits 0 after 2" $?
name=${dev#/dev/}
expect_eq "text line names disk, dev, subtype, op, sector, errno, id" \
	"$(sed -n 1p "$work/out.txt" | cut -d' ' -f2-)" "$name ($majmin) io read sector 4100 +1 EIO id 42"
expect_eq "a 4 KiB read is one record of 8 sectors" \
	"$(sed -n 2p "$work/out.txt" | cut -d' ' -f6-8)" "sector 4104 +8"

# --- subtype filter: medium only, so an EIO is not printed ---
"$BLKWATCH" --device "$dev" --subtype medium --json >"$work/filtered" 2>"$work/err" &
pid=$!
wait_watching "$work/err" $pid
dd if="$dev" of=/dev/null bs=512 skip=4110 count=1 iflag=direct 2>/dev/null
sleep 0.5
kill $pid; wait $pid
expect_eq "--subtype medium hides an I/O error" "$(wc -l <"$work/filtered")" 0

# --- a tiny queue under a burst: loss printed with its count ---
"$BLKWATCH" --device "$dev" --size 1 --json >"$work/lossy" 2>"$work/err" &
pid=$!
wait_watching "$work/err" $pid
kill -STOP $pid		# a monitor that does not read
dd if="$dev" of=/dev/null bs=512 skip=4096 count=200 iflag=direct conv=noerror 2>/dev/null
kill -CONT $pid
sleep 1
kill $pid; wait $pid
got=$(grep -c '"type":"error"' "$work/lossy")
lost=$(grep '"type":"loss"' "$work/lossy" | sed 's/.*"nr_lost":\([0-9]*\).*/\1/' | awk '{s+=$1} END {print s+0}')
expect_eq "records + reported loss = 200 errors" "$((got + lost))" 200
[ "$lost" -gt 0 ]
ok "loss was reported (got $got, lost $lost)" $?

# --- bad usage: exit 2 and a message that says what is wrong ---
usage() {	# description expected-text args...
	local desc=$1 text=$2
	shift 2
	"$BLKWATCH" "$@" >/dev/null 2>"$work/uerr"
	local st=$?
	[ $st -eq 2 ] && grep -q -- "$text" "$work/uerr"
	local r=$?
	[ $r -eq 0 ] || echo "# exit $st: $(cat "$work/uerr")"
	ok "$desc" $r
}
usage "unknown option" "unrecognized option" --bogus
usage "unknown source" "unknown source 'nope'" --source nope
usage "unknown device" "'nosuchdisk' is not a block device" --device nosuchdisk
usage "not a block device" "'/dev/null' is not a block device" --device /dev/null
usage "id out of range" "--id takes a number from 0 to 255" --id 256
usage "negative id" "--id takes a number" --id -1
usage "size zero" "--size takes a number of records" --size 0
usage "size too big" "--size takes a number of records" --size 99999999
usage "count not a number" "--count takes a positive number" --count 1x
usage "unknown subtype" "unknown subtype 'bogus'" --subtype medium,bogus
usage "stray argument" "unexpected argument" extra

# --- no privilege: exit 1, and the way out named ---
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$BLKWATCH" --source bpf >/dev/null 2>"$work/perr"
st=$?
expect_eq "unprivileged bpf source exits 1" $st 1
grep -q "CAP_BPF and CAP_PERFMON" "$work/perr" && grep -q -- "--source daemon" "$work/perr"
ok "unprivileged message names the capabilities and the daemon" $?

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]

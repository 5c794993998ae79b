#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# blkfault on the real kernel: bad sectors fail exactly as configured, and
# each failure is exactly one failed block request at exactly that sector
# (block:block_rq_error in a private tracefs instance, filtered on our
# device); good sectors and data work; the control channel switches faults
# live; every way of stopping leaves no loop device, mount or directory
# behind; bad options and missing prerequisites fail with a clear message.
#
# Usage: BLKFAULT=path/to/blkfault test_blkfault.sh   (TAP output; root)

set -u

BLKFAULT=${BLKFAULT:?set BLKFAULT to the blkfault binary}
TRACEFS=/sys/kernel/tracing
SECTORS=131072			# the default 64M

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
# check NAME ACTUAL EXPECTED
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "actual:   '$2'" "expected: '$3'"; fi
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -c /dev/fuse ] || skip_all "no /dev/fuse (modprobe fuse)"
[ -c /dev/loop-control ] || skip_all "no /dev/loop-control (modprobe loop)"

work=$(mktemp -d /tmp/test_blkfault.XXXXXX) || exit 1
# blkfault makes its mount point under TMPDIR: a private one shows leftovers.
export TMPDIR=$work/tmp
mkdir "$TMPDIR"
mounted_tracefs=
instance=
bf_pid=

cleanup() {
	[ -n "$bf_pid" ] && kill -TERM "$bf_pid" 2>/dev/null && wait "$bf_pid" 2>/dev/null
	if [ -n "$instance" ]; then
		echo 0 > "$instance/events/block/block_rq_error/enable" 2>/dev/null
		rmdir "$instance" 2>/dev/null
	fi
	[ -n "$mounted_tracefs" ] && umount "$TRACEFS" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# Helpers.

# bf_start ARGS...: start blkfault with stdin and stdout on FIFOs, wait for
# the ready line.  Sets bf_pid, bf_in, bf_out, dev, devnum, loopname.
bf_start() {
	rm -f "$work/in" "$work/out"
	mkfifo "$work/in" "$work/out"
	"$BLKFAULT" "$@" < "$work/in" > "$work/out" 2> "$work/err" &
	bf_pid=$!
	exec {bf_in}> "$work/in"
	exec {bf_out}< "$work/out"
	ready=
	read -r -t 20 -u "$bf_out" ready
	dev=${ready% *}
	devnum=${ready#* }
	loopname=${dev#/dev/}
	[[ $ready =~ ^/dev/loop[0-9]+\ [0-9]+:[0-9]+$ ]]
}

# bf_stop SIGNAL: stop blkfault, return its exit status.
bf_stop() {
	local rc
	kill -"$1" "$bf_pid"
	wait "$bf_pid" 2>/dev/null	# bash reports a SIGKILLed job on stderr
	rc=$?
	bf_pid=
	exec {bf_in}>&- {bf_out}<&-
	return $rc
}

# ctl COMMAND: send one control command, print its one-line reply.
ctl() {
	local reply=
	echo "$1" >&"$bf_in"
	read -r -t 10 -u "$bf_out" reply
	echo "$reply"
}

# rd SECTOR COUNT / wr SECTOR COUNT: one O_DIRECT request; prints ok or EIO.
rd() {
	if dd if="$dev" of=/dev/null bs=$(($2 * 512)) count=1 skip=$(($1 * 512)) \
	      iflag=direct,skip_bytes status=none 2>/dev/null; then echo ok; else echo EIO; fi
}
wr() {
	if dd if=/dev/urandom of="$dev" bs=$(($2 * 512)) count=1 seek=$(($1 * 512)) \
	      oflag=direct,seek_bytes conv=notrunc status=none 2>/dev/null; then echo ok; else echo EIO; fi
}

# A tracefs instance of our own: other tracers keep their buffers and events.
trace_setup() {
	if [ ! -e "$TRACEFS/events" ]; then
		mount -t tracefs nodev "$TRACEFS" || return 1
		mounted_tracefs=1
	fi
	instance=$TRACEFS/instances/test_blkfault.$$
	mkdir "$instance" || return 1
}
# trace_start: record failed requests of $dev only (the kernel's dev_t is major << 20 | minor).
trace_start() {
	local maj=${devnum%:*} min=${devnum#*:}
	echo 0 > "$instance/events/block/block_rq_error/enable"
	echo "dev == $(((maj << 20) | min))" > "$instance/events/block/block_rq_error/filter"
	echo > "$instance/trace"
	echo 1 > "$instance/events/block/block_rq_error/enable"
}
# trace_errors: "RWBS SECTOR+COUNT" per failed request since the last call.
trace_errors() {
	grep -v '^#' "$instance/trace" |
		awk '{ for (i = 4; i < NF; i++) if ($i == "+") {
			op = $(i - 3) ~ /W/ ? "W" : $(i - 3) ~ /R/ ? "R" : $(i - 3) ~ /D/ ? "D" : $(i - 3)
			print op, $(i - 1) "+" $(i + 1); next } }' |
		tr '\n' ';'
	echo > "$instance/trace"
}

loop_bound() { [ -e "/sys/block/$1/loop" ]; }
# ASan, LSan and UBSan reports (the test also runs against sanitizer builds).
sanitizer_report() { [[ $1 == *Sanitizer* || $1 == *"runtime error:"* ]]; }
# Loop devices backed by a blkfault image (other loop users do not count).
blkfault_devices() { grep -lx /image /sys/block/loop*/loop/backing_file 2>/dev/null | wc -l; }

# leftovers NAME: the device, its mount and its mount point are all gone.
check_gone() {
	local name=$1 what=
	loop_bound "$loopname" && what="$what $dev still bound;"
	losetup -a | grep -q "^$dev:" && what="$what losetup -a lists $dev;"
	grep -q blkfault /proc/mounts && what="$what blkfault mount in /proc/mounts;"
	[ -z "$(ls -A "$TMPDIR")" ] || what="$what left in TMPDIR: $(ls -A "$TMPDIR");"
	sanitizer_report "$(cat "$work/err")" && what="$what sanitizer report: $(cat "$work/err");"
	if [ -z "$what" ]; then ok "$name"; else not_ok "$name" "$what"; fi
}

# ---------------------------------------------------------------------------
# Options.

out=$("$BLKFAULT" --help 2>&1); rc=$?
check "--help exits 0" "$rc" 0
[[ $out == Usage:* ]] && ok "--help prints usage" || not_ok "--help prints usage" "$out"
out=$("$BLKFAULT" --version 2>&1); rc=$?
check "--version exits 0" "$rc" 0
[[ $out =~ ^blkfault\ [0-9] ]] && ok "--version prints the version" || not_ok "--version prints the version" "$out"

# bad_option WANTED-TEXT ARGS...: exits 2 (usage), says what is wrong, creates nothing.
bad_option() {
	local want=$1 out rc args
	shift
	args="$*"
	[ ${#args} -gt 50 ] && args="${args:0:47}..."
	out=$("$BLKFAULT" "$@" < /dev/null 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 2 ] && [[ $out == *"$want"* ]] && ! sanitizer_report "$out"; then
		ok "rejects $args ($want)"
	else
		not_ok "rejects $args ($want)" "exit $rc, stderr: $out"
	fi
}
bound_before=$(blkfault_devices)
bad_option "must not be zero" --size 0
bad_option "too large" --size 17G
bad_option "too large" --size 99999999999999999999
bad_option "unknown suffix" --size 1X
bad_option "multiple of 512" --size 1000
bad_option "not a number" --size -1
bad_option "not a number" --size ""
bad_option "START must be" --bad abc
bad_option "START must be" --bad -5
bad_option "COUNT must be at least 1" --bad 5+0
bad_option "mode must be" --bad 5:x
bad_option "give the mode once" --bad 5:r:w
bad_option "give the error once" --bad 5:EIO:ENODATA
bad_option "error one of" --bad 5:EAGAIN
bad_option "expected START" --bad "5 "
bad_option "past the end" --bad $SECTORS
bad_option "past the end" --bad $((SECTORS - 1))+2
bad_option "past the end" --size 1M --bad 2048
bad_option "wraps around" --bad 1+18446744073709551615
many=(); for i in $(seq 0 1024); do many+=(--bad "$i"); done
bad_option "too many bad ranges" "${many[@]}"
bad_option "expected START[+COUNT]:MS" --delay 5
bad_option "MS must be a number" --delay 5:x
bad_option "at most 60000" --delay 5+8:60001
bad_option "START must be" --delay :5
bad_option "past the end" --delay $SECTORS:5
many=(); for i in $(seq 0 64); do many+=(--delay "$i:1"); done
bad_option "too many slow ranges" "${many[@]}"
bad_option "unexpected argument" extra
bad_option "unrecognized option" --bogus
bad_option "-c is gone: use --control" -c
check "rejected options created no loop device" \
	"$(blkfault_devices)" "$bound_before"

# Prerequisites, each with the fix in the message; exit 1 (could not start).
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BLKFAULT" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $out == *"must run as root"* ]] && ok "refuses to run without root" ||
	not_ok "refuses to run without root" "exit $rc: $out"
out=$(unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0"' "$BLKFAULT" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $out == *"/dev/fuse is missing"*"modprobe fuse"* ]] && ok "no /dev/fuse: says modprobe fuse" ||
	not_ok "no /dev/fuse: says modprobe fuse" "exit $rc: $out"
out=$(unshare -m sh -c 'mount -t tmpfs none /dev && mknod /dev/fuse c 10 229 && exec "$0"' \
	"$BLKFAULT" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $out == *"/dev/loop-control is missing"*"modprobe loop"* ]] &&
	ok "no /dev/loop-control: says modprobe loop" ||
	not_ok "no /dev/loop-control: says modprobe loop" "exit $rc: $out"

out=$(TMPDIR=$work/missing "$BLKFAULT" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $out == *"cannot create a mount point in $work/missing"*"set TMPDIR"* ]] &&
	ok "unusable TMPDIR: says so" || not_ok "unusable TMPDIR: says so" "exit $rc: $out"
check "failed setups left no loop device" \
	"$(blkfault_devices)" "$bound_before"

# ---------------------------------------------------------------------------
# Faults on a live device.

trace_setup || { not_ok "tracefs instance" "cannot set up $TRACEFS"; echo "1..$n"; exit 1; }

if ! bf_start --bad 40000 --bad 50000+8:w --bad 60000+8:r --control; then
	not_ok "device ready" "ready line: '$ready'" "stderr: $(cat "$work/err")"
	echo "1..$n"
	exit 1
fi
ok "ready line: $ready"
IFS=: read -r hexmaj hexmin < <(stat -c '%t:%T' "$dev")
check "ready line names the device's number" "$((16#$hexmaj)):$((16#$hexmin))" "$devnum"
check "device size is 64M" "$(blockdev --getsize64 "$dev")" $((64 << 20))
check "logical block size is 512" "$(blockdev --getss "$dev")" 512
trace_start

check "512-byte read of bad sector fails" "$(rd 40000 1)" EIO
check "... as one failed request at exactly that sector" "$(trace_errors)" "R 40000+1;"
check "read of the sector before succeeds" "$(rd 39999 1)" ok
check "read of the sector after succeeds" "$(rd 40001 1)" ok
check "... with no failed request" "$(trace_errors)" ""
check "4 KiB read covering the bad sector fails" "$(rd 39996 8)" EIO
check "... as one failed request" "$(trace_errors)" "R 39996+8;"
check "aligned 4 KiB read starting at it fails" "$(rd 40000 8)" EIO
check "read-write bad sector fails to write" "$(wr 40000 1)" EIO
check "... as one failed request" "$(trace_errors)" "R 40000+8;W 40000+1;"

check "write to write-bad range fails" "$(wr 50007 1)" EIO
check "... as one failed request" "$(trace_errors)" "W 50007+1;"
check "read of write-bad range succeeds" "$(rd 50000 8)" ok
check "write to read-bad range succeeds" "$(wr 60000 8)" ok
check "read of read-bad range fails" "$(rd 60003 1)" EIO
check "... as one failed request" "$(trace_errors)" "R 60003+1;"

# Data: what is written reads back; what was never written reads as zeros.
head -c 4096 /dev/urandom > "$work/pattern"
dd if="$work/pattern" of="$dev" bs=4096 seek=$((70000 * 512)) oflag=direct,seek_bytes status=none
dd if="$dev" of="$work/back" bs=4096 count=1 skip=$((70000 * 512)) iflag=direct,skip_bytes status=none
cmp -s "$work/pattern" "$work/back" && ok "written data reads back" || not_ok "written data reads back"
check "never-written sectors read as zeros" \
	"$(dd if="$dev" bs=4096 count=1 skip=$((80000 * 512)) iflag=direct,skip_bytes status=none | od -An -v -tx1 | tr -d ' \n' | tr -d 0)" ""
if blkdiscard -o $((70000 * 512)) -l 4096 "$dev" 2>/dev/null; then
	check "discarded sectors read as zeros" \
		"$(dd if="$dev" bs=4096 count=1 skip=$((70000 * 512)) iflag=direct,skip_bytes status=none | od -An -v -tx1 | tr -d ' \n' | tr -d 0)" ""
else
	not_ok "discard of good sectors succeeds"
fi
check "discard of a write-bad range fails" \
	"$(blkdiscard -o $((50000 * 512)) -l 4096 "$dev" 2>/dev/null && echo ok || echo EIO)" EIO
trace_errors > /dev/null

# A large write: its bad sector must fail it even though FUSE splits big writes.
check "control: bad 2040 w" "$(ctl 'bad 2040 w')" ok
check "1 MiB write with a bad last-but-some sector fails" \
	"$(dd if=/dev/zero of="$dev" bs=1M count=1 oflag=direct status=none 2>/dev/null && echo ok || echo EIO)" EIO
check "control: clear 2040" "$(ctl 'clear 2040')" ok
check "... and succeeds once cleared" \
	"$(dd if=/dev/zero of="$dev" bs=1M count=1 oflag=direct status=none 2>/dev/null && echo ok || echo EIO)" ok
trace_errors > /dev/null

# ---------------------------------------------------------------------------
# Control channel.

check "control: bad 45000+2 r" "$(ctl 'bad 45000+2 r')" ok
check "new read-bad sector fails to read" "$(rd 45001 1)" EIO
check "... as one failed request" "$(trace_errors)" "R 45001+1;"
check "new read-bad sector still writes" "$(wr 45001 1)" ok
check "control: list" "$(ctl list)" "ok 40000+1:rw 50000+8:w 60000+8:r 45000+2:r"
check "control: clear 45000 (splits the range)" "$(ctl 'clear 45000')" ok
check "cleared sector reads" "$(rd 45000 1)" ok
check "the rest of the range still fails" "$(rd 45001 1)" EIO
check "... as one failed request" "$(trace_errors)" "R 45001+1;"
check "control: list after split" "$(ctl list)" "ok 40000+1:rw 50000+8:w 60000+8:r 45001+1:r"
check "control: bad 46000+4:w" "$(ctl 'bad 46000+4:w')" ok
check "control: clear 59990+20 (cuts the front of 60000+8)" "$(ctl 'clear 59990+20')" ok
check "control: list after cut" "$(ctl list)" "ok 40000+1:rw 50000+8:w 45001+1:r 46000+4:w"
check "control: bad with two modes rejected" "$(ctl 'bad 1:r w')" "error: give the mode once"
check "control: bad with two errors rejected" "$(ctl 'bad 1 EIO enodata')" "error: give the error once"
check "control: range past the end rejected" "$(ctl "bad $SECTORS")" \
	"error: range goes past the end of the device"
check "control: bad mode rejected" "$(ctl 'bad 1 x')" \
	"error: mode must be r, w or rw, error one of EIO, ETIMEDOUT, ENOSPC, ENOLINK, EREMOTEIO, EBADE, ENODATA, EILSEQ, ENOMEM, EBUSY, EOPNOTSUPP"
check "control: unknown command rejected" "$(ctl 'frobnicate')" \
	"error: unknown command or wrong arguments (bad SPEC [MODE] [ERROR], clear [SPEC], delay SPEC MS, nodelay, list, stats, quit)"
check "control: overlong line rejected" "$(ctl "bad $(printf '%0300d' 1)")" "error: line longer than 256 bytes"
check "control: still works after that" "$(ctl list)" "ok 40000+1:rw 50000+8:w 45001+1:r 46000+4:w"
# Every EIO so far, and nothing else: 6 failed reads; 2 writes, 1 discard
# and 1 large write failed.
stats=$(ctl stats)
check "control: stats counts the injected errors" \
	"$(echo "$stats" | sed -E 's/reads=[0-9]+ /reads=N /; s/writes=[0-9]+ /writes=N /')" \
	"ok reads=N read_errors=6 writes=N write_errors=4 delayed=0"
check "control: clear" "$(ctl clear)" ok
check "control: list is empty" "$(ctl list)" ok
check "former bad sector reads after clear" "$(rd 40000 1)" ok
check "former write-bad range writes after clear" "$(wr 50000 8)" ok
check "no failed request after clear" "$(trace_errors)" ""

# Slow sectors: answered late, but successfully.  Only a lower bound on the
# time is checked (a sleep lasts at least that long); the count is exact.
check "control: delay 30000+8 300" "$(ctl 'delay 30000+8 300')" ok
check "control: list shows the slow range" "$(ctl list)" "ok delay=30000+8:300"
t0=$(date +%s%N)
check "read of a slow sector succeeds" "$(rd 30004 1)" ok
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -ge 300 ] && ok "... after at least 300 ms" ||
	not_ok "... after at least 300 ms" "took $(( (t1 - t0) / 1000000 )) ms"
check "write of a slow sector succeeds" "$(wr 30000 8)" ok
check "read next to the slow range succeeds" "$(rd 30008 1)" ok
check "... with no failed request" "$(trace_errors)" ""
check "control: stats counts the delayed requests" \
	"$(ctl stats | sed -E 's/.* delayed=/delayed=/')" "delayed=2"
check "control: delay with a bad MS rejected" "$(ctl 'delay 1 x')" \
	"error: MS must be a number of milliseconds"
check "control: delay above 60000 ms rejected" "$(ctl 'delay 1 60001')" \
	"error: MS must be at most 60000"
check "control: delay past the end rejected" "$(ctl "delay $SECTORS 5")" \
	"error: range goes past the end of the device"
check "control: nodelay" "$(ctl nodelay)" ok
check "control: list is empty again" "$(ctl list)" ok
check "former slow sector reads" "$(rd 30004 1)" ok
check "... without a delay" "$(ctl stats | sed -E 's/.* delayed=/delayed=/')" "delayed=2"

# The same in buffered loop mode, blkfault's fallback where the kernel
# refuses direct I/O on the FUSE file.
echo "# loop direct I/O as set up: $(cat "/sys/block/$loopname/loop/dio")"
if losetup --direct-io=off "$dev" && [ "$(cat "/sys/block/$loopname/loop/dio")" = 0 ]; then
	check "buffered: control: bad 40000" "$(ctl 'bad 40000')" ok
	check "buffered: bad sector fails to read" "$(rd 40000 1)" EIO
	check "buffered: bad sector fails to write" "$(wr 40000 1)" EIO
	check "buffered: ... as one failed request each" "$(trace_errors)" "R 40000+1;W 40000+1;"
	check "buffered: good sector reads" "$(rd 40001 1)" ok
	check "buffered: control: bad 2040 w" "$(ctl 'bad 2040 w')" ok
	check "buffered: 1 MiB write with a bad sector near its end fails" \
		"$(dd if=/dev/zero of="$dev" bs=1M count=1 oflag=direct status=none 2>/dev/null && echo ok || echo EIO)" EIO
	check "buffered: control: clear" "$(ctl clear)" ok
	trace_errors > /dev/null
else
	not_ok "switch the loop device to buffered I/O"
fi
echo 0 > "$instance/events/block/block_rq_error/enable"

bf_stop TERM; rc=$?
check "SIGTERM: exit status 0" "$rc" 0
check_gone "SIGTERM: loop device, mount and mount point gone"
check "nothing on stderr" "$(cat "$work/err")" ""

# ---------------------------------------------------------------------------
# Each error a range can fail with reaches the application and the block
# layer unchanged (errno_to_blk_status makes it the request's status).

errors=(EIO:5:"Input/output error" ETIMEDOUT:110:"Connection timed out"
	ENOSPC:28:"No space left on device" ENOLINK:67:"Link has been severed"
	EREMOTEIO:121:"Remote I/O error" EBADE:52:"Invalid exchange"
	ENODATA:61:"No data available" EILSEQ:84:"Invalid or incomplete multibyte or wide character"
	ENOMEM:12:"Cannot allocate memory" EBUSY:16:"Device or resource busy"
	EOPNOTSUPP:95:"Operation not supported")
args=()
want_list=ok
for i in "${!errors[@]}"; do
	name=${errors[i]%%:*}
	args+=(--bad "$(((i + 1) * 1000)):r:$name")
	want_list+=" $(((i + 1) * 1000))+1:r$([ "$name" = EIO ] || echo ":$name")"
done
want_list+=" 20000+1:w:ENODATA"
if bf_start "${args[@]}" --bad 20000:w:enodata --control; then
	trace_start
	for i in "${!errors[@]}"; do
		IFS=: read -r name num text <<< "${errors[i]}"
		sector=$(((i + 1) * 1000))
		msg=$(LC_ALL=C dd if="$dev" of=/dev/null bs=512 count=1 skip=$sector iflag=direct status=none 2>&1)
		check "$name: the reader gets it" "${msg##*: }" "$text"
		check "$name: one failed request with it" \
			"$(grep -v '^#' "$instance/trace" | awk '{ for (i = 4; i < NF; i++) if ($i == "+") print $(i - 1), $NF }')" \
			"$sector [-$num]"
		echo > "$instance/trace"
	done
	msg=$(LC_ALL=C dd if=/dev/zero of="$dev" bs=512 count=1 seek=20000 oflag=direct status=none 2>&1)
	check "ENODATA on write: the writer gets it" "${msg##*: }" "No data available"
	check "control: list names errors other than EIO" "$(ctl list)" "$want_list"
	echo 0 > "$instance/events/block/block_rq_error/enable"
	bf_stop TERM; rc=$?
	check "error codes: exit status 0" "$rc" 0
else
	not_ok "error codes: device ready" "$(cat "$work/err")"
fi

# ---------------------------------------------------------------------------
# Every way of stopping cleans up.

for sig in INT HUP; do
	if bf_start --bad 100; then
		rd 100 1 > /dev/null
		bf_stop $sig; rc=$?
		check "SIG$sig: exit status 0" "$rc" 0
		check_gone "SIG$sig: loop device, mount and mount point gone"
	else
		not_ok "SIG$sig: device ready" "$(cat "$work/err")"
	fi
done

if bf_start --until-stdin-eof; then
	exec {bf_in}>&-
	wait "$bf_pid"; rc=$?
	bf_pid=
	exec {bf_out}<&-
	check "stdin EOF with --until-stdin-eof: exit status 0" "$rc" 0
	check_gone "stdin EOF: loop device, mount and mount point gone"
else
	not_ok "--until-stdin-eof: device ready" "$(cat "$work/err")"
fi

if bf_start --control; then
	check "control: quit" "$(ctl quit)" ok
	wait "$bf_pid"; rc=$?
	bf_pid=
	exec {bf_in}>&- {bf_out}<&-
	check "quit: exit status 0" "$rc" 0
	check_gone "quit: loop device, mount and mount point gone"
else
	not_ok "quit: device ready" "$(cat "$work/err")"
fi

# SIGKILL: the kernel cleans up (autoclear loop device, private mount namespace).
if bf_start --bad 100; then
	rd 100 1 > /dev/null
	bf_stop KILL
	for i in $(seq 100); do loop_bound "$loopname" || break; sleep 0.05; done
	check_gone "SIGKILL: loop device, mount and mount point gone"
else
	not_ok "SIGKILL: device ready" "$(cat "$work/err")"
fi

# Someone still holds the device: blkfault exits and warns, the kernel
# detaches the device when the holder lets go.
if bf_start; then
	exec {holder}< "$dev"
	bf_stop TERM; rc=$?
	check "held device: exit status 0" "$rc" 0
	[[ $(cat "$work/err") == *"still open by another process"* ]] && ok "held device: warns" ||
		not_ok "held device: warns" "stderr: $(cat "$work/err")"
	exec {holder}<&-
	for i in $(seq 100); do loop_bound "$loopname" || break; sleep 0.05; done
	check_gone "held device: detached once the holder closed it"
else
	not_ok "held device: device ready" "$(cat "$work/err")"
fi

echo "1..$n"
[ $failed -eq 0 ]

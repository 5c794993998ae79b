# SPDX-License-Identifier: GPL-2.0-only
#
# Scenarios run in the patched-kernel guest (sourced by guest-init, busybox
# sh).  Each prints "@@BNK@@ PASS name" or "@@BNK@@ FAIL name detail".

INJECT=/sys/kernel/debug/block/notify_inject
WATCHES=/sys/kernel/debug/block/notify_watches
MARK_DEAD=/sys/kernel/debug/block/notify_mark_dead
FAKE=250:7	# a disk nobody has: injection does not need one

pass() { echo "@@BNK@@ PASS $*"; }
fail() { echo "@@BNK@@ FAIL $*"; }

# The kselftest: one result per test case (a skip is a failure here: this
# guest has everything the tests need).
selftest() {
	/bin/block_notify_test > /tmp/selftest.log 2>&1
	echo "selftest exit status $?"
	cat /tmp/selftest.log
	grep -E '^(not )?ok [0-9]+ ' /tmp/selftest.log > /tmp/selftest.tap
	while read -r line; do
		name=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ ([^ ]+).*/\2/')
		case "$line" in
		"not ok"*) fail "selftest:$name" ;;
		*"# SKIP"*) fail "selftest:$name skipped:${line#*# SKIP}" ;;
		*) pass "selftest:$name" ;;
		esac
	done < /tmp/selftest.tap
	[ -s /tmp/selftest.tap ] || fail "selftest:ran-no-test"
}

# Start blkwatch in the background; wait until it says it is watching.
bw_start() {	# out blkwatch-args...
	BW_OUT=$1
	shift
	blkwatch "$@" > "$BW_OUT" 2> "$BW_OUT.err" &
	BW_PID=$!
	i=0
	until grep -q "watching" "$BW_OUT.err" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 $BW_PID 2>/dev/null; then
			kill $BW_PID 2>/dev/null
			wait $BW_PID 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
}

# Wait (at most 30 s) for blkwatch to exit by itself (--count).
bw_wait() {
	i=0
	while kill -0 $BW_PID 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			kill $BW_PID
			wait $BW_PID
			return 1
		fi
		sleep 0.1
	done
	wait $BW_PID
}

# Wait (at most 30 s) until the output has a line matching $1.
bw_until() {
	i=0
	until grep -q "$1" "$BW_OUT"; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		sleep 0.1
	done
}

bw_stop() {
	kill $BW_PID 2>/dev/null
	wait $BW_PID 2>/dev/null
}

# Each of the ten original subtypes, injected, through blkwatch.
bw_subtypes() {
	errnos="110 28 67 121 52 61 84 12 16 5"	# ETIMEDOUT .. EIO on x86
	if ! bw_start /tmp/bw-sub --source watch_queue --json --count 10 --id 17; then
		fail "blkwatch:start $(cat /tmp/bw-sub.err)"
		return
	fi
	i=0
	for e in $errnos; do
		echo "$FAKE $((1000 + i)) 8 -$e" > $INJECT
		i=$((i + 1))
	done
	bw_wait || fail "blkwatch:ten-subtypes timed out: $(wc -l < /tmp/bw-sub) of 10 records"
	cat /tmp/bw-sub
	i=0
	for e in $errnos; do
		# Records from different CPUs may arrive in any order: find by sector.
		line=$(grep "\"sector\":$((1000 + i))," /tmp/bw-sub)
		case "$line" in
		*"\"dev\":\"$FAKE\""*"\"subtype_nr\":$((i + 1)),"*"\"id\":17,"*"\"nr_sectors\":8,"*"\"errno\":$e"*)
			pass "blkwatch:subtype-$((i + 1))" ;;
		*)
			fail "blkwatch:subtype-$((i + 1)) expected dev $FAKE subtype $((i + 1)) id 17 errno $e, got: '$line'" ;;
		esac
		i=$((i + 1))
	done
}

# A subtype filter, applied by the kernel.
bw_filter() {
	if ! bw_start /tmp/bw-filt --source watch_queue --json --count 1 --subtype medium --id 4; then
		fail "blkwatch:filter start: $(cat /tmp/bw-filt.err)"
		return
	fi
	echo "$FAKE 1 1 -110" > $INJECT	# timeout: filtered out
	echo "$FAKE 2 1 -61" > $INJECT		# medium
	bw_wait || fail "blkwatch:filter timed out"
	cat /tmp/bw-filt
	case "$(cat /tmp/bw-filt)" in
	*"\"subtype_nr\":6,\"sector\":2,\"id\":4,"*) pass "blkwatch:filter" ;;
	*) fail "blkwatch:filter expected one medium record at sector 2, got: $(cat /tmp/bw-filt)" ;;
	esac
}

# Counted loss through blkwatch, and closing the queue removes its watches.
bw_loss_and_close() {
	before=$(cat $WATCHES)
	if ! bw_start /tmp/bw-loss --source watch_queue --json --id 9; then
		fail "blkwatch:loss start: $(cat /tmp/bw-loss.err)"
		return
	fi
	during=$(cat $WATCHES)
	# One write posts 1000 with preemption off: the per-CPU buffer (64) overflows.
	echo "$FAKE 5 1 -5 1000" > $INJECT
	if bw_until '"type":"loss"'; then
		records=$(grep -c '"type":"error"' /tmp/bw-loss)
		lost=$(sed -n 's/.*"type":"loss","nr_lost":\([0-9]*\).*/\1/p' /tmp/bw-loss)
		if [ "$records" = 64 ] && [ "$lost" = 936 ]; then
			pass "blkwatch:counted-loss"
		else
			fail "blkwatch:counted-loss expected 64 records + 936 lost, got $records + $lost"
		fi
	else
		fail "blkwatch:counted-loss no loss record: $(tail -n 3 /tmp/bw-loss)"
	fi
	bw_stop
	after=$(cat $WATCHES)
	if [ "$during" = $((before + 1)) ] && [ "$after" = "$before" ]; then
		pass "blkwatch:close-removes-watch"
	else
		fail "blkwatch:close-removes-watch watches before/during/after: $before/$during/$after"
	fi
}

# Two watches on one disk: the library's fanout mode, one record per watch.
bw_fanout() {
	dev=$(cat /sys/block/loop0/dev)
	if ! bw_start /tmp/bw-fan --source watch_queue --json --count 2 -d loop0 -d loop0 --id 30; then
		fail "blkwatch:fanout start: $(cat /tmp/bw-fan.err)"
		return
	fi
	echo "$FAKE 7 1 -5" > $INJECT		# not watched
	echo "$dev 8 1 -5" > $INJECT
	bw_wait || fail "blkwatch:fanout timed out"
	cat /tmp/bw-fan
	if grep -q "\"dev\":\"$dev\".*\"sector\":8,\"id\":30," /tmp/bw-fan &&
	   grep -q "\"dev\":\"$dev\".*\"sector\":8,\"id\":31," /tmp/bw-fan &&
	   ! grep -q "\"sector\":7," /tmp/bw-fan; then
		pass "blkwatch:fanout"
	else
		fail "blkwatch:fanout expected $dev sector 8 with ids 30 and 31, got: $(cat /tmp/bw-fan)"
	fi
}

# A real medium error from scsi_debug, on a watched disk.
bw_scsi_medium() {
	disk=
	for d in /sys/block/sd*; do
		[ -e "$d" ] && grep -q scsi_debug "$d/device/model" 2>/dev/null && disk=${d##*/}
	done
	if [ -z "$disk" ]; then
		fail "blkwatch:scsi-medium no scsi_debug disk"
		return
	fi
	dev=$(cat /sys/block/$disk/dev)
	if ! bw_start /tmp/bw-scsi --source watch_queue --json --count 1 -d "$disk" --id 3; then
		fail "blkwatch:scsi-medium start: $(cat /tmp/bw-scsi.err)"
		return
	fi
	echo "$FAKE 9 1 -5" > $INJECT		# another disk: not watched
	# scsi_debug opts=2: reads of sectors 0x1234.. (4660) fail with a medium error.
	dd if=/dev/$disk of=/dev/null bs=512 skip=4660 count=1 iflag=direct 2>/dev/null &&
		fail "blkwatch:scsi-medium the read of sector 4660 did not fail"
	bw_wait || fail "blkwatch:scsi-medium timed out"
	cat /tmp/bw-scsi
	case "$(cat /tmp/bw-scsi)" in
	*"\"dev\":\"$dev\""*"\"subtype_nr\":6,\"sector\":4660,\"id\":3,"*"\"op\":\"read\""*)
		pass "blkwatch:scsi-medium" ;;
	*) fail "blkwatch:scsi-medium expected $dev medium sector 4660 id 3, got: $(cat /tmp/bw-scsi)" ;;
	esac
}

# Partitions: the kernel watches whole disks, so the library watches all of
# them and matches each partition's sector range itself (fanout mode).
bw_partition() {
	disk=
	for d in /sys/block/sd*; do
		[ -e "$d" ] && grep -q scsi_debug "$d/device/model" 2>/dev/null && disk=${d##*/}
	done
	[ -n "$disk" ] || { fail "blkwatch:partition no scsi_debug disk"; return; }
	dev=$(cat /sys/block/$disk/dev)
	# MBR: ${disk}1 = sectors 2048-4095, ${disk}2 = 4096-16383 (has 4660, bad).
	{
		dd if=/dev/zero bs=446 count=1 2>/dev/null
		printf '\000\000\000\000\203\000\000\000\000\010\000\000\000\010\000\000'
		printf '\000\000\000\000\203\000\000\000\000\020\000\000\000\060\000\000'
		dd if=/dev/zero bs=32 count=1 2>/dev/null
		printf '\125\252'
	} > /tmp/mbr
	dd if=/tmp/mbr of=/dev/$disk bs=512 count=1 conv=fsync 2>/dev/null &&
		blockdev --rereadpt /dev/$disk || { fail "blkwatch:partition cannot partition $disk"; return; }
	i=0
	while [ ! -b /dev/${disk}2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if ! bw_start /tmp/bw-part --source watch_queue --json --count 1 \
			-d ${disk}1 -d ${disk}2 --id 40; then
		fail "blkwatch:partition start: $(cat /tmp/bw-part.err)"
		return
	fi
	# Sector 564 of the second partition is sector 4660 of the disk.
	dd if=/dev/${disk}2 of=/dev/null bs=512 skip=564 count=1 iflag=direct 2>/dev/null &&
		fail "blkwatch:partition the read did not fail"
	bw_wait || fail "blkwatch:partition timed out"
	cat /tmp/bw-part
	case "$(cat /tmp/bw-part)" in
	*"\"dev\":\"$dev\""*"\"subtype_nr\":6,\"sector\":4660,\"id\":41,"*)
		pass "blkwatch:partition" ;;
	*) fail "blkwatch:partition expected $dev sector 4660 with the second partition's id 41, got: $(cat /tmp/bw-part)" ;;
	esac
}

# A real timeout: null_blk's fault injection makes the next request time
# out, and the block layer's timeout handling completes it with
# BLK_STS_TIMEOUT after the queue's io_timeout.
bw_timeout() {
	nb=/sys/kernel/config/nullb/bntmo
	mkdir $nb && echo 16 > $nb/size && echo 512 > $nb/blocksize &&
		echo 1 > $nb/power || {
		fail "blkwatch:null_blk-timeout cannot set up null_blk"
		return
	}
	i=0
	while [ ! -b /dev/bntmo ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	dev=$(cat /sys/block/bntmo/dev)
	echo 1000 > /sys/block/bntmo/queue/io_timeout
	if ! [ -d $nb/timeout_inject ]; then
		fail "blkwatch:null_blk-timeout no timeout_inject (CONFIG_BLK_DEV_NULL_BLK_FAULT_INJECTION)"
	elif ! bw_start /tmp/bw-tmo --source watch_queue --json --count 1 -d bntmo --id 6; then
		fail "blkwatch:null_blk-timeout start: $(cat /tmp/bw-tmo.err)"
	else
		echo 0 > $nb/timeout_inject/verbose	# no stack dump on the console
		echo 1 > $nb/timeout_inject/interval
		echo 1 > $nb/timeout_inject/times
		echo 100 > $nb/timeout_inject/probability
		dd if=/dev/bntmo of=/dev/null bs=4096 skip=10 count=1 iflag=direct 2>/dev/null &&
			fail "blkwatch:null_blk-timeout the read did not fail"
		bw_wait || fail "blkwatch:null_blk-timeout timed out"
		cat /tmp/bw-tmo
		case "$(cat /tmp/bw-tmo)" in
		*"\"dev\":\"$dev\""*"\"subtype_nr\":1,\"sector\":80,\"id\":6,"*"\"errno\":110"*)
			pass "blkwatch:null_blk-timeout" ;;
		*) fail "blkwatch:null_blk-timeout expected $dev timeout at sector 80 id 6, got: $(cat /tmp/bw-tmo)" ;;
		esac
	fi
	echo 0 > $nb/power
	rmdir $nb
}

# A flood of real errors completed in hard interrupt context (null_blk's
# hrtimer mode) while blkwatch reads: delivered or counted, never silent.
bw_flood() {
	nb=/sys/kernel/config/nullb/bnflood
	mkdir $nb && echo 64 > $nb/size && echo 512 > $nb/blocksize &&
		echo 2 > $nb/irqmode && echo 20000 > $nb/completion_nsec &&
		echo "+0-131071" > $nb/badblocks && echo 1 > $nb/power || {
		fail "blkwatch:flood cannot set up null_blk"
		return
	}
	i=0
	while [ ! -b /dev/bnflood ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if ! bw_start /tmp/bw-flood --source watch_queue --json --size 64 -d bnflood; then
		fail "blkwatch:flood start: $(cat /tmp/bw-flood.err)"
		return
	fi
	n=2000
	dd if=/dev/bnflood of=/dev/null bs=4096 count=$n iflag=direct conv=noerror 2>/dev/null
	bw_until '"sector":'$(( (n - 1) * 8 ))',' || true
	sleep 1
	bw_stop
	records=$(grep -c '"type":"error"' /tmp/bw-flood)
	lost=$(sed -n 's/.*"type":"loss","nr_lost":\([0-9]*\).*/\1/p' /tmp/bw-flood |
		awk '{ s += $1 } END { print s + 0 }')
	notes=$(grep -c '"nr_lost":null' /tmp/bw-flood)
	echo "flood: $n errors, $records records, $lost counted lost, $notes loss notes"
	if [ "$records" -gt 0 ] && [ $((records + lost)) -le $n ] &&
	   { [ $((records + lost)) -eq $n ] || [ "$notes" -gt 0 ]; }; then
		pass "blkwatch:flood-hardirq"
	else
		fail "blkwatch:flood-hardirq $n errors but $records records, $lost counted lost, $notes loss notes"
	fi
	echo 0 > $nb/power
	rmdir $nb
}

# Wait (at most 30 s) until the output has $2 lines matching $1.
bw_until_n() {
	i=0
	until [ "$(grep -c "$1" "$BW_OUT")" -ge "$2" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		sleep 0.1
	done
}

# "subtype:sector" of each record of device $2 in blkwatch's output $1.
# Lifecycle lines have no sector: a capacity's (bytes) in sectors, else 0.
life_of() {
	grep "\"dev\":\"$2\"" "$1" | sed -n \
		-e 's/.*"subtype_nr":\([0-9]*\),"sector":\([0-9]*\),.*/\1 \2/p' \
		-e 's/.*"subtype_nr":\([0-9]*\),"class":"lifecycle".*"capacity":\([0-9]*\),.*/\1 \2 bytes/p' \
		-e 's/.*"subtype_nr":\([0-9]*\),"class":"lifecycle".*/\1 0/p' |
		awk '{ printf "%s:%d ", $1, $3 == "bytes" ? $2 / 512 : $2 }'
}

# The disk's life on a loop device, as losetup and blockdev make it, through
# a watch on every device: attach (media changed, capacity from 0), grow the
# file and re-read its size, read-only, an error, writable again, detach
# (media changed), and marked dead (debugfs; loop5 is not used after this).
bw_lifecycle() {
	lo=loop5
	dev=$(cat /sys/block/$lo/dev)
	truncate -s 1M /tmp/life.img
	if ! bw_start /tmp/bw-life --source watch_queue --json --id 50; then
		fail "blkwatch:lifecycle start: $(cat /tmp/bw-life.err)"
		return
	fi
	# On one CPU: records are in order per CPU (their buffers are).
	taskset 1 sh -c "losetup /dev/$lo /tmp/life.img && truncate -s 3M /tmp/life.img &&
		losetup -c /dev/$lo && blockdev --setro /dev/$lo &&
		echo '$dev 100 8 -5' > $INJECT && blockdev --setrw /dev/$lo &&
		losetup -d /dev/$lo && echo $dev > $MARK_DEAD" ||
		fail "blkwatch:lifecycle a losetup, blockdev or debugfs command failed"
	bw_until_n "\"dev\":\"$dev\"" 8 || true
	bw_stop
	cat /tmp/bw-life
	want="51:0 52:2048 52:6144 53:0 10:100 54:0 51:0 50:0 "
	got=$(life_of /tmp/bw-life "$dev")
	if [ "$got" = "$want" ]; then
		pass "blkwatch:lifecycle-loop"
	else
		fail "blkwatch:lifecycle-loop expected '$want' (subtype:sector) for $dev, got '$got'"
	fi
	rm -f /tmp/life.img
}

# A disk that appears and goes away (null_blk through configfs): a watch on
# every device sees it added and removed; a watch on the disk ends with the
# removal record, and the kernel drops that watch while blkwatch still runs.
bw_add_remove() {
	nb=/sys/kernel/config/nullb/bnlife
	if ! bw_start /tmp/bw-all --source watch_queue --json --id 60; then
		fail "blkwatch:add-remove start: $(cat /tmp/bw-all.err)"
		return
	fi
	ALL_PID=$BW_PID
	mkdir $nb && echo 16 > $nb/size && echo 1 > $nb/power || {
		fail "blkwatch:add-remove cannot set up null_blk"
		kill $ALL_PID; wait $ALL_PID
		return
	}
	i=0
	while [ ! -b /dev/bnlife ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	dev=$(cat /sys/block/bnlife/dev)
	if ! bw_start /tmp/bw-one --source watch_queue --json -d bnlife --id 61; then
		fail "blkwatch:add-remove start -d: $(cat /tmp/bw-one.err)"
		kill $ALL_PID; wait $ALL_PID
		return
	fi
	before=$(cat $WATCHES)
	echo 0 > $nb/power
	bw_until '"subtype_nr":49' || true
	after=$(cat $WATCHES)
	bw_stop
	BW_OUT=/tmp/bw-all BW_PID=$ALL_PID
	bw_until "\"dev\":\"$dev\".*\"subtype_nr\":49" || true
	bw_stop
	rmdir $nb
	cat /tmp/bw-all /tmp/bw-one
	got=$(life_of /tmp/bw-all "$dev")
	if [ "$got" = "48:0 49:0 " ]; then
		pass "blkwatch:added-removed"
	else
		fail "blkwatch:added-removed expected '48:0 49:0 ' for $dev on the watch on every device, got '$got'"
	fi
	if [ "$(life_of /tmp/bw-one "$dev")" = "49:0 " ] &&
	   grep -q "\"dev\":\"$dev\".*\"subtype_nr\":49,.*\"id\":61[,}]" /tmp/bw-one &&
	   [ "$after" = $((before - 1)) ]; then
		pass "blkwatch:removal-ends-disk-watch"
	else
		fail "blkwatch:removal-ends-disk-watch expected one removal record with id 61 and watches $before -> $((before - 1)), got '$(cat /tmp/bw-one)', watches $before -> $after"
	fi
}

# The kernel ends a watch on a disk that goes away (null_blk powered off:
# del_gendisk; a loop disk is only removed by LOOP_CTL_REMOVE, which this
# guest has no command for, and losetup -d leaves the disk).  blkwatch
# shows it as with the bpf source: one "removed" line with the watch's ID,
# nothing after it (the kernel's removal notice is not a record), and it
# goes on running until stopped, exit 0.
bw_removal_ends_like_bpf() {
	nb=/sys/kernel/config/nullb/bnend
	mkdir $nb && echo 16 > $nb/size && echo 1 > $nb/power || {
		fail "blkwatch:removal-like-bpf cannot set up null_blk"
		return
	}
	i=0
	while [ ! -b /dev/bnend ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	dev=$(cat /sys/block/bnend/dev)
	before=$(cat $WATCHES)
	if ! bw_start /tmp/bw-end --source watch_queue -d bnend --id 62; then
		fail "blkwatch:removal-like-bpf start: $(cat /tmp/bw-end.err)"
		rmdir $nb
		return
	fi
	during=$(cat $WATCHES)
	echo 0 > $nb/power
	bw_until "bnend ($dev) removed id 62" || true
	after=$(cat $WATCHES)
	running=no
	kill -0 $BW_PID 2>/dev/null && running=yes
	kill $BW_PID
	wait $BW_PID
	status=$?
	rmdir $nb
	cat /tmp/bw-end /tmp/bw-end.err
	lines=$(wc -l < /tmp/bw-end)
	if [ "$lines" = 1 ] && grep -q "^[^ ]* bnend ($dev) removed id 62\$" /tmp/bw-end &&
	   [ "$running" = yes ] && [ "$status" = 0 ] &&
	   [ "$during" = $((before + 1)) ] && [ "$after" = "$before" ] &&
	   [ "$(grep -vc watching /tmp/bw-end.err)" = 0 ]; then
		pass "blkwatch:removal-like-bpf"
	else
		fail "blkwatch:removal-like-bpf expected one line 'bnend ($dev) removed id 62', blkwatch running until stopped (exit 0), watches $before -> $((before + 1)) -> $before; got $lines line(s) '$(cat /tmp/bw-end)', running $running, exit $status, watches $before -> $during -> $after, stderr '$(cat /tmp/bw-end.err)'"
	fi
}

run_all() {
	selftest
	if ! command -v blkwatch > /dev/null; then
		fail "blkwatch:missing (not built into the initramfs)"
		return
	fi
	bw_subtypes
	bw_filter
	bw_loss_and_close
	bw_fanout
	bw_scsi_medium
	bw_partition
	bw_timeout
	bw_flood
	bw_lifecycle
	bw_add_remove
	bw_removal_ends_like_bpf
}

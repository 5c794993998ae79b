#!/bin/bash
# blkwatch's lifecycle lines and JSON on a loop device of the test's own
# (added with LOOP_CTL_ADD from 230 up, resized with losetup -c, removed),
# --subtype with class names, and --follow's answers to what it cannot do.
# TAP output.  Needs root and /dev/loop-control; BLKWATCH names the binary.
set -u

. "$(dirname "$0")/lib-tap.sh"

work=$(mktemp -d)
pids=()
nr=
loopctl() {	# LOOP_CTL_ADD (0x4C80) or LOOP_CTL_REMOVE (0x4C81) of loop number $2
	python3 -c 'import fcntl, os, sys
fd = os.open("/dev/loop-control", os.O_RDWR)
print(fcntl.ioctl(fd, int(sys.argv[1], 0), int(sys.argv[2])))' "$1" "$2" >/dev/null 2>&1
}
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ -n "$nr" ]; then
		losetup -d "/dev/loop$nr" 2>/dev/null
		loopctl 0x4C81 "$nr"
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "TAP version 13"
[ "$(id -u)" -eq 0 ] || skip "needs root"

wait_line() {		# file fixed-string: until it is there (10 s)
	for _ in $(seq 100); do grep -qF -- "$2" "$1" && return 0; sleep 0.1; done
	return 1
}

for mode in text json; do
	opt=; [ $mode = json ] && opt=--json
	# shellcheck disable=SC2086
	"$BLKWATCH" --subtype lifecycle $opt >"$work/$mode" 2>"$work/$mode.err" &
	pids+=($!)
	wait_watching "$work/$mode.err" $! || cat "$work/$mode.err"
done
for try in $(seq 230 299); do loopctl 0x4C80 "$try" && { nr=$try; break; }; done
[ -n "$nr" ] || { echo "Bail out! no free loop number from 230"; exit 1; }
majmin=$(cat "/sys/block/loop$nr/dev")
wait_line "$work/text" "loop$nr ($majmin) added"
truncate -s 1M "$work/img"
losetup "/dev/loop$nr" "$work/img"
wait_line "$work/text" "capacity 0 -> 1048576"
truncate -s 2M "$work/img"
losetup -c "/dev/loop$nr"
wait_line "$work/text" "capacity 1048576 -> 2097152"
losetup -d "/dev/loop$nr"
wait_line "$work/text" "capacity 2097152 -> 0"
loopctl 0x4C81 "$nr" && removed=$nr
wait_line "$work/text" "loop$nr ($majmin) removed"
wait_line "$work/json" "\"subtype\":\"removed\""
nr=

expect_in "text: added" "$work/text" "loop$removed ($majmin) added id 0"
expect_in "text: attached, in bytes" "$work/text" "loop$removed ($majmin) capacity 0 -> 1048576 id 0"
expect_in "text: resized" "$work/text" "loop$removed ($majmin) capacity 1048576 -> 2097152 id 0"
expect_in "text: removed, by the name it had" "$work/text" "loop$removed ($majmin) removed id 0"
expect_in "json: added" "$work/json" \
	"{\"type\":\"lifecycle\",\"dev\":\"$majmin\",\"disk\":\"loop$removed\",\"subtype\":\"added\",\"subtype_nr\":48,\"class\":\"lifecycle\",\"id\":0,"
expect_in "json: resized, both sizes in bytes" "$work/json" \
	"\"subtype\":\"capacity\",\"subtype_nr\":52,\"class\":\"lifecycle\",\"id\":0,"
expect_in "json: capacity and old_capacity" "$work/json" "\"capacity\":2097152,\"old_capacity\":1048576}"
ok "text: no error lines with --subtype lifecycle" \
	"$(! grep -q " EIO \| sector " "$work/text"; echo $?)"

# --follow: only with --device, and only a disk with a WWN or serial (a loop device has neither).
"$BLKWATCH" --follow >/dev/null 2>"$work/e1"
ok "--follow without --device: exit 2" "$([ $? -eq 2 ]; echo $?)"
expect_in "and it says what --follow needs" "$work/e1" "--follow needs 1 to 15 --device options"
truncate -s 1M "$work/img2"
loopdev=$(losetup -f --show "$work/img2")
"$BLKWATCH" --device "$loopdev" --follow >/dev/null 2>"$work/e2"
ok "--follow on a disk without identity: exit 1" "$([ $? -eq 1 ]; echo $?)"
expect_in "and it says why" "$work/e2" "the disk has no WWN or serial to follow it by"
losetup -d "$loopdev"
"$BLKWATCH" --subtype lifecycle,nonsense >/dev/null 2>"$work/e3"
ok "--subtype with an unknown name: exit 2" "$([ $? -eq 2 ]; echo $?)"

echo "1..$n"
exit $((failed > 0))

#!/bin/bash
# blkwatch --identity through blknotifyd for a user without privilege, on a
# real ext4 on a real blkfault device: identity is looked up by the client
# (sysfs and udev need no privilege); file names come from the daemon's
# GET_IMPACT only when its policy allows (file_names; root always); and the
# daemon's watch-removal records are printed ("watch N ended: ESTALE").
# TAP output.  Needs root, /dev/fuse, /dev/loop-control, mkfs.ext4, debugfs,
# useradd, setpriv.  BLKWATCH, BLKFAULT and BLKNOTIFYD name the binaries.
set -u

. "$(dirname "$0")/lib-outputs.sh"	# ok, expect_*, skip, wait_*, $work, $pids, cleanup
expect_not_in() {	# description file text
	! grep -qF -- "$3" "$2" || { echo "# $1: '$3' in:"; sed 's/^/#   /' "$2"; }
	ok "$1" "$(! grep -qF -- "$3" "$2"; echo $?)"
}

echo "TAP version 13"
[ "$(id -u)" -eq 0 ] || skip "needs root"

chmod 0711 "$work"
user=bnid$$
mnt=$work/mnt
daemonpid=
# Before lib-outputs.sh's cleanup removes $work: the mount in it, the device, the user.
cleanup_identity() {
	[ -n "$daemonpid" ] && { kill "$daemonpid" 2>/dev/null; wait "$daemonpid" 2>/dev/null; }
	umount "$mnt" 2>/dev/null
	[ -n "${BF_PID:-}" ] && { exec {BF[1]}>&- 2>/dev/null; wait "$BF_PID" 2>/dev/null; }
	[ -n "${reused:-}" ] && losetup -d "$reused" 2>/dev/null
	userdel "$user" 2>/dev/null
	groupdel "$user" 2>/dev/null
	cleanup
}
trap cleanup_identity EXIT

useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$user" ||
	{ echo "Bail out! useradd failed"; exit 1; }

# ext4 on the whole blkfault device, a file, and the device readable by the
# user's group: the daemon's policy lets the user watch it.
coproc BF { "$BLKFAULT" --control --size 64M; }
read -r dev majmin <&"${BF[0]}"
[ -b "$dev" ] || { echo "Bail out! blkfault gave no device"; exit 1; }
bf() { echo "$1" >&"${BF[1]}"; read -r reply <&"${BF[0]}"; [ "${reply%% *}" = ok ]; }
mkfs.ext4 -q -F -b 4096 "$dev" || { echo "Bail out! mkfs.ext4 failed"; exit 1; }
mkdir "$mnt" && mount -t ext4 "$dev" "$mnt" || { echo "Bail out! mount failed"; exit 1; }
mkdir "$mnt/private" && chmod 0700 "$mnt/private"
file=$mnt/private/data.db
dd if=/dev/urandom of="$file" bs=4096 count=16 status=none && sync
# The file's block 5 (bytes 20480..24575) on the device, in sectors.
block=$(debugfs -R "bmap <$(stat -c %i "$file")> 5" "$dev" 2>/dev/null)
sector=$((block * 8))
[ "$block" -gt 0 ] 2>/dev/null || { echo "Bail out! debugfs gave no block ($block)"; exit 1; }
bf "bad $sector+8 r" || { echo "Bail out! blkfault: $reply"; exit 1; }
chgrp "$user" "$dev" && chmod 0640 "$dev"
uuid=$(blkid -p -s UUID -o value "$dev")

start_daemon() {	# extra configuration lines
	mkdir -p "$work/d"
	chmod 0711 "$work/d"
	printf 'source = bpf\nsocket = %s\nsocket_mode = 0666\npin_path = none\nstate_file = %s\n%s\n' \
		"$work/d/sock" "$work/state" "$1" >"$work/d.conf"
	rm -f "$work/d/sock"
	"$BLKNOTIFYD" -c "$work/d.conf" 2>>"$work/daemon.err" &
	daemonpid=$!
	for _ in $(seq 200); do [ -S "$work/d/sock" ] && return 0; sleep 0.05; done
	return 1
}
stop_daemon() { kill "$daemonpid"; wait "$daemonpid"; daemonpid=; }

# One failed 4 KiB read of the file's block, seen by blkwatch --identity
# through the daemon as who ("root" or the user); output in $work/$2.
watch_one() {	# who name [blkwatch options]
	local who=$1 out=$work/$2 pid
	shift 2
	if [ "$who" = root ]; then
		"$BLKWATCH" --source daemon --socket "$work/d/sock" --device "$dev" --identity \
			--count 1 "$@" >"$out" 2>"$out.err" &
	else
		setpriv --reuid="$user" --regid="$user" --init-groups -- "$BLKWATCH" --source daemon \
			--socket "$work/d/sock" --device "$dev" --identity --count 1 "$@" \
			>"$out" 2>"$out.err" &
	fi
	pid=$!
	wait_watching "$out.err" $pid || { cat "$out.err"; return 1; }
	dd if="$dev" of=/dev/null bs=4096 skip=$block count=1 iflag=direct 2>/dev/null
	wait_exit $pid
}

start_daemon "" || { echo "Bail out! blknotifyd did not start"; cat "$work/daemon.err"; exit 1; }

# --- an unprivileged user: identity yes, file names refused by default ---
watch_one "$user" user.json --json
ok "unprivileged blkwatch --identity --source daemon exits 0" $?
expect_in "its record names the filesystem" "$work/user.json" "\"fs_type\":\"ext4\",\"fs_uuid\":\"$uuid\""
expect_in "and the mount" "$work/user.json" "\"mount\":\"$mnt\""
expect_in "its impact line follows" "$work/user.json" "{\"type\":\"impact\",\"dev\":\"$majmin\",\"sector\":$sector,\"nr_sectors\":8"
expect_in "file names refused: the line says so" "$work/user.json" \
	"\"error\":\"blknotifyd gives no file names (file_names)\""
expect_not_in "and names no file" "$work/user.json" "data.db"
expect_in "the refusal on stderr names the setting and the file" "$work/user.json.err" \
	"set file_names = watchers in $work/d.conf"

# --- root through the daemon: the file and its offset ---
watch_one root root.json --json
ok "root blkwatch --identity --source daemon exits 0" $?
expect_in "root gets the file's path from the daemon" "$work/root.json" "\"path\":\"$file\""
expect_in "and the offset in it" "$work/root.json" "\"file_offset\":20480,\"dev_offset\":$((sector * 512)),\"length\":4096}"

# --- file_names = watchers: the user gets them too (a directory it cannot read) ---
stop_daemon
start_daemon "file_names = watchers" || { echo "Bail out! blknotifyd did not restart"; exit 1; }
watch_one "$user" allowed.txt
ok "with file_names = watchers: exits 0" $?
expect_in "text: the identity line" "$work/allowed.txt" "  identity: fs_type=ext4 fs_uuid=$uuid mount=$mnt"
expect_in "text: the user gets the file the daemon named" "$work/allowed.txt" \
	"  impact: (mount $mnt) $file offset 20480 length 4096 (0 unnamed, 0 dropped)"
# Even then, only for disks the client may watch: GET_IMPACT on a raw
# connection (no watch) for the device once the user may no longer read it.
chmod 0600 "$dev"
# The system python: root's PATH may name one the user cannot run.
setpriv --reuid="$user" --regid="$user" --init-groups -- /usr/bin/python3 - "$work/d/sock" \
	"${majmin%:*}" "${majmin#*:}" "$sector" >"$work/raw" 2>&1 <<'EOF2'
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
def ask(t, seq, body):
    s.send(struct.pack("<IHHII", 0x644e4c42, 1, t, 16 + len(body), seq) + body)
    r = s.recv(65536)
    return struct.unpack_from("<H", r, 6)[0], r[16:]
ask(0x01, 1, struct.pack("<IIQ", 1, 0, 0))
t, body = ask(0x08, 2, struct.pack("<QQII", os.makedev(int(sys.argv[2]), int(sys.argv[3])),
                                   int(sys.argv[4]), 8, 0))
err = struct.unpack_from("<i", body)[0] if t == 0x83 else 0
print(hex(t), err, body[8:].rstrip(b"\0").decode(errors="replace"))
EOF2
chmod 0640 "$dev"
expect_in "a disk the user may not read: refused by the watch policy first" "$work/raw" \
	"0x83 -13 uid $(id -u "$user") may not read $dev"
expect_not_in "and nothing of its files" "$work/raw" "data.db"
stop_daemon

# --- an unknown file_names value is a configuration error that names the choices ---
printf 'file_names = everyone\n' >"$work/bad.conf"
"$BLKNOTIFYD" -c "$work/bad.conf" --check-config >/dev/null 2>"$work/bad.err"
ok "file_names = everyone: exit 2" "$([ $? -eq 2 ]; echo $?)"
expect_in "the message names the choices" "$work/bad.err" "is not one of privileged, watchers"

# --- the daemon ends a watch: the number names another disk (ESTALE) ---
start_daemon "" || { echo "Bail out! blknotifyd did not restart"; exit 1; }
for mode in text json; do
	opt=; [ $mode = json ] && opt=--json
	# shellcheck disable=SC2086
	setpriv --reuid="$user" --regid="$user" --init-groups -- "$BLKWATCH" --source daemon \
		--socket "$work/d/sock" --device "$dev" --id 7 $opt >"$work/ended.$mode" \
		2>"$work/ended.$mode.err" &
	pids+=($!)
	wait_watching "$work/ended.$mode.err" $! || cat "$work/ended.$mode.err"
done
umount "$mnt"
exec {BF[1]}>&-
wait "$BF_PID"
BF_PID=
truncate -s 1M "$work/secret.img" && chmod 0600 "$work/secret.img"
losetup "$dev" "$work/secret.img" && reused=$dev
chown root:disk "$dev" && chmod 0660 "$dev"	# what udev does for a new disk
for _ in $(seq 100); do
	grep -q "ended" "$work/ended.text" && grep -q "watch_ended" "$work/ended.json" && break
	sleep 0.1
done
expect_in "text: the watch's end is printed" "$work/ended.text" \
	"watch 7 ended: ESTALE (its device number names another disk now"
expect_in "json: a watch_ended object" "$work/ended.json" \
	"{\"type\":\"watch_ended\",\"id\":7,\"error\":\"ESTALE\",\"errno\":116,"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]

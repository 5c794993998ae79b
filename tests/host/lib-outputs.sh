# shellcheck shell=bash
# What the outputs' host tests (test_metrics.sh, test_journal.sh) and
# bench/outputs.sh share: TAP results (lib-tap.sh), a work directory whose processes are
# stopped at exit, a blkfault device, a journald of their own.  Sourced.

. "$(dirname "${BASH_SOURCE[0]}")/lib-tap.sh"	# ok, expect_*, skip, wait_*

work=$(mktemp -d)
pids=()
blkfault_fds=()
cleanup() {
	local p fd
	for fd in "${blkfault_fds[@]}"; do exec {fd}>&-; done 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

# A blkfault device with the given --bad ranges: sets dev and majmin.  May
# be called again for another device.
start_blkfault() {	# blkfault ARGS...
	local i=${#blkfault_fds[@]} fd
	mkfifo "$work/ctl$i"
	"$@" --until-stdin-eof <"$work/ctl$i" >"$work/dev$i" &
	pids+=($!)
	exec {fd}>"$work/ctl$i"
	blkfault_fds+=($fd)
	for _ in $(seq 100); do [ -s "$work/dev$i" ] && break; sleep 0.1; done
	read -r dev majmin <"$work/dev$i"
	[ -b "$dev" ] || { echo "Bail out! blkfault gave no device"; exit 1; }
}

# One-sector O_DIRECT requests at every other sector from first, so that
# each is a request (and an error) of its own: count reads, or writes.
sector_io() {	# read|write first count [device, default $dev]
	local i d=${4:-$dev}
	for i in $(seq 0 $(($3 - 1))); do
		if [ "$1" = write ]; then
			dd if=/dev/zero of="$d" bs=512 seek=$(($2 + 2 * i)) count=1 oflag=direct conv=notrunc 2>/dev/null
		else
			dd if="$d" of=/dev/null bs=512 skip=$(($2 + 2 * i)) count=1 iflag=direct 2>/dev/null
		fi
	done
}

# systemd-journald, standalone, in this (private) mount namespace: tmpfs
# over /run/systemd, /run/log/journal and /var/log/journal, so it creates
# its sockets there and stores only this run's entries.  Returns 1 if it
# did not come up.
start_journald() {
	local d
	mkdir -p /run/systemd /run/log/journal /var/log/journal
	for d in /run/systemd /run/log/journal /var/log/journal; do
		mount -t tmpfs -o mode=0755 tmpfs "$d" || return 1
	done
	mkdir /run/systemd/journal
	/lib/systemd/systemd-journald >"$work/journald.log" 2>&1 &
	journald=$!
	pids+=($journald)
	for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && return 0; sleep 0.1; done
	return 1
}

# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the guest scenarios (busybox sh, sourced by /init).
#
# Protocol (parsed by check.py on the host), one line each:
#   @@BNVM@@ begin NAME                 a scenario starts
#   @@BNVM@@ fact NAME KEY VALUE        something the host checks records against
#   @@BNVM@@ rec NAME TAG JSON          one line of blkwatch --json output (TAG: which watcher)
#   @@BNVM@@ log NAME TEXT              diagnostics (dmesg), shown when a check fails
#   @@BNVM@@ end NAME                   the scenario finished

KVER=$(uname -r)
SCN=

M() { echo "@@BNVM@@ $*"; }
fact() { M fact "$SCN" "$@"; }
log() { M log "$SCN" "$*"; }

# load MODULE [PARAM=VALUE...]: insmod its dependencies (from the host's
# modprobe --show-depends), then the module itself with the parameters.
load() {
	_mod=$1; shift
	_last=
	for _ko in $(cat "/lib/modules/$KVER/$_mod.order" 2>/dev/null); do
		_last=$_ko
	done
	[ -n "$_last" ] || { log "module $_mod: built in or missing"; return 0; }
	for _ko in $(cat "/lib/modules/$KVER/$_mod.order"); do
		_name=$(echo "${_ko%.ko}" | tr - _)
		if [ -d "/sys/module/$_name" ]; then
			[ "$_ko" != "$_last" ] && continue
			# Loaded already: fine unless the caller wanted other parameters.
			[ $# = 0 ] && return 0
			log "module $_mod is loaded already: rmmod it before loading with $*"
			return 1
		fi
		if [ "$_ko" = "$_last" ]; then
			insmod "/lib/modules/$KVER/$_ko" "$@" || { log "insmod $_ko $* failed"; return 1; }
		else
			insmod "/lib/modules/$KVER/$_ko" 2>/dev/null || [ -d "/sys/module/$_name" ] ||
				{ log "insmod $_ko failed"; return 1; }
		fi
	done
}

# dev_of NODE: MAJ:MIN of a block device node, as ls -l shows it.
dev_of() {
	_s=$(stat -c '%t %T' "$1") || return 1
	set -- $_s
	echo "$((0x$1)):$((0x$2))"
}

# wait_for PATH [SECONDS]: until PATH exists.
wait_for() {
	_n=$(( ${2:-20} * 10 ))
	while [ ! -e "$1" ] && [ $_n -gt 0 ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	[ -e "$1" ]
}

# scsi_debug_disk: the sdX name of the (single) scsi_debug disk.
scsi_debug_disk() {
	_n=200
	while [ $_n -gt 0 ]; do
		for _b in /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block/*; do
			[ -e "$_b" ] && { basename "$_b"; return 0; }
		done
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# dmesg_since MARK: kernel log lines after the line containing MARK, as log lines.
KMARK=0
dmesg_mark() {
	KMARK=$((KMARK + 1))
	echo "bnvm-mark-$SCN-$KMARK" >/dev/kmsg
}
dmesg_dump() {
	dmesg | sed -n "/bnvm-mark-$SCN-$KMARK\$/,\$p" | sed 1d |
	while IFS= read -r _l; do log "dmesg: $_l"; done
}

# watch_start TAG ARGS...: blkwatch ARGS in the background, output in
# /tmp/$SCN.$TAG; returns once its source is attached.
watch_start() {
	_tag=$1; shift
	blkwatch "$@" >"/tmp/$SCN.$_tag" 2>"/tmp/$SCN.$_tag.err" &
	eval "WPID_$_tag=$!"
	watch_wait_ready $! "$_tag"
}

# watch_wait_ready PID TAG: blkwatch says on stderr when its source is
# attached and its watches are set ("blkwatch: watching ..."); until then an
# error could be missed.
watch_wait_ready() {
	_n=300
	while [ $_n -gt 0 ]; do
		grep -q '^blkwatch: watching ' "/tmp/$SCN.$2.err" 2>/dev/null && return 0
		[ -d "/proc/$1" ] || { log "blkwatch $2 exited early: $(cat "/tmp/$SCN.$2.err")"; return 1; }
		sleep 0.1
		_n=$((_n - 1))
	done
	log "blkwatch $2 not attached after 30 s"
	return 1
}

# watch_finish TAG [SECONDS]: wait for the watcher (it exits after --count
# records), kill it after SECONDS, emit its records and exit status.
# shellcheck disable=SC2154 # _pid is set by eval
watch_finish() {
	_tag=$1
	eval "_pid=\$WPID_$_tag"
	_n=$(( ${2:-20} * 10 ))
	while [ -d "/proc/$_pid" ] && [ $_n -gt 0 ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	if [ -d "/proc/$_pid" ]; then
		kill "$_pid" 2>/dev/null
		fact "$_tag.timed_out" 1
	fi
	wait "$_pid"
	fact "$_tag.exit" $?
	while IFS= read -r _l; do M rec "$SCN" "$_tag" "$_l"; done <"/tmp/$SCN.$_tag"
	while IFS= read -r _l; do log "blkwatch $_tag stderr: $_l"; done <"/tmp/$SCN.$_tag.err"
}

selected() {
	[ -s /vm/only ] || return 0
	grep -qx "$1" /vm/only
}

# scenario NAME: run scn_NAME in a subshell (a failing command cannot stop the others).
scenario() {
	selected "$1" || return 0
	SCN=$1
	M begin "$SCN"
	( "scn_$1" ) 2>&1 | while IFS= read -r _l; do
		case $_l in
		"@@BNVM@@ "*) echo "$_l" ;;
		*) log "$_l" ;;
		esac
	done
	M end "$SCN"
}

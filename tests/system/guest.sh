#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the booted Debian guest (systemd as PID 1), as a service, with
# the packages and this script on /dev/vdb.  It does what an operator does
# and reports what happened on /dev/ttyS1, one line each:
#   @@SYS@@ fact KEY VALUE...      a fact the host checks (tests/system/run)
#   @@SYS@@ rec TAG JSON           a line of blkwatch --json output
#   @@SYS@@ log TEXT               diagnostics, shown when a check fails
#   @@SYS@@ done                   the script finished
# The host, not the guest, decides pass or fail.

T=/mnt/t
OUT=/dev/ttyS1
M() { echo "@@SYS@@ $*" >"$OUT"; }
fact() { M fact "$@"; }
log() { M log "$*"; }
logcmd() { "$@" 2>&1 | while IFS= read -r _l; do log "$1: $_l"; done; }
recs() {	# TAG FILE: every line of FILE as a record line
	while IFS= read -r _l; do M rec "$1" "$_l"; done <"$2"
}
count() { grep -c "$1" "$2" 2>/dev/null || true; }
V1=$(cat $T/version)
V2=$(cat $T/version-next)

unit_facts() {	# PREFIX: the units' states as facts
	fact "$1.socket" "$(systemctl is-enabled blknotifyd.socket 2>/dev/null || true)" \
		"$(systemctl is-active blknotifyd.socket 2>/dev/null || true)"
	fact "$1.service" "$(systemctl is-enabled blknotifyd.service 2>/dev/null || true)" \
		"$(systemctl is-active blknotifyd.service 2>/dev/null || true)"
}
main_pid() { systemctl show -P MainPID blknotifyd.service; }

# Failed reads of the bad sector: NR errors, one record each.
bad_reads() {	# NR
	_i=0
	while [ $_i -lt "$1" ]; do
		dd if="/dev/$DISK" of=/dev/null bs=512 skip=1000 count=8 iflag=direct 2>/dev/null
		_i=$((_i + 1))
	done
}

# wait_records FILE N SECONDS: until FILE has N error records, or a loss
# record and no new line for 3 s, or SECONDS pass.
wait_records() {
	_n=0 _last=-1 _still=0
	while [ $_n -lt $(($3 * 2)) ]; do
		_c=$(count '"type":"error"' "$1")
		[ "$_c" -ge "$2" ] && return 0
		_l=$(wc -l <"$1")
		if [ "$_l" = "$_last" ] && grep -q '"type":"loss"' "$1"; then
			_still=$((_still + 1))
			[ $_still -ge 6 ] && return 0
		else
			_still=0
		fi
		_last=$_l
		sleep 0.5
		_n=$((_n + 1))
	done
}

wait_active() {	# UNIT SECONDS
	_n=$(($2 * 4))
	while [ $_n -gt 0 ] && [ "$(systemctl is-active "$1")" != active ]; do
		sleep 0.25
		_n=$((_n - 1))
	done
}

systemctl is-system-running --wait >/dev/null 2>&1
fact boot "$(systemctl is-system-running)" "$(uname -r)"
fact pid1 "$(cat /proc/1/comm)"

# --- install ---------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
cd $T/debs || exit 1
apt-get install -y --no-install-recommends ./libblknotify0_"$V1"_*.deb ./blknotify_"$V1"_*.deb \
	./blkfault_"$V1"_*.deb ./libblknotify-dev_"$V1"_*.deb >/tmp/apt.log 2>&1
fact install_rc $?
while IFS= read -r _l; do log "apt: $_l"; done </tmp/apt.log
fact group "$(getent group blknotify | cut -d: -f1)"
unit_facts installed
fact socket_node "$(stat -c '%A %U %G' /run/blknotify/blknotifyd.sock 2>&1)"
systemctl enable --now blknotifyd.socket >/dev/null 2>&1
fact enable_now_rc $?

# A disk with a bad sector (1004): a read of 1000..1007 fails there.
modprobe scsi_debug dev_size_mb=16 num_tgts=1 max_luns=1 opts=2 \
	medium_error_start=1004 medium_error_count=1
udevadm settle
DISK=
for _b in /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block/*; do
	[ -e "$_b" ] && DISK=$(basename "$_b")
done
fact disk "${DISK:-none}"

# --- socket activation: the first client starts the daemon -----------------
blkwatch --source daemon --json --count 1 --device "$DISK" >/tmp/root.json 2>/tmp/root.err &
wpid=$!
wait_active blknotifyd.service 30
sleep 1		# the client's watch is set once it is connected
bad_reads 1
_n=0; while kill -0 $wpid 2>/dev/null && [ $_n -lt 60 ]; do sleep 0.5; _n=$((_n + 1)); done
kill $wpid 2>/dev/null
recs root /tmp/root.json
logcmd cat /tmp/root.err
fact activated "$(systemctl show -P ActiveState blknotifyd.service)" \
	"$(systemctl show -P SubState blknotifyd.service)" "$(systemctl show -P Type blknotifyd.service)"
fact status_rc "$(systemctl status blknotifyd.service >/tmp/status 2>&1; echo $?)"
logcmd cat /tmp/status
fact journal_ready "$(journalctl -b -u blknotifyd.service -o cat | grep -c .)"
journalctl -b -u blknotifyd.service -o cat | while IFS= read -r _l; do log "journal: $_l"; done
fact stats_source "$(blkwatch --stats 2>&1 | sed -n 's/^source[: ]*\([a-z_]*\).*/\1/p' | head -n 1)"
logcmd blkwatch --stats
fact security "$(systemd-analyze security blknotifyd.service 2>&1 | sed -n 's/.*Overall exposure level for blknotifyd.service: *//p')"
systemd-analyze security blknotifyd.service 2>&1 | while IFS= read -r _l; do log "security: $_l"; done

# --- an unprivileged user: refused outside the group, served inside --------
useradd -m -s /bin/sh alice
chmod o+r "/dev/$DISK"	# the policy serves users the disks they can read
runuser -u alice -- blkwatch --source daemon --json --count 1 --device "$DISK" \
	>/tmp/alice0.json 2>/tmp/alice0.err </dev/null &
apid=$!
sleep 3
kill $apid 2>/dev/null
wait $apid 2>/dev/null
fact alice_outside_group "$(count '"type":"error"' /tmp/alice0.json)"
logcmd cat /tmp/alice0.err
usermod -aG blknotify alice
runuser -u alice -- blkwatch --source daemon --json --count 1 --device "$DISK" \
	>/tmp/alice.json 2>/tmp/alice.err </dev/null &
apid=$!
sleep 2
bad_reads 1
_n=0; while kill -0 $apid 2>/dev/null && [ $_n -lt 60 ]; do sleep 0.5; _n=$((_n + 1)); done
kill $apid 2>/dev/null
recs alice /tmp/alice.json
logcmd cat /tmp/alice.err
fact alice_groups "$(id -nG alice)"

# --- the outputs: journal entries and node_exporter's textfile ------------
# No client connected: the outputs count every error on the node by themselves.
mkdir -p /etc/blknotify
printf '%s\n' 'journal = yes' 'metrics_textfile_dir = /run/blknotify' \
	'metrics_textfile_interval_ms = 1000' >/etc/blknotify/blknotifyd.conf
# And two of the example handlers, enabled by a link as docs/handlers.md says.
printf '%s\n' 'handlers = yes' 'handlers_interval_ms = 1000' 'threshold_medium = 3/60' \
	>>/etc/blknotify/blknotifyd.conf
mkdir -p /etc/blknotify/handlers.d
ln -s /usr/libexec/blknotify/handlers.d/threshold-replace.sh \
	/usr/libexec/blknotify/handlers.d/error-npd.sh /etc/blknotify/handlers.d/
systemctl restart blknotifyd.service
wait_active blknotifyd.service 30
fact out.state "$(systemctl is-active blknotifyd.service)"
sleep 1
bad_reads 3
sleep 3
_jq="MESSAGE_ID=30785b7f7d3240809df08cb3185d760e BLKNOTIFY_DEVICE=$DISK"
fact out.journal "$(journalctl -b $_jq -o cat | grep -c .)"
fact out.journal_fields "$(journalctl -b $_jq -o export |
	sed -n 's/^\(BLKNOTIFY_SUBTYPE\|BLKNOTIFY_OP\|BLKNOTIFY_SECTOR\|PRIORITY\)=/\1=/p' | sort -u | tr '\n' ' ')"
journalctl -b $_jq -o export | while IFS= read -r _l; do log "journal entry: $_l"; done
fact out.textfile "$(grep '^blknotify_errors_total{' /run/blknotify/blknotify.prom 2>/dev/null |
	grep "device=\"$DISK\"" | grep 'subtype="medium"' | grep 'op="read"' | sed 's/.* //')"
logcmd cat /run/blknotify/blknotify.prom
# The handlers, as _blknotify-handlers: a replacement mark, node-problem-detector's status.
fact handlers.user "$(getent passwd _blknotify-handlers | cut -d: -f1,7)"
fact handlers.replace "$(ls /var/lib/blknotify/replace | wc -l)" \
	"$(stat -c %U /var/lib/blknotify/replace/* 2>&1 | head -n 1)" \
	"$(sed -n 's/^DEVICE=//p' /var/lib/blknotify/replace/* 2>/dev/null | head -n 1)"
fact handlers.reason "$(sed -n 's/^REASON=//p' /var/lib/blknotify/replace/* 2>/dev/null | head -n 1)"
fact handlers.npd "$(sed -n 's/^ERRORS=//p' "/var/lib/blknotify/npd/$DISK" 2>/dev/null)" \
	"$(/usr/libexec/blknotify/npd-check.sh >/dev/null 2>&1; echo $?)"
logcmd sh -c 'head -n 20 /var/lib/blknotify/replace/* /var/lib/blknotify/npd/*'
journalctl -b -u blknotifyd.service -o cat | grep 'handler' | tail -n 20 |
	while IFS= read -r _l; do log "handlers: $_l"; done
rm -f /etc/blknotify/blknotifyd.conf /etc/blknotify/handlers.d/*
systemctl restart blknotifyd.service
wait_active blknotifyd.service 30

# --- the history: SQLite in the unit's StateDirectory, blknotify-history ----
printf '%s\n' 'history_path = /var/lib/blknotify/history.db' >/etc/blknotify/blknotifyd.conf
systemctl restart blknotifyd.service
wait_active blknotifyd.service 30
fact hist.state "$(systemctl is-active blknotifyd.service)"
sleep 1
bad_reads 4
sleep 1
systemctl restart blknotifyd.service	# a clean stop: everything committed
wait_active blknotifyd.service 30
fact hist.mode "$(stat -c '%a %U' /var/lib/blknotify /var/lib/blknotify/history.db | tr '\n' ' ')"
fact hist.summary "$(blknotify-history --summary -d "$DISK" -t medium | grep -c ': 4 errors, ')"
blknotify-history --summary 2>&1 | while IFS= read -r _l; do log "history: $_l"; done
# alice (group blknotify: she may connect) cannot read the file: the tool asks
# the daemon, whose policy gives her the rows of $DISK while she may read its
# node (o+r above), and withholds them once she may not.
runuser -u alice -- blknotify-history >/tmp/hist-alice.out 2>/tmp/hist-alice.err
fact hist.alice "$? $(grep -c " medium read " /tmp/hist-alice.out) $(grep -c 'were withheld' /tmp/hist-alice.err)"
logcmd cat /tmp/hist-alice.err
chmod o-r "/dev/$DISK"
runuser -u alice -- blknotify-history >/tmp/hist-alice.out 2>/tmp/hist-alice.err
fact hist.alice_denied "$? $(grep -c ' sector ' /tmp/hist-alice.out) $(grep -c '^blknotify-history: 4 rows on disks you may not watch were withheld' /tmp/hist-alice.err)"
logcmd cat /tmp/hist-alice.err
chmod o+r "/dev/$DISK"
systemctl kill -s KILL blknotifyd.service
sleep 2
wait_active blknotifyd.service 30	# Restart=on-failure
sleep 1
bad_reads 2
sleep 1
fact hist.kill "$(blknotify-history | grep -c 'how many is not known (crash)')" \
	"$(blknotify-history -d "$DISK" -t medium | grep -c ' medium read ')"
logcmd journalctl -b -u blknotifyd.service -g history --no-pager
rm -f /etc/blknotify/blknotifyd.conf
systemctl restart blknotifyd.service
wait_active blknotifyd.service 30

# --- restart and SIGKILL during a stream of errors --------------------------
# Each phase: 20 errors, then the daemon goes away (restart / KILL), 20
# more while it is away or coming back, 20 after.  The client reconnects.
stream_phase() {	# NAME how...
	_name=$1; shift
	blkwatch --source daemon --json --device "$DISK" >/tmp/$_name.json 2>/tmp/$_name.err &
	_w=$!
	sleep 2
	_pid0=$(main_pid)
	bad_reads 20
	"$@" >/dev/null 2>&1 &
	bad_reads 20
	wait_active blknotifyd.service 30
	sleep 1
	bad_reads 20
	wait_records /tmp/$_name.json 60 60
	kill $_w 2>/dev/null
	wait $_w 2>/dev/null
	recs "$_name" /tmp/$_name.json
	logcmd cat /tmp/$_name.err
	fact "$_name.pids" "$_pid0" "$(main_pid)"
	fact "$_name.state" "$(systemctl is-active blknotifyd.service)"
}
stream_phase restart systemctl restart blknotifyd.service
stream_phase kill systemctl kill -s KILL blknotifyd.service
fact nrestarts "$(systemctl show -P NRestarts blknotifyd.service)"

# --- capabilities: the shipped set works; each source's needs ---------------
# One variant: the unit with a drop-in setting the capabilities (and the
# user, and the source); started directly, once (no restart loop), then
# one error through a client.  Facts: records, source, unit state.
DROPIN=/run/systemd/system/blknotifyd.service.d
caps_variant() {	# NAME "CAPS" SOURCE [extra [Service] lines]
	systemctl stop blknotifyd.service
	rm -rf /sys/fs/bpf/blknotify /run/blknotify/clients.state
	mkdir -p $DROPIN
	printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nRestart=no\nCapabilityBoundingSet=\nCapabilityBoundingSet=%s\nExecStart=\nExecStart=/usr/sbin/blknotifyd --source %s\n%s\n' \
		"$2" "$3" "${4:-}" >$DROPIN/caps.conf
	case ${4:-} in User=*) mkdir -p /sys/fs/bpf/blknotify && chown _bnd: /sys/fs/bpf/blknotify ;; esac
	systemctl daemon-reload
	systemctl reset-failed blknotifyd.service blknotifyd.socket 2>/dev/null
	systemctl start blknotifyd.socket
	systemctl start blknotifyd.service 2>/dev/null
	_state=$(systemctl is-active blknotifyd.service)
	: >/tmp/cap.json
	_src=
	if [ "$_state" = active ]; then
		_src=$(blkwatch --stats 2>/dev/null | sed -n 's/^source[: ]*\([a-z_]*\).*/\1/p' | head -n 1)
		timeout 20 blkwatch --source daemon --json --count 1 --device "$DISK" >/tmp/cap.json 2>/tmp/cap.err &
		_w=$!
		sleep 2
		bad_reads 1
		wait $_w 2>/dev/null
	fi
	fact "cap.$1" "$(count '"type":"error"' /tmp/cap.json)" "${_src:--}" "$_state"
	journalctl -b -u blknotifyd.service -o cat -n 12 |
		grep -v '^Stopp\|^Start\|^Deactivated\|^blknotifyd.service:' |
		while IFS= read -r _l; do log "cap.$1: $_l"; done
}
fact caps_shipped "$(systemctl show -P CapabilityBoundingSet blknotifyd.service)"
fact sysctl "$(sysctl -n kernel.perf_event_paranoid kernel.dmesg_restrict kernel.unprivileged_bpf_disabled | tr '\n' ' ')"
while read -r _name _src _caps; do
	caps_variant "$_name" "$_caps" "$_src"
done <$T/caps-variants
# The reason for CAP_SYS_ADMIN: Debian's perf_event_paranoid=3.
_p=$(sysctl -n kernel.perf_event_paranoid)
sysctl -q kernel.perf_event_paranoid=2
caps_variant bpf-paranoid2 "CAP_BPF CAP_PERFMON" bpf
sysctl -q kernel.perf_event_paranoid="$_p"
# Could it run as a user of its own with ambient capabilities?  Reported,
# not asserted: what it lacks says what the daemon would have to change.
useradd --system --no-create-home --shell /usr/sbin/nologin _bnd
fact tracefs_mode "$(stat -c '%a %U' /sys/kernel/tracing /sys/kernel/tracing/events 2>&1 | tr '\n' ' ')"
caps_variant user "CAP_BPF CAP_PERFMON CAP_SYS_ADMIN" bpf \
	"User=_bnd
AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_SYS_ADMIN"
systemctl stop blknotifyd.service
rm -rf $DROPIN /sys/fs/bpf/blknotify /run/blknotify/clients.state
systemctl daemon-reload
systemctl reset-failed blknotifyd.service blknotifyd.socket 2>/dev/null
systemctl start blknotifyd.socket

# Which sandboxing lets a unit write bpffs (reported, not asserted): one
# oneshot unit per combination; systemd writes its output outside the sandbox.
fact bpffs_mount "$(findmnt -n -o FSTYPE,OPTIONS /sys/fs/bpf)"
_i=0
for _p in "ReadWritePaths=/sys/fs/bpf" \
	  "ProtectKernelTunables=yes ReadWritePaths=/sys/fs/bpf" \
	  "ProtectKernelTunables=yes BindPaths=/sys/fs/bpf" \
	  "ReadOnlyPaths=/sys ReadWritePaths=/sys/fs/bpf"; do
	_i=$((_i + 1))
	{
		printf '[Service]\nType=oneshot\nProtectSystem=strict\nStandardOutput=file:/run/probe-%s.out\nStandardError=inherit\n' $_i
		for _x in $_p; do echo "$_x"; done
		echo "ExecStart=/bin/sh -c 'mkdir /sys/fs/bpf/probe && rmdir /sys/fs/bpf/probe && echo ok'"
	} >/run/systemd/system/bnprobe-$_i.service
	systemctl daemon-reload
	systemctl start bnprobe-$_i.service 2>/dev/null
	fact "probe.$_i" "$_p: $(tr '\n' ' ' </run/probe-$_i.out 2>&1)"
	rm -f /run/systemd/system/bnprobe-$_i.service /run/probe-$_i.out
done
systemctl daemon-reload

# --- man pages --------------------------------------------------------------
for _p in $(cat $T/man-pages); do
	fact "man.$_p" "$(man -P cat "$_p" 2>/dev/null | grep -c .)"
done

# --- reinstall, upgrade (a client streaming across it), remove, purge -------
apt-get install -y --reinstall ./blknotify_"$V1"_*.deb >/tmp/apt.log 2>&1
fact reinstall_rc $?
while IFS= read -r _l; do log "apt: $_l"; done </tmp/apt.log
unit_facts reinstalled

blkwatch --source daemon --json --device "$DISK" >/tmp/upgrade.json 2>/tmp/upgrade.err &
_w=$!
wait_active blknotifyd.service 30
sleep 1
_pid0=$(main_pid)
bad_reads 10
apt-get install -y ./libblknotify0_"$V2"_*.deb ./blknotify_"$V2"_*.deb \
	./blkfault_"$V2"_*.deb ./libblknotify-dev_"$V2"_*.deb >/tmp/apt.log 2>&1
fact upgrade_rc $?
while IFS= read -r _l; do log "apt: $_l"; done </tmp/apt.log
wait_active blknotifyd.service 30
sleep 1
bad_reads 10
wait_records /tmp/upgrade.json 20 60
kill $_w 2>/dev/null
wait $_w 2>/dev/null
recs upgrade /tmp/upgrade.json
logcmd cat /tmp/upgrade.err
fact upgrade.version "$(dpkg-query -W -f='${Version}' blknotify)"
fact upgrade.pids "$_pid0" "$(main_pid)"
unit_facts upgraded
fact upgrade.socket_node "$(stat -c '%i' /run/blknotify/blknotifyd.sock 2>&1)"

apt-get remove -y blknotify blkfault libblknotify-dev libblknotify0 >/tmp/apt.log 2>&1
fact remove_rc $?
while IFS= read -r _l; do log "apt: $_l"; done </tmp/apt.log
fact removed.units "$(systemctl is-active blknotifyd.service blknotifyd.socket | tr '\n' ' ')"
fact removed.binary "$(ls /usr/sbin/blknotifyd 2>/dev/null | wc -l)"
fact removed.pins "$(ls /sys/fs/bpf/blknotify 2>/dev/null | wc -l)"

# Only blknotify is left "rc" (it has purge work); the others went with remove.
fact removed.dpkg "$(dpkg-query -W -f='${db:Status-Abbrev}${Package} ' blknotify blkfault libblknotify-dev libblknotify0 2>/dev/null | tr -s ' ')"
apt-get purge -y blknotify >/tmp/apt.log 2>&1
fact purge_rc $?
while IFS= read -r _l; do log "apt: $_l"; done </tmp/apt.log
fact purged.dpkg "$(dpkg-query -W -f='${db:Status-Abbrev}${Package} ' blknotify blkfault libblknotify-dev libblknotify0 2>/dev/null | grep -v '^un' | tr -s ' ')"
fact purged.bpffs "$(find /sys/fs/bpf -mindepth 1 | wc -l)"
fact purged.run "$(find /run -name blknotify -o -name 'blknotifyd*' | wc -l)"
fact purged.links "$(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled -name 'blknotifyd*' | wc -l)"
fact purged.units "$(systemctl is-active blknotifyd.service blknotifyd.socket | tr '\n' ' ')"
fact purged.group "$(getent group blknotify | cut -d: -f1)"
fact purged.state "$(ls -d /var/lib/blknotify 2>/dev/null | wc -l)"
find /sys/fs/bpf /run -name blknotify -o -name 'blknotifyd*' | while IFS= read -r _l; do log "left: $_l"; done

M done

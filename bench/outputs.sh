#!/bin/bash
# What blknotifyd's outputs (metrics + journal) cost, in one run, as ratios:
#  1. a storm of N errors (default 100,000) with both outputs on and with
#     neither, alternated R rounds: the counters and the journal are exact;
#     daemon CPU per error, on vs off; /metrics scrape latency during it (p99);
#  2. isolated errors (500/s): a client's latency through the daemon, p99,
#     outputs on vs off, alternated.
# A client (bench-monitor) watches the device in every run, so "off" is the
# daemon as it is without outputs.  journald runs standalone in this
# script's own mount namespace (as in tests/host/test_journal.sh).
#
#   sudo bench/outputs.sh [--build DIR] [--errors N] [--rounds R]
#
# Prints the figures; asserts nothing.
set -u
build=build errors=100000 rounds=3
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--errors) errors=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--errors N] [--rounds R]" >&2; exit 2 ;;
	esac
done
build=$(realpath "$build")
if [ "${INSIDE:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 1; }
	INSIDE=1 exec unshare -m --propagation private "$0" --build "$build" --errors "$errors" --rounds "$rounds"
fi

. "$(dirname "$0")/../tests/host/lib-outputs.sh"

start_journald || { echo "$0: systemd-journald did not start" >&2; exit 1; }

start_blkfault "$build/tools/blkfault" --bad 4096+256:r:EIO
echo 2 >"/sys/block/${dev#/dev/}/queue/nomerges"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }	# time on CPU, ns

start_daemon() {	# on|off
	cat >"$work/d.conf" <<EOF
socket = $work/sock
pin_path = none
state_file = $work/state
max_queue_size = 1048576
upstream_queue_size = 1048576
EOF
	[ "$1" = on ] && printf 'metrics_listen = 127.0.0.1:%s\njournal = yes\n' "$port" >>"$work/d.conf"
	"$build/daemon/blknotifyd" -c "$work/d.conf" --source bpf 2>>"$work/daemon.log" &
	daemon=$!
	for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.05; done
}
stop_daemon() { kill "$daemon"; wait "$daemon" 2>/dev/null; rm -f "$work/sock"; }

start_monitor() {	# extra args
	"$build/bench/bench-monitor" -s daemon --socket "$work/sock" -d "$dev" -q 1048576 "$@" \
		>"$work/mon.json" 2>"$work/mon.err" &
	monitor=$!
	for _ in $(seq 100); do grep -q ready "$work/mon.json" 2>/dev/null && break; sleep 0.05; done
}

scrape_loop() {		# until the file $1 exists: /metrics latencies, one per line (s)
	while [ ! -e "$1" ]; do
		curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"
		sleep 0.05
	done
}

records() {	# blknotify_records_total: every record the daemon handled, any disk
	curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "blknotify_records_total" { print $2 }'
}

counter() {
	curl -s "http://127.0.0.1:$port/metrics" |
		awk -v m="devnum=\"$majmin\"" 'index($0, "blknotify_errors_total{") == 1 && index($0, m) { s += $2 } END { print s + 0 }'
}

journal_sum() {		# entries + summarised for the device, as journald holds them
	journalctl -o json "BLKNOTIFY_DEVNUM=$majmin" 2>/dev/null | python3 -c '
import json, sys
n = 0
for l in sys.stdin:
    e = json.loads(l)
    n += int(e["BLKNOTIFY_SUMMARY_COUNT"]) if "BLKNOTIFY_SUMMARY_COUNT" in e else 1
print(n)'
}

# on|off; prints: caused received cpu_ns counter journal_total scrape_p99_ms handled
# (handled: records the daemon read.  Off, the source watches the client's
# disk only; on, every disk: other jobs' errors on this machine count too.)
storm() {
	local t0 t1 caused rx cnt=- jn=- p99=- r0=0 handled
	start_daemon "$1"
	start_monitor -e "$errors" -i 3000
	[ "$1" = on ] && { rm -f "$work/stop"; scrape_loop "$work/stop" >"$work/scrapes" & scraper=$!; }
	[ "$1" = on ] && r0=$(records)
	t0=$(cpu_ns "$daemon")
	caused=$("$build/bench/bench-errstorm" -d "$dev" -s 4096+256 -n "$errors" -t 4 |
		 python3 -c 'import json, sys; print(json.load(sys.stdin)["caused"])')
	wait "$monitor"
	t1=$(cpu_ns "$daemon")
	rx=$(grep '^{' "$work/mon.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["received"])')
	handled=$rx
	if [ "$1" = on ]; then
		handled=$(($(records) - r0))
		touch "$work/stop"
		wait "$scraper"
		cnt=$(counter)
		p99=$(sort -n "$work/scrapes" | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.1f", a[i] * 1000 }')
	fi
	stop_daemon
	if [ "$1" = on ]; then
		# (cumulative over this script's runs: the caller subtracts)
		for _ in $(seq 50); do jn=$(journal_sum); [ "$jn" -ge "$((jprev + rx))" ] && break; sleep 0.2; done
	fi
	echo "$caused $rx $((t1 - t0)) $cnt $jn $p99 $handled"
}

isolated() {	# on|off; prints the client's p99 latency (us) for 1000 errors at 500/s
	start_daemon "$1"
	start_monitor -l -e 1000 -i 3000
	"$build/bench/bench-errstorm" -d "$dev" -s 4096+256 -n 1000 -r 500 -t 1 >/dev/null
	wait "$monitor"
	stop_daemon
	grep '^{' "$work/mon.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["p99_us"])'
}

jprev=0
echo "# storm: $errors errors per run, $rounds rounds, outputs on/off alternated; device $dev"
echo "# mode caused received(client) cpu_us/error_caused counter journal(entries+summarised) scrape_p99_ms records_handled cpu_us/record_handled"
for r in $(seq "$rounds"); do
	for mode in off on; do
		read -r caused rx cpu cnt jn p99 handled <<<"$(storm $mode)"
		[ "$mode" = on ] && { j=$((jn - jprev)); jprev=$jn; } || j=-
		line="$mode $caused $rx $(awk -v c="$cpu" -v e="$caused" 'BEGIN { printf "%.2f", c / e / 1000 }') $cnt $j $p99 $handled $(awk -v c="$cpu" -v e="$handled" 'BEGIN { printf "%.2f", c / e / 1000 }')"
		echo "$line"
		echo "$line" >>"$work/storms"
	done
done
awk '{ c[$1] += $4; h[$1] += $9; k[$1]++ }
	END {
		on = c["on"] / k["on"]; off = c["off"] / k["off"]
		printf "daemon CPU per error caused (mean of rounds): on %.2f us, off %.2f us, ratio %.2f\n", on, off, on / off
		on = h["on"] / k["on"]; off = h["off"] / k["off"]
		printf "daemon CPU per record handled (mean of rounds): on %.2f us, off %.2f us, ratio %.2f\n", on, off, on / off
	}' "$work/storms"

echo "# isolated errors, 500/s: a client's p99 latency (us) through the daemon"
for r in $(seq "$rounds"); do
	for mode in off on; do
		v=$(isolated $mode)
		echo "$mode $v"
		echo "$mode $v" >>"$work/iso"
	done
done
median() { grep "^$1 " "$work/iso" | awk '{ print $2 }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
on=$(median on) off=$(median off)
awk -v on="$on" -v off="$off" -v n="$rounds" 'BEGIN {
	printf "client p99 latency: on %.1f us, off %.1f us (medians of %d rounds), ratio %.2f\n", on, off, n, on / off }'

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Minimal reproduction: block_rq_error events for which the kernel runs no
# BPF program, on either attach path, and counts no recursion miss.
#
# Usage: sudo bench/missed-probe.sh [-b BUILDDIR] [-n ERRORS] [-r ROUNDS] [-t THREADS]
#
# Nothing of blknotify is involved: a blkfault device (a loop device over a
# FUSE image whose sectors 0..2047 fail), bench-errstorm making exactly N
# O_DIRECT read errors, and bench-bare -B, whose tracepoint/ program
# (perf-event path) and tp_btf twin (raw-tracepoint path) count their runs
# for the device.  Each round runs twice, in alternating order: once with a
# tracefs instance of our own recording block_rq_error for the device (the
# kernel's count), once without any, so that what an ftrace probe on the
# same tracepoint changes shows too.  One line per run:
#
#   ftrace=yes caused=N traced=N tracepoint=N tp_btf=N misses=N/N
#
# (misses: recursion_misses of the two programs).  Exit 0 when every run
# produced its numbers; the counts themselves are reported, not judged.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
n=50000
rounds=3
threads=2
while getopts "b:n:r:t:h" opt; do
	case $opt in
	b) build=$OPTARG ;;
	n) n=$OPTARG ;;
	r) rounds=$OPTARG ;;
	t) threads=$OPTARG ;;
	h) sed -n '/^# Usage:/,/^# produced/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "missed-probe: needs root" >&2; exit 1; }
for b in tools/blkfault bench/bench-bare bench/bench-errstorm; do
	[ -x "$build/$b" ] || { echo "missed-probe: $build/$b is missing: build first" >&2; exit 1; }
done
tracing=/sys/kernel/tracing
[ -d $tracing/instances ] || tracing=/sys/kernel/debug/tracing

work=$(mktemp -d)
inst=
cleanup() {
	[ -n "$inst" ] && [ -d "$inst" ] && { echo 0 >"$inst/events/block/block_rq_error/enable"; rmdir "$inst"; }
	[ -n "${bare:-}" ] && kill "$bare" 2>/dev/null
	exec 3>&- 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/ctl"
"$build/tools/blkfault" --size 64M --bad 0+2048:r --until-stdin-eof <"$work/ctl" >"$work/dev" &
exec 3>"$work/ctl"
for _ in $(seq 100); do [ -s "$work/dev" ] && break; sleep 0.1; done
dev=$(awk '{ print $1; exit }' "$work/dev")
[ -b "$dev" ] || { echo "missed-probe: blkfault did not start" >&2; exit 1; }
echo 2 >"/sys/block/$(basename "$dev")/queue/nomerges"
read -r maj min < <(stat -c '%t %T' "$dev")
kdev=$(( (0x$maj << 20) | 0x$min ))

field() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" "$2"; }

run() {
	local with=$1 traced=-
	if [ "$with" = yes ]; then
		inst=$tracing/instances/missed-probe-$$
		mkdir "$inst"
		echo 4096 >"$inst/buffer_size_kb"
		echo "dev == $kdev" >"$inst/events/block/block_rq_error/filter"
		echo 1 >"$inst/events/block/block_rq_error/enable"
	fi
	"$build/bench/bench-bare" -B -d "$dev" >"$work/bare" &
	bare=$!
	for _ in $(seq 100); do grep -q ready "$work/bare" && break; sleep 0.1; done
	"$build/bench/bench-errstorm" -d "$dev" -s 0+2048 -n "$n" -t "$threads" >"$work/storm"
	sleep 0.3
	kill -TERM "$bare"
	wait "$bare" || true
	bare=
	if [ "$with" = yes ]; then
		echo 0 >"$inst/events/block/block_rq_error/enable"
		traced=$(cat "$inst"/per_cpu/cpu*/stats |
			awk '$1 == "entries:" || $1 == "overrun:" { n += $2 } END { print n }')
		rmdir "$inst"
		inst=
	fi
	echo "ftrace=$with caused=$(field caused "$work/storm") traced=$traced" \
	     "tracepoint=$(field matched "$work/bare") tp_btf=$(field btf_matched "$work/bare")" \
	     "misses=$(field recursion_misses "$work/bare")/$(field btf_recursion_misses "$work/bare")"
}

for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then run yes; run no; else run no; run yes; fi
done

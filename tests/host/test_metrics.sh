#!/bin/bash
# blknotifyd's metrics with the real things: Debian's Prometheus scrapes
# blknotifyd's /metrics, and node_exporter's textfile collector serves the
# file blknotifyd writes, while real errors are caused on a blkfault device
# with no client connected.  The test asks Prometheus's HTTP API for the
# counters and compares them with the errors it caused, per subtype and
# op; promtool checks the exposition; the shipped rules fire.
# TAP output.  Needs root, /dev/fuse, /dev/loop-control, BPF; BLKFAULT and
# BLKNOTIFYD name the binaries, RULES the alert rules (meson sets them).
set -u

. "$(dirname "$0")/lib-outputs.sh"

echo "TAP version 13"
[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in prometheus prometheus-node-exporter promtool curl; do
	command -v $t >/dev/null || skip "$t is not installed (scripts/bootstrap daemon)"
done

# Four free loopback ports, chosen by the kernel.
read -r p_daemon p_prom p_node _ < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')

# The device: bad sectors for EIO reads, ENODATA (medium) reads, EIO writes.
start_blkfault "$BLKFAULT" --bad 4096+200:r:EIO --bad 8192+200:r:ENODATA --bad 12288+200:w:EIO

mkdir "$work/textfile"
cat >"$work/blknotifyd.conf" <<EOF
socket = $work/sock
pin_path = none
state_file = $work/clients.state
metrics_listen = 127.0.0.1:$p_daemon
metrics_textfile_dir = $work/textfile
metrics_textfile_interval_ms = 1000
EOF
"$BLKNOTIFYD" -c "$work/blknotifyd.conf" --source bpf 2>"$work/daemon.log" &
daemon=$!
pids+=($daemon)
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$p_daemon/metrics" >/dev/null && break
	sleep 0.1
done
curl -sf "http://127.0.0.1:$p_daemon/metrics" >"$work/empty.prom"
ok "blknotifyd serves /metrics" $?

prometheus-node-exporter --web.listen-address="127.0.0.1:$p_node" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$work/textfile" 2>"$work/node.log" &
pids+=($!)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES
scrape_configs:
  - job_name: blknotify
    static_configs: [{ targets: ['127.0.0.1:$p_daemon'] }]
  - job_name: node
    static_configs: [{ targets: ['127.0.0.1:$p_node'] }]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
	--web.listen-address="127.0.0.1:$p_prom" 2>"$work/prometheus.log" &
pids+=($!)

# One instant query's value (the sum over what matches), or "none".
query() {
	curl -s "http://127.0.0.1:$p_prom/api/v1/query" --data-urlencode "query=$1" |
		python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(int(float(r[0]["value"][1])) if r else "none")
except Exception:
    print("none")'
}
# Wait until the query gives the value (Prometheus scrapes every second).
wait_query() {	# query expected
	local v
	for _ in $(seq 300); do
		v=$(query "$1")
		[ "$v" = "$2" ] && break
		sleep 0.2
	done
	echo "$v"
}
expect_eq "Prometheus scrapes blknotifyd" "$(wait_query 'up{job="blknotify"}' 1)" 1
expect_eq "Prometheus scrapes node_exporter" "$(wait_query 'up{job="node"}' 1)" 1

# The errors, with no client connected: 30 io reads, 20 medium reads, 10 io writes.
sector_io read 4096 30
sector_io read 8192 20
sector_io write 12288 10

sel="devnum=\"$majmin\""
for job in blknotify node; do
	via=$([ $job = blknotify ] && echo "/metrics" || echo "the textfile via node_exporter")
	expect_eq "$via: io read errors" \
		"$(wait_query "blknotify_errors_total{job=\"$job\",$sel,subtype=\"io\",op=\"read\"}" 30)" 30
	expect_eq "$via: medium read errors" \
		"$(wait_query "blknotify_errors_total{job=\"$job\",$sel,subtype=\"medium\",op=\"read\"}" 20)" 20
	expect_eq "$via: io write errors" \
		"$(wait_query "blknotify_errors_total{job=\"$job\",$sel,subtype=\"io\",op=\"write\"}" 10)" 10
	expect_eq "$via: nothing else on the device" \
		"$(query "count(blknotify_errors_total{job=\"$job\",$sel})")" 3
done
expect_eq "the device is labelled with its kernel name" \
	"$(query "count(blknotify_errors_total{job=\"blknotify\",$sel,device=\"${dev#/dev/}\"})")" 3
expect_eq "nothing lost at the source" \
	"$(query 'blknotify_records_lost_total{job="blknotify",reason="upstream"}')" 0
expect_eq "nothing unlabelled" "$(query 'blknotify_errors_unlabelled_total{job="blknotify"}')" 0
expect_eq "the shipped rule BlockMediumError fires for the device" \
	"$(wait_query "count(ALERTS{alertname=\"BlockMediumError\",alertstate=\"firing\",job=\"blknotify\",$sel})" 1)" 1
last=$(query "blknotify_last_error_timestamp_seconds{job=\"blknotify\",$sel}")
now=$(date +%s)
ok "the last error's time is a wall-clock time of this run" \
	$([ "$last" != none ] && [ "$last" -le "$now" ] && [ "$last" -ge $((now - 3600)) ]; echo $?)

curl -sf "http://127.0.0.1:$p_daemon/metrics" >"$work/full.prom"
promtool check metrics <"$work/full.prom" >"$work/lint" 2>&1
ok "promtool check metrics accepts the exposition" $?
[ -s "$work/lint" ] && sed 's/^/# /' "$work/lint"
promtool check metrics <"$work/textfile/blknotify.prom" >/dev/null 2>&1
ok "promtool check metrics accepts the textfile" $?
expect_eq "a POST is refused" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$p_daemon/metrics")" 405
expect_eq "another path is not found" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p_daemon/")" 404

# A second daemon on the same port: a clear error, exit 1 (could not start).
sed "s|^socket = .*|socket = $work/sock2|; /^metrics_textfile/d" "$work/blknotifyd.conf" >"$work/second.conf"
"$BLKNOTIFYD" -c "$work/second.conf" --source bpf 2>"$work/second.err"
expect_eq "a port in use: exit 1" $? 1
ok "a port in use: the error names the address and the setting" \
	$(grep -q "cannot serve metrics on 127.0.0.1:$p_daemon: Address already in use; set metrics_listen" \
		"$work/second.err"; echo $?)

# The identity labels are what libblknotify says of the disk (a loop device
# without udev: no serial, WWN or model, so empty labels): a client asks the
# library through blkwatch --identity while one more error is caused.
"$BLKWATCH" --source daemon --socket "$work/sock" --identity --json -d "$dev" -n 1 \
	>"$work/ident" 2>"$work/ident.err" &
client=$!
for _ in $(seq 100); do grep -q watching "$work/ident.err" && break; sleep 0.05; done
dd if="$dev" of=/dev/null bs=512 skip=$((4096 + 100)) count=1 iflag=direct 2>/dev/null
wait $client
curl -sf "http://127.0.0.1:$p_daemon/metrics" >"$work/ident.prom"
expect_eq "identity labels: present, and what the library says of the disk" "$(python3 - "$work/ident" \
	"$work/ident.prom" "$majmin" <<'PY'
import json, re, sys
ident = json.loads(open(sys.argv[1]).readline())
bad = []
for line in open(sys.argv[2]):
    if not line.startswith(("blknotify_errors_total{", "blknotify_last_error_timestamp_seconds{")):
        continue
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line.split("}")[0]))
    if labels.get("devnum") != sys.argv[3]:
        continue
    for k in ("serial", "wwn", "model"):
        if k not in labels or labels[k] != ident.get(k, ""):
            bad.append(k)
print(",".join(sorted(set(bad))) or "all")
PY
)" all

kill "$daemon"
wait "$daemon"
ok "blknotifyd stops cleanly" $?
ok "the textfile stays, written at the end" $(grep -q "subtype=\"io\",op=\"write\"} 10" \
	"$work/textfile/blknotify.prom"; echo $?)

# outputs_devices: the outputs count the disks it names and nothing else,
# even a disk a client watches (so that the source delivers its records).
first=$dev first_majmin=$majmin
start_blkfault "$BLKFAULT" --bad 4096+200:r:EIO
named=$dev named_majmin=$majmin dev=$first majmin=$first_majmin
sed "/^metrics_textfile/d" "$work/blknotifyd.conf" >"$work/named.conf"
echo "outputs_devices = ${named#/dev/}" >>"$work/named.conf"
"$BLKNOTIFYD" -c "$work/named.conf" --check-config >"$work/named.check" 2>&1
ok "--check-config shows outputs_devices" $(grep -qx "outputs_devices = ${named#/dev/}" "$work/named.check"; echo $?)
"$BLKNOTIFYD" -c "$work/named.conf" --source bpf 2>>"$work/daemon.log" &
daemon=$!
pids+=($daemon)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p_daemon/metrics" >/dev/null && break; sleep 0.1; done
"$BLKWATCH" --source daemon --socket "$work/sock" -d "$dev" -n 5 >"$work/unnamed" 2>"$work/unnamed.err" &
client=$!
for _ in $(seq 100); do grep -q watching "$work/unnamed.err" && break; sleep 0.05; done
for i in $(seq 0 4); do
	dd if="$dev" of=/dev/null bs=512 skip=$((4096 + 2 * i)) count=1 iflag=direct 2>/dev/null
done
for i in $(seq 0 6); do
	dd if="$named" of=/dev/null bs=512 skip=$((4096 + 2 * i)) count=1 iflag=direct 2>/dev/null
done
wait $client
expect_eq "a client watching an unnamed disk gets its records" "$(wc -l <"$work/unnamed")" 5
# The sum of a disk's error series in blknotifyd's exposition.
errors_of() {	# majmin
	curl -sf "http://127.0.0.1:$p_daemon/metrics" |
		awk -v m="devnum=\"$1\"" 'index($0, "blknotify_errors_total{") == 1 && index($0, m) { s += $2 } END { print s + 0 }'
}
for _ in $(seq 100); do [ "$(errors_of "$named_majmin")" -ge 7 ] && break; sleep 0.1; done
expect_eq "outputs_devices: the named disk's errors, exactly" "$(errors_of "$named_majmin")" 7
expect_eq "outputs_devices: none of the unnamed disk's" "$(errors_of "$majmin")" 0
kill "$daemon"
wait "$daemon"
ok "blknotifyd stops cleanly" $?
sed "s|^outputs_devices = .*|outputs_devices = $named 4095:1048575|" "$work/named.conf" >"$work/absent.conf"
"$BLKNOTIFYD" -c "$work/absent.conf" --source bpf 2>"$work/absent.err"
expect_eq "outputs_devices naming no disk: exit 1" $? 1
ok "outputs_devices naming no disk: the error says which and what to do" \
	$(grep -q "outputs_devices: 4095:1048575: no such block device (name a disk that exists, or set outputs_devices = all)" \
		"$work/absent.err"; echo $?)
[ $failed -eq 0 ] || sed 's/^/# daemon: /' "$work/daemon.log"
echo "1..$n"
[ $failed -eq 0 ]

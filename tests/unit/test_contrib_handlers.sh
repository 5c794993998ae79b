#!/bin/bash
# The example handlers of contrib/handlers/ (docs/handlers.md), run the way
# blknotifyd runs them: a clean environment with the BLKNOTIFY_* variables,
# stdin /dev/null.  Their settings come from BLKNOTIFY_RC (a handlers.rc of
# the test's own).  error-notify.sh's mail goes to a stand-in sendmail on
# PATH that keeps the message (no mail transfer agent here), and to the
# log otherwise.  TAP output; no privilege.
# Usage: test_contrib_handlers.sh SOURCE_DIR
set -u
src=$1/contrib/handlers
n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
expect_eq() {
	[ "$2" = "$3" ] || echo "# $1: got '$2', expected '$3'"
	ok "$1" $([ "$2" = "$3" ]; echo $?)
}
echo "TAP version 13"
work=$(mktemp -d /tmp/test_contrib_handlers.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
printf 'BLKNOTIFY_REPLACE_DIR=%s\nBLKNOTIFY_NPD_DIR=%s\nBLKNOTIFY_NPD_WINDOW=600\n' \
	"$work/replace" "$work/npd" >"$work/rc"
now_ns=$(($(date +%s) * 1000000000))
run() {	# SCRIPT VAR=VALUE...: as blknotifyd would
	local s=$1
	shift
	env -i PATH="$work/bin:/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 HOME=/ \
		BLKNOTIFY_RC="$work/rc" BLKNOTIFY_HANDLER="$(basename "$s")" \
		BLKNOTIFY_EVENT_ID=41 BLKNOTIFY_DEVICE=sdz BLKNOTIFY_DEVNUM=8:208 \
		BLKNOTIFY_SERIAL='ZX 12/34' BLKNOTIFY_WWN=0x5000c500a1b2c3d4 BLKNOTIFY_MODEL=ST4000 \
		BLKNOTIFY_BY_ID=/dev/disk/by-id/ata-ST4000_ZX BLKNOTIFY_SUBTYPE=medium \
		BLKNOTIFY_CLASS=error BLKNOTIFY_SECTOR=8192 BLKNOTIFY_NR_SECTORS=8 BLKNOTIFY_OP=read \
		BLKNOTIFY_ERRNO=61 BLKNOTIFY_TIME=2026-12-02T13:40:00.000000000Z \
		BLKNOTIFY_TIME_NS=$now_ns BLKNOTIFY_EVENTS_SINCE_LAST=1 "$@" "$s" </dev/null
}

# threshold-replace.sh: a file named for the serial (made safe), only for threshold events.
run "$src/threshold-replace.sh" >"$work/out" 2>&1
ok "threshold-replace.sh ignores a record that is not a threshold event" \
	$([ ! -e "$work/replace" ] || [ -z "$(ls -A "$work/replace")" ]; echo $?)
run "$src/threshold-replace.sh" BLKNOTIFY_SUBTYPE=threshold BLKNOTIFY_THRESHOLD=medium \
	BLKNOTIFY_THRESHOLD_N=10 BLKNOTIFY_THRESHOLD_T=600 BLKNOTIFY_THRESHOLD_COUNT=10 >"$work/out" 2>&1
ok "threshold-replace.sh succeeds" $?
f=$work/replace/ZX_12_34
ok "it marks the disk with a file named for its serial, made safe ($f)" $([ -f "$f" ]; echo $?)
expect_eq "the mark holds the reason" "$(sed -n 's/^REASON=//p' "$f" 2>/dev/null)" \
	"10 medium errors within 600 s (threshold 10/600)"
expect_eq "the mark holds the WWN" "$(sed -n 's/^WWN=//p' "$f" 2>/dev/null)" 0x5000c500a1b2c3d4
expect_eq "no temporary file is left" "$(ls -A "$work/replace" | wc -l)" 1
run "$src/threshold-replace.sh" BLKNOTIFY_SUBTYPE=threshold BLKNOTIFY_SERIAL= BLKNOTIFY_WWN= >/dev/null 2>&1
ok "without serial or WWN the kernel name names the mark" $([ -f "$work/replace/sdz" ]; echo $?)

# error-npd.sh and npd-check.sh: node-problem-detector's plugin protocol (exit 0 OK, 1 problem, 3 unknown).
run "$src/npd-check.sh" >"$work/out"
expect_eq "npd-check.sh: Unknown (3) before any status" $? 3
run "$src/error-npd.sh" BLKNOTIFY_EVENTS_SINCE_LAST=5
ok "error-npd.sh succeeds" $?
run "$src/error-npd.sh" BLKNOTIFY_EVENTS_SINCE_LAST=2 BLKNOTIFY_SUBTYPE=io
expect_eq "error-npd.sh adds the runs' EVENTS_SINCE_LAST" "$(sed -n 's/^ERRORS=//p' "$work/npd/sdz")" 7
run "$src/npd-check.sh" >"$work/out"
expect_eq "npd-check.sh: NonOK (1) after a recent error" $? 1
grep -q "^block device errors: sdz: 7 errors, last io at 2026-12-02T13:40:00.000000000Z$" "$work/out"
ok "npd-check.sh names the disk, the count and the last error" $?
run "$src/error-npd.sh" BLKNOTIFY_DEVICE=sdy BLKNOTIFY_TIME_NS=$((now_ns - 3600 * 1000000000))
run "$src/npd-check.sh" >"$work/out"
ok "npd-check.sh leaves out a disk whose last error is older than the window" \
	$(! grep -q sdy "$work/out"; echo $?)
rm "$work/npd/sdz"
run "$src/npd-check.sh" >"$work/out"
expect_eq "npd-check.sh: OK (0) when no disk had an error within the window" $? 0
run "$src/error-npd.sh" BLKNOTIFY_DEVICE=../x >/dev/null 2>&1
ok "error-npd.sh refuses a device name with a slash" $([ $? -ne 0 ] && [ ! -e "$work/x" ]; echo $?)
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); assert c["plugin"] == "custom" and c["rules"][0]["path"].endswith("/npd-check.sh")' \
	"$src/blknotify-npd.json"
ok "blknotify-npd.json is node-problem-detector custom plugin JSON naming npd-check.sh" $?

# error-notify.sh: mail through sendmail when configured, else the log.
printf '#!/bin/sh\n# stand-in for sendmail(8): keep the arguments and the message\necho "$*" >"%s"\ncat >"%s"\n' \
	"$work/mail.args" "$work/mail" >"$work/bin/sendmail"
chmod +x "$work/bin/sendmail"
run "$src/error-notify.sh" BLKNOTIFY_EVENTS_SINCE_LAST=12 >"$work/out" 2>&1
ok "error-notify.sh without BLKNOTIFY_MAIL_TO succeeds" $?
ok "... and sends no mail" $([ ! -e "$work/mail" ]; echo $?)
echo "BLKNOTIFY_MAIL_TO=ops@example.org" >>"$work/rc"
run "$src/error-notify.sh" BLKNOTIFY_EVENTS_SINCE_LAST=12 >"$work/out" 2>&1
ok "error-notify.sh with BLKNOTIFY_MAIL_TO succeeds" $?
expect_eq "it calls sendmail -oi -t" "$(cat "$work/mail.args" 2>/dev/null)" "-oi -t"
expect_eq "the mail goes to BLKNOTIFY_MAIL_TO" "$(sed -n 's/^To: //p' "$work/mail" 2>/dev/null)" ops@example.org
expect_eq "the subject tells the disk, its serial and the count" \
	"$(sed -n 's/^Subject: //p' "$work/mail" 2>/dev/null)" \
	"blknotify: sdz (ZX 12/34): 12 medium errors (the last: read at sector 8192)"
grep -q "^Errors:    12 since the last report for this disk and subtype$" "$work/mail"
ok "the body tells how many errors the run stands for" $?

if command -v shellcheck >/dev/null; then
	shellcheck -s sh "$src"/*.sh
	ok "shellcheck finds nothing in the examples" $?
fi
echo "1..$n"
[ "$failed" -eq 0 ]

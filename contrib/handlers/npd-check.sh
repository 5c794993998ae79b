#!/bin/sh
# node-problem-detector custom plugin (blknotify-npd.json): exit 1 (NonOK)
# with a message naming the disks that had an error within
# BLKNOTIFY_NPD_WINDOW seconds (error-npd.sh writes their status), 0 (OK)
# otherwise, 3 (Unknown) when there is no status to read.
set -u
rc=${BLKNOTIFY_RC:-/etc/blknotify/handlers.rc}
# shellcheck disable=SC1090
[ -r "$rc" ] && . "$rc"
dir=${BLKNOTIFY_NPD_DIR:-/var/lib/blknotify/npd}
window=${BLKNOTIFY_NPD_WINDOW:-3600}
[ -d "$dir" ] || { echo "no status in $dir (is error-npd.sh enabled?)"; exit 3; }
now=$(date +%s)
msg=
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	last=$(sed -n 's/^LAST_TIME_S=//p' "$f")
	case $last in '' | *[!0-9]*) continue ;; esac
	[ $((now - last)) -le "$window" ] || continue
	msg="$msg$(sed -n 's/^DEVICE=//p' "$f"): $(sed -n 's/^ERRORS=//p' "$f") errors, last $(sed -n 's/^LAST_SUBTYPE=//p' "$f") at $(sed -n 's/^LAST_TIME=//p' "$f"); "
done
if [ -n "$msg" ]; then
	echo "block device errors: ${msg%; }"
	exit 1
fi
echo "no block device errors in the last $window s"
exit 0

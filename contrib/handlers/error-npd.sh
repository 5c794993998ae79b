#!/bin/sh
# blknotify example handler: the status node-problem-detector reads.  For
# every error (the "error" class), writes BLKNOTIFY_NPD_DIR/DISK (atomically)
# with the disk's last error and the errors counted so far; npd-check.sh,
# node-problem-detector's custom plugin (blknotify-npd.json), reports the
# disks with an error within BLKNOTIFY_NPD_WINDOW as a problem.
set -u
rc=${BLKNOTIFY_RC:-/etc/blknotify/handlers.rc}
# shellcheck disable=SC1090
[ -r "$rc" ] && . "$rc"
dir=${BLKNOTIFY_NPD_DIR:-/var/lib/blknotify/npd}
dev=${BLKNOTIFY_DEVICE:?}
case $dev in */* | .*) echo "error-npd: odd device name $dev" >&2; exit 1 ;; esac
mkdir -p "$dir" || exit 1

total=0
[ -r "$dir/$dev" ] && total=$(sed -n 's/^ERRORS=//p' "$dir/$dev")
case $total in '' | *[!0-9]*) total=0 ;; esac
total=$((total + ${BLKNOTIFY_EVENTS_SINCE_LAST:-1}))
tmp=$(mktemp "$dir/.$dev.XXXXXX") || exit 1
cat >"$tmp" <<EOT
DEVICE=$dev
SERIAL=${BLKNOTIFY_SERIAL:-}
WWN=${BLKNOTIFY_WWN:-}
ERRORS=$total
LAST_SUBTYPE=${BLKNOTIFY_SUBTYPE:-}
LAST_SECTOR=${BLKNOTIFY_SECTOR:-}
LAST_TIME=${BLKNOTIFY_TIME:-}
LAST_TIME_S=$(( ${BLKNOTIFY_TIME_NS:-0} / 1000000000 ))
EOT
chmod 0644 "$tmp"
mv -f "$tmp" "$dir/$dev"

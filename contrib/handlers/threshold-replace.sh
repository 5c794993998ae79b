#!/bin/sh
# blknotify example handler: when a threshold fires (threshold_NAME = N/T in
# blknotifyd.conf: N errors on one disk within T seconds), mark the disk for
# replacement with a file BLKNOTIFY_REPLACE_DIR/ID, ID its serial (else its
# WWN, else its kernel name), holding what was seen.  A fleet's tooling picks
# these files up; removing one clears the mark.  See docs/handlers.md.
set -u
rc=${BLKNOTIFY_RC:-/etc/blknotify/handlers.rc}
# shellcheck disable=SC1090
[ -r "$rc" ] && . "$rc"
dir=${BLKNOTIFY_REPLACE_DIR:-/var/lib/blknotify/replace}
[ "${BLKNOTIFY_SUBTYPE:-}" = threshold ] || exit 0
id=${BLKNOTIFY_SERIAL:-}
[ -n "$id" ] || id=${BLKNOTIFY_WWN:-}
[ -n "$id" ] || id=${BLKNOTIFY_DEVICE:?}
# A serial is the device's to choose: keep a file name of it.
id=$(printf '%s' "$id" | tr -c 'A-Za-z0-9._:-' '_')
case $id in .*) id=_${id#.} ;; esac
mkdir -p "$dir" || exit 1
tmp=$(mktemp "$dir/.$id.XXXXXX") || exit 1
cat >"$tmp" <<EOT
DEVICE=${BLKNOTIFY_DEVICE:-}
DEVNUM=${BLKNOTIFY_DEVNUM:-}
SERIAL=${BLKNOTIFY_SERIAL:-}
WWN=${BLKNOTIFY_WWN:-}
MODEL=${BLKNOTIFY_MODEL:-}
BY_ID=${BLKNOTIFY_BY_ID:-}
REASON=${BLKNOTIFY_THRESHOLD_COUNT:-?} ${BLKNOTIFY_THRESHOLD:-?} errors within ${BLKNOTIFY_THRESHOLD_T:-?} s (threshold ${BLKNOTIFY_THRESHOLD_N:-?}/${BLKNOTIFY_THRESHOLD_T:-?})
LAST_SECTOR=${BLKNOTIFY_SECTOR:-}
TIME=${BLKNOTIFY_TIME:-}
EVENT_ID=${BLKNOTIFY_EVENT_ID:-}
EOT
chmod 0644 "$tmp"
mv -f "$tmp" "$dir/$id"
echo "marked ${BLKNOTIFY_DEVICE:-?} ($id) for replacement: $dir/$id"

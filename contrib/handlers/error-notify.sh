#!/bin/sh
# blknotify example handler: a summary of each run, mailed when
# BLKNOTIFY_MAIL_TO is set in handlers.rc and sendmail(8) exists, else sent
# to the journal with logger(1) (else printed: blknotifyd logs it).
# Runs for every error (the "error" class) and, rate-limited by blknotifyd,
# tells how many errors the run stands for.  See docs/handlers.md.
set -u
rc=${BLKNOTIFY_RC:-/etc/blknotify/handlers.rc}
# shellcheck disable=SC1090
[ -r "$rc" ] && . "$rc"

dev=${BLKNOTIFY_DEVICE:-?}
id=${BLKNOTIFY_SERIAL:-}
[ -n "$id" ] || id=${BLKNOTIFY_WWN:-}
[ -n "$id" ] || id="no serial"
n=${BLKNOTIFY_EVENTS_SINCE_LAST:-1}
if [ "$n" -gt 1 ]; then
	what="$n ${BLKNOTIFY_SUBTYPE:-?} errors (the last: ${BLKNOTIFY_OP:-?} at sector ${BLKNOTIFY_SECTOR:-?})"
else
	what="a ${BLKNOTIFY_SUBTYPE:-?} error (${BLKNOTIFY_OP:-?} at sector ${BLKNOTIFY_SECTOR:-?})"
fi
subject="blknotify: $dev ($id): $what"
body="Disk:      $dev (${BLKNOTIFY_DEVNUM:-?})
Model:     ${BLKNOTIFY_MODEL:-}
Serial:    ${BLKNOTIFY_SERIAL:-}
WWN:       ${BLKNOTIFY_WWN:-}
By-id:     ${BLKNOTIFY_BY_ID:-}
Event:     ${BLKNOTIFY_EVENT_ID:-?} at ${BLKNOTIFY_TIME:-?}
Subtype:   ${BLKNOTIFY_SUBTYPE:-?} (${BLKNOTIFY_CLASS:-?}), errno ${BLKNOTIFY_ERRNO:-?}
Operation: ${BLKNOTIFY_OP:-?}, sector ${BLKNOTIFY_SECTOR:-?}, ${BLKNOTIFY_NR_SECTORS:-?} sectors
Errors:    $n since the last report for this disk and subtype"

sendmail=$(command -v sendmail 2>/dev/null || { [ -x /usr/sbin/sendmail ] && echo /usr/sbin/sendmail; })
if [ -n "${BLKNOTIFY_MAIL_TO:-}" ] && [ -n "$sendmail" ]; then
	printf 'To: %s\nSubject: %s\n\n%s\n' "$BLKNOTIFY_MAIL_TO" "$subject" "$body" |
		"$sendmail" -oi -t && exit 0
	echo "error-notify: sendmail failed; logging instead" >&2
fi
if command -v logger >/dev/null 2>&1 &&
   logger -t blknotify-handler -p daemon.warning -- "$subject" 2>/dev/null; then
	exit 0
fi
echo "$subject"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Every library scripts/build needs (need_pc) and every build tool it names
# is in debian/control's Build-Depends: a Debian build (apt-get build-dep,
# a buildd) installs only those, while this machine has them all anyway.
# Usage: test_build_depends.sh SOURCE_ROOT
set -eu
root=$1
# Build-Depends, one package name per line, without versions or profiles.
deps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$root/debian/control" | sed '$d' |
	sed 's/^Build-Depends://; s/([^)]*)//g; s/<[^>]*>//g; s/,/\n/g' | tr -d ' \t' | sed '/^$/d')
# The packages scripts/build checks for, but for build-essential (implied).
want=$(sed -n 's/^need_pc [^ ]* \([^ \t]*\).*/\1/p; s/^need [^ ]* \([^ \t]*\).*/\1/p' "$root/scripts/build" |
	grep -v '^build-essential$' | grep -v '^pkg-config$' | sort -u)
n=0 fail=0
echo "TAP version 13"
echo "1..$(echo "$want" | wc -l)"
for p in $want; do
	n=$((n + 1))
	if echo "$deps" | grep -qx "$p"; then
		echo "ok $n - Build-Depends has $p"
	else
		echo "not ok $n - Build-Depends has $p (scripts/build needs it: add it to debian/control)"
		fail=1
	fi
done
exit $fail

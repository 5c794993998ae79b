#!/bin/bash
# Every man page the project cites exists where it is installed, and renders.
#
# Installs the man pages of the build into a DESTDIR, then checks that each
# page renders without a warning from man(1) and groff, has a whatis entry,
# and that every page of ours cited by the units' Documentation= lines, by
# the tools' and the daemon's --help and by the pages' SEE ALSO sections is
# among them.  Pages of other projects (losetup(8)) are listed, not checked.
#
# Usage: test_man_pages.sh BUILD_DIR SOURCE_DIR   (TAP output; no privilege)
# BLKWATCH, BLKNOTIFYD and BLKFAULT name the binaries whose --help is read
# (meson sets them; BLKFAULT is empty when it is not built).
set -u

build=$1
src=$2
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift; local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}

echo "TAP version 13"
work=$(mktemp -d /tmp/test_man_pages.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT

if ! out=$(meson install -C "$build" --no-rebuild --destdir "$work/root" --tags man 2>&1); then
	echo "Bail out! meson install --tags man failed: $out"
	exit 1
fi
mapfile -t pages < <(find "$work/root" -path '*/man/man[1-8]/*' -type f | sort)
[ ${#pages[@]} -gt 0 ] && ok "meson install put ${#pages[@]} man pages in DESTDIR" ||
	not_ok "meson install put man pages in DESTDIR" "$out"
mandir=$(dirname "$(dirname "${pages[0]:-$work/root/share/man/man1/x}")")

# Every docs/NAME.N.md becomes an installed page.
for md in "$src"/docs/*.[1-8].md; do
	page=$(basename "$md" .md)
	sec=${page##*.}
	[ -f "$mandir/man$sec/$page" ] && ok "docs/$page.md is installed as man$sec/$page" ||
		not_ok "docs/$page.md is installed as man$sec/$page" "not in $mandir/man$sec"
done

for f in "${pages[@]}"; do
	page=$(basename "$f")
	err=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$f" 2>&1 >"$work/$page.txt"); rc=$?
	if [ $rc -eq 0 ] && [ -z "$err" ] && [ -s "$work/$page.txt" ]; then
		ok "$page renders without warnings (man --warnings -l)"
	else
		not_ok "$page renders without warnings (man --warnings -l)" "exit $rc" "$err"
	fi
	err=$(groff -t -k -ww -z -man -Tutf8 "$f" 2>&1)
	[ -z "$err" ] && ok "$page: groff -ww reports nothing" || not_ok "$page: groff -ww reports nothing" "$err"
	lexgrog "$f" >/dev/null 2>&1 && ok "$page has a NAME line whatis can index" ||
		not_ok "$page has a NAME line whatis can index" "$(lexgrog "$f" 2>&1)"
	# Each name in NAME is a page "man SEC NAME" finds (libblknotify(3)'s links).
	sec=${page##*.}
	missing=
	for name in $(lexgrog "$f" 2>/dev/null | sed 's/^[^"]*"\([^ ]*\) - .*/\1/'); do
		MANPATH=$mandir man -w "$sec" "$name" >/dev/null 2>&1 || missing="$missing $name"
	done
	[ -z "$missing" ] && ok "$page: man $sec finds every name in its NAME" ||
		not_ok "$page: man $sec finds every name in its NAME" "not found:$missing"
	case $page in
	*.1|*.8)
		grep -q '^EXIT STATUS' "$work/$page.txt" && ok "$page documents its EXIT STATUS" ||
			not_ok "$page documents its EXIT STATUS" ;;
	esac
done

# cite WHERE TEXT: one line "WHERE<TAB>NAME(SEC)" per page TEXT cites.
cite() {
	grep -oE '[A-Za-z_][A-Za-z0-9_.:-]*\([1-8][a-z]*\)' <<<"$2" | sed 's/^man://' | sort -u |
		sed "s|^|$1\t|"
}
{
	for unit in "$src"/systemd/*.service "$src"/systemd/*.socket; do
		cite "$(basename "$unit") Documentation=" "$(grep '^Documentation=' "$unit")"
	done
	for bin in "${BLKWATCH:-}" "${BLKNOTIFYD:-}" "${BLKFAULT:-}"; do
		[ -n "$bin" ] || continue
		cite "$(basename "$bin") --help" "$("$bin" --help 2>&1)"
	done
	for f in "${pages[@]}"; do
		# The SEE ALSO section of the rendered page: its indented lines, up to
	# the next heading or the footer.
		cite "$(basename "$f") SEE ALSO" "$(MANWIDTH=1000 man -l "$f" 2>/dev/null |
			sed -n '/^SEE ALSO/,/^[^ ]/{/^ /p}')"
	done
} >"$work/cited"

[ -s "$work/cited" ] && ok "pages are cited: $(wc -l <"$work/cited") citations" ||
	not_ok "pages are cited" "no citation found: the extraction is broken"
while IFS=$'\t' read -r where ref; do
	name=${ref%(*}
	sec=${ref#*(}; sec=${sec%)}
	case $name in
	blknotify*|libblknotify*|blkwatch*|blkfault*)
		# As man(1) finds it for "man SEC NAME" and systemd for man:NAME(SEC).
		found=$(MANPATH=$mandir man -w "$sec" "$name" 2>&1)
		if [ "$found" = "$mandir/man${sec:0:1}/$name.$sec" ]; then
			ok "$ref, cited by $where, is installed"
		else
			not_ok "$ref, cited by $where, is installed" "man -w $sec $name: $found"
		fi ;;
	*)
		echo "# $ref, cited by $where: another project's page, not checked" ;;
	esac
done <"$work/cited"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]

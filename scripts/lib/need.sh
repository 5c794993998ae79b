# Shared by scripts/build, scripts/test, scripts/lib/fresh-root, tests/vm/run
# and tests/kernel/run (POSIX sh; source it): check the commands a tier needs
# before it starts, and name the Debian package that provides a missing one.
#
#	need_repo=/path/to/blknotify	# where scripts/deps-*.txt are (default .)
#	. scripts/lib/need.sh
#	need meson meson		# a command
#	need_pc libbpf libbpf-dev	# a library, by its pkg-config name
#	need_check "scripts/build" || exit 1
#
# need and need_pc only note; need_check reports everything missing at once,
# with the packages to install, and fails.  A package that no
# scripts/deps-*.txt names is an error too, present or not: scripts/bootstrap
# (and so a fresh machine) would never install it.  Packages every Debian
# system has (coreutils' siblings dpkg, apt, libc-bin, gzip, tar) are not
# checked.

need_missing=
need_pkgs=
need_unlisted=

need_note() {	# FOUND WHAT PACKAGE
	# Read as scripts/bootstrap reads them: "#" comments, any white space.
	sed 's/#.*//' "${need_repo:-.}"/scripts/deps-*.txt 2>/dev/null |
		tr -s ' \t' '\n' | grep -x "$3" >/dev/null || need_unlisted="$need_unlisted $3"
	[ "$1" -eq 0 ] || {
		need_missing="$need_missing $2 ($3)"
		case " $need_pkgs " in *" $3 "*) ;; *) need_pkgs="$need_pkgs $3" ;; esac
	}
}

need() {	# CMD PACKAGE
	# Root's PATH may lack the sbin directories (bpftool, losetup, modprobe).
	if (PATH=$PATH:/usr/sbin:/sbin; command -v "$1") >/dev/null 2>&1; then
		need_note 0 "$1" "$2"
	else
		need_note 1 "$1" "$2"
	fi
}

need_pc() {	# PKG-CONFIG-MODULE PACKAGE
	if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"; then
		need_note 0 "$1.pc" "$2"
	else
		need_note 1 "$1.pc" "$2"
	fi
}

need_check() {	# WHO: 0 when nothing noted is missing or unlisted
	need_status=0
	if [ -n "$need_unlisted" ]; then
		echo "$1: packages not named in any scripts/deps-*.txt:$need_unlisted" \
			"(add them there, so that scripts/bootstrap installs them)" >&2
		need_status=1
	fi
	if [ -n "$need_missing" ]; then
		echo "$1: not found:$need_missing" >&2
		echo "$1: install with scripts/bootstrap, or: apt-get install$need_pkgs" >&2
		need_status=1
	fi
	need_missing= need_pkgs= need_unlisted=
	return $need_status
}

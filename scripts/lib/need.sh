# Shared by scripts/build, scripts/test, tests/vm/run and tests/kernel/run
# (POSIX sh; source it): check the commands a tier needs before it starts,
# and name the Debian package that provides a missing one.
#
#	need_repo=/path/to/blknotify	# where scripts/deps-*.txt are (default .)
#	. scripts/lib/need.sh
#	need meson meson
#	need bpftool bpftool
#	need_check "scripts/build" || exit 1
#
# need() only notes; need_check() reports every missing command at once,
# with the packages to install, and fails.  A package that no
# scripts/deps-*.txt names is an error too: scripts/bootstrap (and so a
# fresh machine) would never install it.

need_missing=
need_pkgs=
need_unlisted=

need() {	# CMD PACKAGE
	grep -qsx "$2" "${need_repo:-.}"/scripts/deps-*.txt ||
		need_unlisted="$need_unlisted $2"
	# Root's PATH may lack the sbin directories (bpftool, losetup, modprobe).
	PATH=$PATH:/usr/sbin:/sbin command -v "$1" >/dev/null 2>&1 && return 0
	need_missing="$need_missing $1 ($2)"
	case " $need_pkgs " in *" $2 "*) ;; *) need_pkgs="$need_pkgs $2" ;; esac
}

need_check() {	# WHO: 0 when nothing need() checked is missing
	status=0
	if [ -n "$need_unlisted" ]; then
		echo "$1: packages not named in any scripts/deps-*.txt:$need_unlisted" \
			"(add them there, so that scripts/bootstrap installs them)" >&2
		status=1
	fi
	if [ -n "$need_missing" ]; then
		echo "$1: commands not found:$need_missing" >&2
		echo "$1: install them with scripts/bootstrap, or: apt-get install$need_pkgs" >&2
		status=1
	fi
	need_missing= need_pkgs= need_unlisted=
	return $status
}

# shellcheck shell=bash
# TAP results and waits the host shell tests share: ok and the expect_*
# checks counting into $n and $failed, skip for a whole program, and
# waiting for blkwatch to start watching or a process to end.  Sourced
# (lib-outputs.sh sources it); defines functions only.

n=0
failed=0
ok() {		# description, then the command's status
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
expect_eq() {	# description actual expected
	[ "$2" = "$3" ] || echo "# $1: got '$2', expected '$3'"
	ok "$1" "$([ "$2" = "$3" ]; echo $?)"
}
expect_match() {	# description actual regex
	[[ $2 =~ $3 ]] || echo "# $1: got '$2', expected to match '$3'"
	ok "$1" "$([[ $2 =~ $3 ]]; echo $?)"
}
expect_in() {	# description file fixed-string
	grep -qF -- "$3" "$2" || { echo "# $1: no '$3' in:"; sed 's/^/#   /' "$2"; }
	ok "$1" "$(grep -qF -- "$3" "$2"; echo $?)"
}

# The whole program skipped, after "TAP version 13"; a failure where
# BLKNOTIFY_TEST_NO_SKIP says every precondition is there (CI).
skip() {	# reason
	echo "1..0 # SKIP $1"
	[ -n "${BLKNOTIFY_TEST_NO_SKIP:-}" ] && exit 1
	exit 0
}

wait_watching() {	# errfile pid: until blkwatch says it is watching (10 s)
	for _ in $(seq 200); do
		grep -q "watching" "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
wait_exit() {	# pid: its exit status, or 124 after 20 s (a hang fails the test, not blocks it)
	for _ in $(seq 200); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return; }
		sleep 0.1
	done
	kill -9 "$1"; wait "$1" 2>/dev/null
	return 124
}

#!/usr/bin/env bats
# A process that manages nothing maps only the pass-through's code: the
# library's code is linked in two segments (shim/hot.ld), and the kernel's
# fault-around, which maps up to 64 KiB of a file around each page fault,
# stays within one. tests/progs/coldpages.c makes every interposed call on
# unmanaged paths and counts the pages of each segment present in memory
# (exact, unlike RSS totals; the RSS itself is `make bench`'s row 7). The
# third test counts the library's segments, which every process maps at
# start (the time is `make bench`'s row 9); the last looks at where the one
# byte every process writes at exit sits. No sshd: these run the program
# directly.

setup_file() { :; }
teardown_file() { :; }
setup() {
	# ASan's module constructors run at load in every object, repair's too.
	[[ -z ${MUXFIX_TEST_PRELOAD_EXTRA:-} ]] || skip "the optimised build's layout (make test), not the sanitizer's"
	B=${MUXFIX_TEST_BUILD:-$BATS_TEST_DIRNAME/../build}
	# Built with a linker other than GNU ld, the library is one piece
	# (Makefile, LD_IS_BFD). With GNU ld it must not be: no skip then, the
	# tests below fail.
	# shellcheck disable=SC2086 # LDFLAGS is words, as make splits it
	if [[ $(readelf -lW "$B/libmuxfix.so" | grep -c 'LOAD.* R E ') -ne 2 ]] &&
		! "${CC:-cc}" ${LDFLAGS:-} -Wl,--version 2>/dev/null | head -n 1 | grep -q '^GNU ld'; then
		skip "the library was linked in one piece (not GNU ld: Makefile, LD_IS_BFD)"
	fi
	T=$(mktemp -d)
	# A directory of our own whose paths share no literal prefix with any
	# pattern (a fixed name in /var/tmp could be another user's file).
	U=$(mktemp -d /var/tmp/muxfix-memory.XXXXXX)
	mkdir "$T/run" "$T/pass" "$T/home"
	# The default patterns and T/*/cm*: T/pass/x-1 starts with a pattern's
	# literal prefix, ~/.ssh/agent.sock shares ~/.ssh/ with six patterns.
	# shellcheck disable=SC2088 # '~' is for the library to expand
	export MUXFIX_PATH='~/.ssh/sockets/*:~/.ssh/cm-*:~/.ssh/cm/*:~/.ssh/master-*:~/.ssh/controlmasters/*:~/.ssh/control/*:~/.ansible/cp/*:/tmp/ssh_control_*/*'":$T/*/cm*"
	unset MUXFIX_DISABLE MUXFIX_VERBOSE MUXFIX_LOG MUXFIX_HOME SSH_AUTH_SOCK
}
teardown() { rm -rf "$T" "$U"; }

# pages [N=V ...] PATH...: coldpages under the library, in T/run.
pages() {
	local -a envs=()
	while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
	env "${envs[@]}" LD_PRELOAD="$B/libmuxfix.so" "$B/coldpages" "$T/run" "$@"
}

@test "calls that repair nothing map no page of the repair's code" {
	# As the muxfix command runs a process ('~' is T/home), then with
	# LD_PRELOAD alone ('~' looked up in the passwd database, since
	# T/pass/.ssh/cm-1 could match ~/.ssh/cm-* whatever the home), then
	# with MUXFIX_LOG (its file checked when the configuration is read).
	run pages "MUXFIX_HOME=$(id -u):$T/home" "$U/x-none" "$T/home/.ssh/agent.sock" "$T/pass/x-1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ ^hot\ ([0-9]+)\ cold\ 0$ ]]
	[ "${BASH_REMATCH[1]}" -gt 0 ]
	rm -rf "$T/run" && mkdir "$T/run"
	run pages "$U/x-none" "$T/pass/x-1" "$T/pass/.ssh/cm-1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ ^hot\ [1-9][0-9]*\ cold\ 0$ ]]
	rm -rf "$T/run" && mkdir "$T/run"
	run pages "MUXFIX_HOME=$(id -u):$T/home" "MUXFIX_LOG=$T/home/log" "$T/pass/x-1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ ^hot\ [1-9][0-9]*\ cold\ 0$ ]]
}

@test "one managed call maps the repair's code: the count sees it" {
	# T/pass/cm-1 matches T/*/cm* and does not exist: the repair looks.
	run pages "MUXFIX_HOME=$(id -u):$T/home" "$T/pass/cm-1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ ^hot\ [1-9][0-9]*\ cold\ [1-9][0-9]*$ ]]
}

@test "the loader maps three segments of the library: two of code, one of data" {
	# Each segment costs every process about 5 us at start (Makefile,
	# -z noseparate-code): with GNU ld's default on x86 (-z separate-code)
	# the headers and the read-only data had two more.
	run readelf -lW "$B/libmuxfix.so"
	[ "$status" -eq 0 ]
	echo "$output" | grep ' LOAD '
	# Two of them are code, the third is the data (with GNU ld setup does
	# not skip, so a library in one piece fails here).
	[ "$(grep -c ' LOAD ' <<<"$output")" -eq 3 ]
	[ "$(grep -c ' LOAD .* R E ' <<<"$output")" -eq 2 ]
}

@test "what every process writes of the library at exit shares a page it has dirtied anyway" {
	# crtbeginS.o's completed.0, read and set by __do_global_dtors_aux at
	# every exit. First in a page-aligned .bss it sat alone on a page, and
	# every process, managing anything or not, took two page faults for it
	# (shim/hot.ld keeps it after .data, which relocation has written).
	local nmout secs sym addr size
	nmout=$(nm "$B/libmuxfix.so")
	# completed.0 since GCC 10, completed.NNNN before.
	sym=$(awk '$3 ~ /^completed\.[0-9]+$/ { print $1; exit }' <<<"$nmout")
	[ -n "$sym" ] || skip "no completed.N in the library (its crtbeginS.o has no such byte)"
	secs=$(readelf -SW "$B/libmuxfix.so")
	read -r addr size < <(awk '{ for (i = 1; i < NF; i++) if ($i == ".data") print $(i + 2), $(i + 4) }' <<<"$secs") || true
	echo "completed.N at 0x$sym; .data at 0x${addr:-?}, 0x${size:-?} bytes"
	[ -n "$addr" ]
	[ -n "$size" ]
	[ $((0x$sym / 4096)) -eq $(((0x$addr + 0x$size - 1) / 4096)) ]
}

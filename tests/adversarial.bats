#!/usr/bin/env bats
# Adversarial cases: a ControlPath swapped under the library's feet, hostile
# and odd directories, extreme paths and settings, threads, signals and fork.
# Every program runs as the unprivileged test user, bounded by `timeout`.
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*" MUXFIX_VERBOSE=1
}

no_master() { # RUNNER PATH [ssh options]: ssh with ControlMaster=no
	local runner=$1 p=$2
	shift 2
	"$runner" "$@" -o ControlMaster=no -o ControlPath="$p" testhost echo ok
}

field() { # NAME LINE: the value of NAME=VALUE in a summary line
	local re="(^| )$1=([^ ]*)"
	[[ $2 =~ $re ]] && printf '%s\n' "${BASH_REMATCH[2]}"
}

# ---- 1. the ControlPath swapped between a dead socket of ours, a symlink
# to another user's socket, a symlink to our file, and our regular file ----

# swap_setup: $T/foreign/sock (nobody's dead socket, 0777, root's directory
# outside the managed pattern), $T/files/target (our file), $T/sw (ours).
swap_setup() {
	[[ $EUID -eq 0 ]] || skip "needs root to make a socket of another uid"
	mkdir -m 0755 "$T/foreign"
	"$MF_MKSOCK" "$T/foreign/sock"
	chown nobody "$T/foreign/sock"
	chmod 0777 "$T/foreign/sock"
	mf_as_user mkdir -m 0700 "$T/sw" "$T/files"
	mf_as_user sh -c "echo mine > '$T/files/target'"
	FOREIGN_ID=$(stat -c '%i %U %a %Z' "$T/foreign/sock")
	TARGET_ID=$(stat -c '%i %U %Y' "$T/files/target")
	# Exactly the ControlPath: the staging name beside it is not managed.
	export MUXFIX_PATH="$T/sw/cm" MUXFIX_VERBOSE=0
}

swap_check_untouched() {
	assert_file_socket "$T/foreign/sock"
	assert_equal "$FOREIGN_ID" "$(stat -c '%i %U %a %Z' "$T/foreign/sock")"
	assert_equal "$TARGET_ID" "$(stat -c '%i %U %Y' "$T/files/target")"
	assert_equal "mine" "$(cat "$T/files/target")"
}

# 5 s or 100000 rounds, 3 connector processes under the library.
swap_mux() {
	mf_mux MUXFIX_TIMEOUT_MS=0 timeout 60 "$MF_BIN/symlink_swap" "$T/sw/cm" \
		"$T/foreign/sock" "$T/files/target" 5 100000 3
}

@test "symlink swap, plain (control): nothing is removed" {
	swap_setup
	run mf_plain timeout 60 "$MF_BIN/symlink_swap" "$T/sw/cm" \
		"$T/foreign/sock" "$T/files/target" 2 100000 3
	echo "# plain: $output" >&3
	assert_status 0
	assert_equal 0 "$(field reaped "$output")"
	swap_check_untouched
}

@test "symlink swap, muxfix: the other user's socket and the symlink targets are never touched; our dead sockets are repaired" {
	swap_setup
	local t0=$SECONDS
	run swap_mux
	echo "# muxfix: $output ($((SECONDS - t0)) s)" >&3
	local line=${output##*$'\n'}
	[[ $line == rounds=* ]] || _mf_fail "no summary line:" "$output"
	assert_equal 0 "$(field changed "$line")"
	assert_equal 0 "$(field other "$line")"
	# The library was active: dead sockets were removed from the path.
	[[ $(field reaped "$line") -gt 0 ]] || _mf_fail "no dead socket was repaired: $line"
	[[ $(field rounds "$line") -ge 1000 ]] || _mf_fail "too few rounds: $line"
	swap_check_untouched
}

# This test found a real race: checking the name with fstatat() and then
# unlinkat()ing it by name removed a symlink or file renamed onto the
# ControlPath in between (a few times per 10000 rounds). The library now moves
# the entry aside atomically and examines what moved.
@test "symlink swap, muxfix: nothing but our dead sockets is ever removed from the ControlPath" {
	swap_setup
	run swap_mux
	echo "# muxfix: $output" >&3
	assert_status 0
	assert_equal 0 "$(field removed_other "${output##*$'\n'}")"
	swap_check_untouched
}

# ---- 2. directories ----

@test "a world-writable control directory (not sticky): refused, nothing removed" {
	mf_as_user mkdir "$T/ww"
	chmod 0777 "$T/ww"
	export MUXFIX_PATH="$T/ww/*"
	mf_dead_socket "$T/ww/cm"
	run no_master mf_mux_ssh "$T/ww/cm"
	assert_status 0
	assert_contains "$output" "muxfix: left $T/ww/cm alone: its directory $T/ww is not safe to change (others can write to it)"
	assert_contains "$output" "Control socket connect($T/ww/cm): Connection refused"
	assert_file_socket "$T/ww/cm"
}

@test "a control directory owned by another user: refused, our socket in it not removed" {
	[[ $EUID -eq 0 ]] || skip "needs root to make a directory of another uid"
	mkdir -m 0755 "$T/od"
	"$MF_MKSOCK" "$T/od/cm"
	chown "$MF_UID:$MF_GID" "$T/od/cm"
	chown nobody "$T/od"
	export MUXFIX_PATH="$T/od/*"
	run no_master mf_mux_ssh "$T/od/cm"
	assert_status 0
	assert_contains "$output" "muxfix: left $T/od/cm alone: its directory $T/od is not safe to change (it belongs to another user)"
	assert_contains "$output" "Control socket connect($T/od/cm): Connection refused"
	assert_file_socket "$T/od/cm"
	assert_owner "$T/od/cm" "$MF_USER"
}

sticky_dir() { # $T/sticky: mode 1777, owned by root, like /tmp
	[[ $EUID -eq 0 ]] || skip "needs root to make a root-owned sticky directory"
	mkdir "$T/sticky"
	chmod 1777 "$T/sticky"
	export MUXFIX_PATH="$T/sticky/*"
}

@test "a sticky world-writable directory (root's, like /tmp) with another user's dead socket: kept, ssh completes" {
	sticky_dir
	"$MF_MKSOCK" "$T/sticky/cm"
	chown nobody "$T/sticky/cm"
	chmod 0777 "$T/sticky/cm"
	run no_master mf_mux_ssh "$T/sticky/cm"
	assert_status 0
	assert_contains "$output" "muxfix: left $T/sticky/cm alone: it belongs to another user"
	assert_contains "$output" "Control socket connect($T/sticky/cm): Connection refused"
	assert_file_socket "$T/sticky/cm"
	assert_owner "$T/sticky/cm" nobody
}

@test "a sticky world-writable directory (root's, like /tmp) with our dead socket: removed, repaired" {
	sticky_dir
	mf_dead_socket "$T/sticky/cm"
	run no_master mf_mux_ssh "$T/sticky/cm"
	assert_status 0
	assert_contains "$output" "muxfix: removed dead control socket $T/sticky/cm"
	refute_contains "$output" "Connection refused"
	refute_exists "$T/sticky/cm"
}

# ---- 3. extreme paths ----

# pad_path LEN: a path of exactly LEN bytes in $T/l/ (made, ours; managed).
pad_path() {
	local prefix="$T/l/cm-" pad
	[[ -d $T/l ]] || mf_as_user mkdir -m 0700 "$T/l"
	pad=$(printf '%*s' $(($1 - ${#prefix})) '' | tr ' ' x)
	printf '%s%s\n' "$prefix" "$pad"
}

@test "ControlPath of 107 bytes (the longest sun_path holds): repaired" {
	local p
	export MUXFIX_PATH="$T/l/*"
	p=$(pad_path 107)
	assert_equal 107 "${#p}"
	mf_dead_socket "$p"
	assert_file_socket "$p"
	# ssh prints at most 100 bytes of the path ("%.100s").
	run no_master mf_plain_ssh "$p"
	assert_contains "$output" "Control socket connect(${p:0:100}): Connection refused"
	assert_file_socket "$p"
	run no_master mf_mux_ssh "$p"
	assert_status 0
	assert_contains "$output" "muxfix: removed dead control socket $p"
	refute_contains "$output" "Connection refused"
	refute_exists "$p"
}

@test "ControlPath of 108 bytes: ssh refuses it itself; muxfix changes neither status nor message" {
	local p plain_status plain_output
	export MUXFIX_PATH="$T/l/*"
	p=$(pad_path 108)
	assert_equal 108 "${#p}"
	run no_master mf_plain_ssh "$p"
	plain_status=$status plain_output=$output
	assert_contains "$plain_output" "ControlPath too long"
	run no_master mf_mux_ssh "$p"
	assert_equal "$plain_status" "$status"
	assert_equal "$plain_output" "$output"
	# and with a master that would bind it
	run mf_plain_ssh -o ControlMaster=auto -o ControlPath="$p" testhost echo ok
	plain_status=$status plain_output=$output
	run mf_mux_ssh -o ControlMaster=auto -o ControlPath="$p" testhost echo ok
	assert_equal "$plain_status" "$status"
	assert_equal "$plain_output" "$output"
}

@test "non-UTF-8 bytes in the ControlPath and in MUXFIX_PATH: no crash, repaired when it matches" {
	local d=$T/$'\xff\xfe' p
	p="$d/cm"$'\x80\xc3'
	mf_as_user mkdir -m 0700 "$d"
	export MUXFIX_PATH="$d/cm"$'\x80*'
	mf_dead_socket "$p"
	run no_master mf_mux_ssh "$p"
	assert_status 0
	assert_contains "$output" "muxfix: removed dead control socket $p"
	refute_exists "$p"
	# A non-UTF-8 pattern that does not match: kept, plain ssh's message.
	export MUXFIX_PATH="$d/"$'\xc3\x28'"*"
	mf_dead_socket "$p"
	run no_master mf_mux_ssh "$p"
	assert_status 0
	assert_contains "$output" "Connection refused"
	refute_contains "$output" "muxfix:"
	assert_file_socket "$p"
}

# ---- 4. extreme settings ----

@test "MUXFIX_PATH of 128 patterns (the limit): accepted, the last one works" {
	local i v=""
	for ((i = 0; i < 127; i++)); do v+="/nonexistent/p$i/*:"; done
	export MUXFIX_PATH="$v$T/*"
	mf_dead_socket "$T/cm"
	run no_master mf_mux_ssh "$T/cm"
	assert_status 0
	refute_contains "$output" "ignoring MUXFIX_PATH"
	assert_contains "$output" "muxfix: removed dead control socket $T/cm"
	refute_exists "$T/cm"
}

@test "MUXFIX_PATH of 5000 patterns: one warning line, default patterns used, ssh works" {
	local i v=""
	for ((i = 0; i < 4999; i++)); do v+="/a$i:"; done
	export MUXFIX_PATH="$v$T/*"
	mf_dead_socket "$T/cm"
	run no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "muxfix: ignoring MUXFIX_PATH='/a0:/a1:"
	assert_contains "$output" "(too many patterns); using the default patterns"
	assert_equal 1 "$(grep -c '^muxfix:' <<<"$output")"
	assert_contains "$output" "ok"
	# $T is not under the defaults: the socket stays.
	assert_file_socket "$T/cm"
}

@test "unbalanced [ in a MUXFIX_PATH pattern: a literal '[', no crash" {
	export MUXFIX_PATH="$T/[cm"
	mf_dead_socket "$T/[cm"
	mf_dead_socket "$T/c"
	run no_master mf_mux_ssh "$T/[cm"
	assert_status 0
	assert_contains "$output" "muxfix: removed dead control socket $T/[cm"
	refute_exists "$T/[cm"
	run no_master mf_mux_ssh "$T/c"
	assert_status 0
	refute_contains "$output" "muxfix:"
	assert_file_socket "$T/c"
}

# (MUXFIX_LOG: directory, symlink and a FIFO without a reader are in
# tests/config.bats; another user's files and links in tests/hostile_log.bats.)
@test "MUXFIX_LOG another user's file we cannot write (root's, 0600): one line, stderr used, file untouched" {
	[[ $EUID -eq 0 ]] || skip "needs root to own the log file"
	printf 'root only\n' >"$T/root.log"
	chmod 0600 "$T/root.log"
	export MUXFIX_LOG="$T/root.log"
	mf_dead_socket "$T/cm"
	run no_master mf_mux_ssh "$T/cm"
	assert_status 0
	# The open fails (EACCES); the warning names the reason that matters:
	# even writable, another user's file would be refused.
	assert_contains "$output" "muxfix: cannot log to MUXFIX_LOG='$T/root.log' (owned by another user (uid 0)); logging to stderr"
	assert_contains "$output" "muxfix: removed dead control socket $T/cm"
	refute_exists "$T/cm"
	assert_equal "root only" "$(cat "$T/root.log")"
	assert_owner "$T/root.log" root
	assert_mode "$T/root.log" 600
}

# ---- 5. threads, signals, fork ----

# threads MODE: 32 threads, 3 s or 2000 rounds, with the default
# MUXFIX_WAIT_MS. This test found a fork()ed child stalling for the whole
# MUXFIX_WAIT_MS: it shared a crowd lock another thread was about to close()
# (flock locks belong to the open file description). The library now unlocks
# before closing; a stalled fork shows as max_fork_ms near 10000.
run_threads() {
	local mode=$1 runner=$2
	shift 2
	mf_as_user mkdir -m 0700 "$T/th"
	"$runner" MUXFIX_TIMEOUT_MS=0 MUXFIX_VERBOSE=0 \
		"MUXFIX_PATH=$T/th/m/*:$T/th/s/*" "$@" "$MF_BIN/threads" "$mode" "$T/th" 3 2000
}

@test "threads, plain: 32 threads, fork and signal handlers connecting; every result as expected" {
	local t0=$SECONDS
	run run_threads plain mf_plain timeout 60
	echo "# plain: $output ($((SECONDS - t0)) s)" >&3
	assert_status 0
	assert_equal 0 "$(field mdead_enoent "$output")"
}

@test "threads, muxfix: 32 threads, fork and signal handlers connecting; every result as expected, errno kept" {
	local t0=$SECONDS
	run run_threads mux mf_mux timeout 60
	echo "# muxfix: $output ($((SECONDS - t0)) s)" >&3
	assert_status 0
	[[ $(field mdead_enoent "$output") -gt 0 ]]
	[[ $(field handler "$output") -gt 0 ]]
	[[ $(field forks "$output") -gt 0 ]]
	[[ $(field max_fork_ms "$output") -lt 5000 ]] || _mf_fail "a fork()ed child stalled: $output"
}

@test "threads, muxfix, under valgrind memcheck" {
	[[ -z ${MUXFIX_TEST_PRELOAD_EXTRA:-} ]] || skip "sanitizer build: valgrind cannot run it"
	command -v valgrind >/dev/null || skip "valgrind not installed"
	local t0=$SECONDS
	mf_as_user mkdir -m 0700 "$T/th"
	# 20 s or 150 rounds: valgrind serialises the 32 threads.
	run mf_mux MUXFIX_TIMEOUT_MS=0 MUXFIX_WAIT_MS=1000 MUXFIX_VERBOSE=0 \
		"MUXFIX_PATH=$T/th/m/*:$T/th/s/*" timeout 120 \
		valgrind -q --error-exitcode=99 --fair-sched=yes \
		"$MF_BIN/threads" mux "$T/th" 20 150
	echo "# valgrind: ${output##*$'\n'} ($((SECONDS - t0)) s)" >&3
	assert_status 0
}

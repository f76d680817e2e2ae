#!/usr/bin/env bats
# Issue 14: a live master keeps its name. A master's socket removed while
# the master lives (rm, find -type s -delete, tmpfiles, or an older master
# exiting: ssh unlinks its ControlPath by name) leaves the master running
# and unreachable; plain ssh logs in again. A master published under muxfix
# has a second, private hard link (.NAME.muxfix-keep, shim/keep.h), which
# the next ssh under muxfix links back.
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
}

master() { # RUNNER: a ControlPersist master at $T/cm; prints its pid
	"$1" timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=yes -o ControlPersist=120 \
		-o ControlPath="$T/cm" testhost true </dev/null >/dev/null 2>&1 3>&-
	pgrep -u "$MF_UID" -f "^ssh: $T/cm \[mux\]"
}

through() { # RUNNER: a command through $T/cm, ControlMaster=auto
	run "$1" timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=auto -o ControlPersist=120 \
		-o ControlPath="$T/cm" testhost echo ok
}

@test "rm of a live master's socket: plain ssh logs in again; under muxfix the next ssh uses that master (no login)" {
	local pid before
	# plain
	pid=$(master mf_plain)
	[[ -n $pid ]]
	rm "$T/cm"
	before=$(mf_auth_count)
	through mf_plain
	assert_status 0
	assert_auth_count $((before + 1))
	mf_kill_matching "$T/cm"
	rm -f "$T/cm" "$T/.cm.muxfix-keep"
	# muxfix
	pid=$(master mf_mux)
	[[ -n $pid ]]
	assert_file_socket "$T/.cm.muxfix-keep"
	rm "$T/cm"
	before=$(mf_auth_count)
	MUXFIX_VERBOSE=1 through mf_mux
	assert_status 0
	assert_contains "$output" "put back the name of the live master at $T/cm"
	assert_contains "$output" "ok"
	assert_auth_count "$before"
	assert_file_socket "$T/cm"
	[[ $(stat -c %i "$T/cm") == $(stat -c %i "$T/.cm.muxfix-keep") ]]
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
	assert_contains "$output" "Master running (pid=$pid)"
}

@test "a master that exits takes its private name with it; a killed master's is dead and swept" {
	local pid
	pid=$(master mf_mux)
	assert_file_socket "$T/.cm.muxfix-keep"
	run mf_mux_ssh -o ControlPath="$T/cm" -O exit testhost
	assert_status 0
	mf_wait_for 10 mf_gone "$pid"
	refute_exists "$T/cm"
	refute_exists "$T/.cm.muxfix-keep"
	pid=$(master mf_mux)
	kill -9 "$pid"
	mf_wait_for 10 mf_gone "$pid"
	# the next ssh finds both dead: the name is reaped, the private name too
	through mf_mux
	assert_status 0
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
	[[ $(stat -c %i "$T/cm") == $(stat -c %i "$T/.cm.muxfix-keep") ]]
}

# replaced RUNNER: an old plain master at $T/cm is stopped; RUNNER's ssh
# with ControlMaster=auto (MUXFIX_TIMEOUT_MS=1000) replaces it; the old one
# continues and is ended with SIGTERM: it unlinks $T/cm by name on its way
# out. Sets OLD and NEW (pids).
replaced() {
	OLD=$(master mf_plain)
	[[ -n $OLD ]]
	kill -STOP "$OLD"
	"$1" MUXFIX_TIMEOUT_MS=1000 timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=auto \
		-o ControlPersist=120 -o ControlPath="$T/cm" testhost true </dev/null >/dev/null 2>&1 3>&- || :
	NEW=$(pgrep -u "$MF_UID" -f "^ssh: $T/cm \[mux\]" | grep -vx "$OLD")
	[[ -n $NEW ]] || _mf_fail "no new master" || return 1
	kill -CONT "$OLD"
	kill -TERM "$OLD"
	mf_wait_for 10 mf_gone "$OLD"
}

@test "plain: an old master resumed and exiting after it was replaced deletes the new master's socket; the next ssh logs in again" {
	local before
	# plain ssh hangs on the stopped master: timeout ends it, then plain ssh
	# itself is the one that replaces it on its next try
	OLD=$(master mf_plain)
	kill -STOP "$OLD"
	run mf_plain timeout 3 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=auto -o ControlPath="$T/cm" testhost true
	assert_status 124
	rm "$T/cm" # what a user does to get going again
	mf_plain timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=auto -o ControlPersist=120 \
		-o ControlPath="$T/cm" testhost true </dev/null >/dev/null 2>&1 3>&-
	NEW=$(pgrep -u "$MF_UID" -f "^ssh: $T/cm \[mux\]" | grep -vx "$OLD")
	kill -CONT "$OLD"
	kill -TERM "$OLD"
	mf_wait_for 10 mf_gone "$OLD"
	refute_exists "$T/cm" # the new master lives on, without its name
	ps -p "$NEW" >/dev/null
	before=$(mf_auth_count)
	through mf_plain
	assert_status 0
	assert_auth_count $((before + 1))
}

@test "muxfix: an old master resumed and exiting after muxfix replaced it: the new master's name is put back, no login" {
	local before
	replaced mf_mux
	refute_exists "$T/cm" # the old master's exit took it
	before=$(mf_auth_count)
	MUXFIX_VERBOSE=1 through mf_mux
	assert_status 0
	assert_contains "$output" "put back the name of the live master"
	assert_auth_count "$before"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_contains "$output" "Master running (pid=$NEW)"
}

@test "the private name is never linked back when it is not a live socket of ours" {
	mf_dead_socket "$T/.cm.muxfix-keep"
	through mf_mux
	assert_status 0
	# a master of its own now: its private name is its socket
	[[ $(stat -c %i "$T/cm") == $(stat -c %i "$T/.cm.muxfix-keep") ]]
	mf_kill_matching "$T/cm"
	rm -f "$T/cm" "$T/.cm.muxfix-keep"
	# a regular file under the private name is left alone
	mf_as_user touch "$T/.cm.muxfix-keep"
	run mf_mux timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	[[ -f $T/.cm.muxfix-keep && ! -S $T/.cm.muxfix-keep ]]
	refute_exists "$T/cm"
}

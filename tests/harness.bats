#!/usr/bin/env bats
# Smoke tests of the test harness itself (scripts/sshd-harness.sh) with
# plain OpenSSH: no muxfix involved.

load helpers

@test "sshd is up on 127.0.0.1 and the client config has no Control options" {
	[[ $MF_PORT -ge 20000 && $MF_PORT -le 60000 ]]
	kill -0 "$MF_SSHD_PID"
	assert_contains "$(cat "$MF_TMP/sshd.log")" "Server listening on 127.0.0.1 port $MF_PORT"
	run grep -Ei '^[[:space:]]*control' "$MF_SSH_CONFIG"
	assert_status 1
}

@test "plain ssh runs a command as the test user" {
	run mf_plain_ssh testhost echo hello
	assert_status 0
	assert_equal hello "$output"
	run mf_plain_ssh testhost id -un
	assert_equal "$MF_USER" "$output"
}

@test "mf_as_user: clean environment, test user, extra NAME=VALUE words" {
	run mf_as_user FOO=bar env
	assert_status 0
	assert_equal "$(printf '%s\n' "PATH=$MF_USER_PATH" "HOME=$MF_HOME" \
		"USER=$MF_USER" "LOGNAME=$MF_USER" FOO=bar)" "$output"
	run mf_as_user id -u
	assert_equal "$MF_UID" "$output"
	run mf_as_user pwd
	assert_equal "$T" "$output"
}

@test "mf_mux forwards LD_PRELOAD and MUXFIX_* (not MUXFIX_TEST_*)" {
	MF_PRELOAD='' MUXFIX_FOO='a b' MUXFIX_TEST_LIB=/x run mf_mux env
	assert_status 0
	assert_contains "$output" "LD_PRELOAD="
	assert_contains "$output" "MUXFIX_FOO=a b"
	refute_contains "$output" "MUXFIX_TEST_LIB"
	run mf_plain env
	refute_contains "$output" "LD_PRELOAD"
}

@test "a master multiplexes: one login for two commands" {
	local before
	before=$(mf_auth_count)
	run mf_plain_ssh -M -o ControlPersist=30 -o "ControlPath=$T/cm" testhost true
	assert_status 0
	assert_file_socket "$T/cm"
	assert_owner "$T/cm" "$MF_USER"
	run mf_plain_ssh -o "ControlPath=$T/cm" -O check testhost
	assert_status 0
	assert_contains "$output" "Master running"
	assert_auth_count $((before + 1))
	run mf_plain_ssh -o ControlMaster=no -o "ControlPath=$T/cm" testhost echo via-master
	assert_status 0
	assert_equal via-master "$output"
	assert_auth_count $((before + 1))
}

@test "mf_dead_socket: a socket file that refuses connections" {
	mf_dead_socket "$T/dead"
	assert_file_socket "$T/dead"
	assert_owner "$T/dead" "$MF_USER"
	run mf_as_user "$MF_MKSOCK" -c "$T/dead"
	assert_status 1
	assert_contains "$output" "Connection refused"
	run mf_plain_ssh -o ControlMaster=no -o "ControlPath=$T/dead" testhost true
	assert_status 0
	assert_contains "$output" "Control socket connect($T/dead): Connection refused"
	assert_file_socket "$T/dead"
}

@test "mf_live_socket: a socket that accepts, dead once killed" {
	local pid
	pid=$(mf_live_socket "$T/live")
	assert_file_socket "$T/live"
	run mf_as_user "$MF_MKSOCK" -c "$T/live"
	assert_status 0
	assert_equal "$MF_USER" "$(ps -o user= -p "$pid")"
	kill "$pid"
	mf_wait_for 5 mf_gone "$pid"
	run mf_as_user "$MF_MKSOCK" -c "$T/live"
	assert_status 1
	assert_contains "$output" "Connection refused"
}

@test "mf_wait_for gives up after its timeout" {
	local t0=$EPOCHSECONDS
	run mf_wait_for 0.3 false
	assert_status 1
	mf_wait_for 1 true
	[[ $((EPOCHSECONDS - t0)) -le 2 ]]
}

@test "mf_harness_stop kills its masters and only them, twice is fine" {
	local outer_tmp=$MF_TMP other master
	other=$(mf_live_socket "$T/other")
	mf_harness_start # a second harness, inside this test only
	[[ $MF_TMP != "$outer_tmp" ]]
	mkdir "$MF_TMP/d" && chown "$MF_UID:$MF_GID" "$MF_TMP/d"
	mf_plain_ssh -M -o ControlPersist=30 -o "ControlPath=$MF_TMP/d/cm" testhost true
	master=$(pgrep -f "$MF_TMP/d/cm")
	local inner_tmp=$MF_TMP inner_sshd=$MF_SSHD_PID
	mf_harness_stop
	mf_harness_stop
	refute_exists "$inner_tmp"
	mf_gone "$master"
	mf_gone "$inner_sshd"
	kill -0 "$other" # the outer harness's processes survive
	kill -0 "$(cat "$outer_tmp/sshd.pid")"
}

#!/usr/bin/env bats
# Repair 4: a master that is stopped (SIGSTOP) hangs every plain client.
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
	mf_start_plain_master
}

@test "plain ssh, stopped master: hangs (killed by timeout after 5 s)" {
	kill -STOP "$MASTER_PID"
	run mf_plain timeout 5 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 124
}

@test "muxfix, stopped master: falls back to a direct connection" {
	kill -STOP "$MASTER_PID"
	MUXFIX_TIMEOUT_MS=1000 run mf_mux timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "ok"
	# muxfix does not remove a wedged master's socket; it works once resumed.
	assert_file_socket "$T/cm"
	kill -CONT "$MASTER_PID"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
}

@test "muxfix, stopped master, ControlMaster=auto: takes over as the new master" {
	kill -STOP "$MASTER_PID"
	MUXFIX_TIMEOUT_MS=1000 run mf_mux timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=auto -o ControlPersist=30 -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
}

@test "muxfix, MUXFIX_TIMEOUT_MS=0 turns the check off (hangs like plain ssh)" {
	kill -STOP "$MASTER_PID"
	MUXFIX_TIMEOUT_MS=0 run mf_mux timeout 5 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 124
}

@test "muxfix, responsive master: the hello is not consumed, the session goes through it" {
	local before
	before=$(mf_auth_count)
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	assert_auth_count "$before"
}

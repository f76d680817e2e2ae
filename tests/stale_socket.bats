#!/usr/bin/env bats
# Repair 1 and 2: a dead control socket, on connect (ControlMaster=no,
# -O check) and in a new master's way (ssh -M), each beside plain ssh.
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
}

@test "plain ssh, ControlMaster=no, stale socket: 'Connection refused' and the file stays" {
	mf_dead_socket "$T/cm"
	run mf_plain_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	assert_file_socket "$T/cm"
}

@test "muxfix, ControlMaster=no, stale socket: removed, no message" {
	mf_dead_socket "$T/cm"
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$T/cm"
}

@test "muxfix, MUXFIX_VERBOSE=1: one line saying what was removed and why" {
	mf_dead_socket "$T/cm"
	MUXFIX_VERBOSE=1 run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "muxfix: removed dead control socket $T/cm (no master listening; connect was refused)
ok" "$output"
}

@test "plain ssh -O check, stale socket: exit 255 and the file stays" {
	mf_dead_socket "$T/cm"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 255
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	assert_file_socket "$T/cm"
}

@test "muxfix -O check, stale socket: clean state afterwards" {
	mf_dead_socket "$T/cm"
	run mf_mux_ssh -o ControlPath="$T/cm" -O check testhost
	# There is no master, so -O check still fails, but on a clean path.
	assert_status 255
	refute_contains "$output" "Connection refused"
	refute_exists "$T/cm"
}

@test "plain ssh -M, stale socket: 'already exists, disabling multiplexing', no master" {
	mf_dead_socket "$T/cm"
	run mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "ControlSocket $T/cm already exists, disabling multiplexing"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 255
}

@test "muxfix ssh -M, stale socket: the master is established and shared" {
	mf_dead_socket "$T/cm"
	run mf_mux_ssh -M -o ControlPersist=30 -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
	assert_contains "$output" "Master running"
	# A second command goes through the master: no new login at sshd.
	local before
	before=$(mf_auth_count)
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo again
	assert_status 0
	assert_equal "again" "$output"
	assert_auth_count "$before"
}

@test "muxfix sweep: every dead socket of ours in the directory goes, nothing else" {
	export MUXFIX_PATH="$T/c*"
	mf_dead_socket "$T/cm"
	mf_dead_socket "$T/c-dead-1"
	mf_dead_socket "$T/c-dead-2"
	mf_dead_socket "$T/x-unmanaged"
	local live_pid
	live_pid=$(mf_live_socket "$T/c-live")
	mf_as_user touch "$T/c-file"
	mkdir "$T/elsewhere" && chown "$MF_UID:$MF_GID" "$T/elsewhere"
	mf_dead_socket "$T/elsewhere/dead"
	ln -s "$T/elsewhere/dead" "$T/c-link"
	# A live ssh master in the same directory.
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$T/c-master" testhost true

	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$T/cm"
	refute_exists "$T/c-dead-1"
	refute_exists "$T/c-dead-2"
	assert_file_socket "$T/x-unmanaged"
	assert_file_socket "$T/c-live"
	assert_exists "$T/c-file"
	[[ -L $T/c-link ]]
	assert_file_socket "$T/elsewhere/dead"
	run mf_as_user "$MF_MKSOCK" -c "$T/c-live"
	assert_status 0
	run mf_plain_ssh -o ControlPath="$T/c-master" -O check testhost
	assert_status 0
	kill "$live_pid"
}

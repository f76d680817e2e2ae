#!/usr/bin/env bats
# Negatives: what muxfix must leave alone, each with plain ssh beside it.
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*" MUXFIX_VERBOSE=1
}

no_master() {
	"$1" -o ControlMaster=no -o ControlPath="$2" testhost echo ok
}

@test "another user's dead socket: kept, ssh still completes, one line why" {
	[[ $EUID -eq 0 ]] || skip "needs root to make a socket of another uid"
	"$MF_MKSOCK" "$T/cm"
	chown nobody "$T/cm"
	chmod 0777 "$T/cm" # so the test user's connect is refused, not denied
	run no_master mf_plain_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	run no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "muxfix: left $T/cm alone: it belongs to another user"
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	assert_file_socket "$T/cm"
	assert_owner "$T/cm" nobody
}

@test "a regular file at the ControlPath: kept with its content" {
	mf_as_user sh -c "echo precious > '$T/cm'"
	run no_master mf_plain_ssh "$T/cm"
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	run no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "muxfix: left $T/cm alone: it is not a socket"
	assert_equal "precious" "$(cat "$T/cm")"
}

@test "a symlink at the ControlPath to a dead socket of ours: neither is touched" {
	mkdir "$T/other" && chown "$MF_UID:$MF_GID" "$T/other"
	mf_dead_socket "$T/other/dead"
	mf_as_user ln -s "$T/other/dead" "$T/cm"
	run no_master mf_plain_ssh "$T/cm"
	assert_contains "$output" "Connection refused"
	run no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "muxfix: left $T/cm alone: it is a symbolic link"
	[[ -L $T/cm ]]
	assert_file_socket "$T/other/dead"
}

@test "a live master at the ControlPath: ssh -M leaves it alone, it keeps serving" {
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$T/cm" testhost true
	run mf_plain_ssh -M -o ControlPath="$T/cm" testhost echo ok
	assert_contains "$output" "already exists, disabling multiplexing"
	run mf_mux_ssh -M -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: left $T/cm alone: a master is listening there"
	assert_contains "$output" "already exists, disabling multiplexing"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
}

@test "a dead socket outside MUXFIX_PATH: kept" {
	export MUXFIX_PATH="$T/managed/*"
	mf_dead_socket "$T/cm"
	run no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	refute_contains "$output" "muxfix:"
	assert_file_socket "$T/cm"
}

@test "a control directory others can write to: refused, nothing removed" {
	mkdir "$T/gw" && chown "$MF_UID:$MF_GID" "$T/gw" && chmod 0770 "$T/gw"
	export MUXFIX_PATH="$T/gw/*"
	mf_dead_socket "$T/gw/cm"
	run no_master mf_mux_ssh "$T/gw/cm"
	assert_status 0
	assert_contains "$output" "muxfix: left $T/gw/cm alone: its directory $T/gw is not safe to change (others can write to it)"
	assert_file_socket "$T/gw/cm"
}

@test "a symlinked control directory: refused, nothing removed" {
	mkdir "$T/real" && chown "$MF_UID:$MF_GID" "$T/real"
	ln -s "$T/real" "$T/sl"
	export MUXFIX_PATH="$T/sl/*"
	mf_dead_socket "$T/real/cm"
	run no_master mf_mux_ssh "$T/sl/cm"
	assert_status 0
	assert_contains "$output" "muxfix: left $T/sl/cm alone: cannot open directory $T/sl (it is a symbolic link)"
	assert_file_socket "$T/real/cm"
}

@test "MUXFIX_DISABLE=1: inert, plain ssh's behaviour" {
	mf_dead_socket "$T/cm"
	MUXFIX_DISABLE=1 run no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	assert_file_socket "$T/cm"
}

@test "the ssh-agent socket (SSH_AUTH_SOCK) is never managed" {
	mf_dead_socket "$T/agent"
	run mf_mux_ssh "SSH_AUTH_SOCK=$T/agent" -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_file_socket "$T/agent"
	# The same socket as a ControlPath, without the agent variable: removed.
	run no_master mf_mux_ssh "$T/agent"
	refute_exists "$T/agent"
}

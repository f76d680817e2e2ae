#!/usr/bin/env bats
# Repair 3: the socket directory is missing (plain ssh exits 255).
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*/cm"
}

@test "plain ssh, missing directory: 'unix_listener: cannot bind', exit 255" {
	run mf_plain_ssh -o ControlMaster=auto -o ControlPersist=30 -o ControlPath="$T/sub/cm" testhost echo ok
	assert_status 255
	assert_contains "$output" "unix_listener: cannot bind to path $T/sub/cm."
	assert_contains "$output" "No such file or directory"
	refute_exists "$T/sub"
}

@test "muxfix, missing directory: created with mode 0700, the master comes up" {
	run mf_mux_ssh -o ControlMaster=auto -o ControlPersist=30 -o ControlPath="$T/sub/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	# ssh binds under umask 0177; the directory must still be usable.
	assert_mode "$T/sub" 700
	assert_owner "$T/sub" "$MF_USER"
	assert_file_socket "$T/sub/cm"
	run mf_plain_ssh -o ControlPath="$T/sub/cm" -O check testhost
	assert_status 0
}

@test "muxfix, missing directory with ControlMaster=yes (-M)" {
	run mf_mux_ssh -M -o ControlPersist=30 -o ControlPath="$T/sub/cm" testhost echo ok
	assert_status 0
	assert_file_socket "$T/sub/cm"
}

@test "muxfix does not create a directory in a parent others can write to" {
	mkdir -m 0777 "$T/open" && chown "$MF_UID:$MF_GID" "$T/open" && chmod 0777 "$T/open"
	export MUXFIX_PATH="$T/open/*/cm" MUXFIX_VERBOSE=1
	run mf_mux_ssh -o ControlMaster=auto -o ControlPersist=30 -o ControlPath="$T/open/sub/cm" testhost echo ok
	assert_status 255
	assert_contains "$output" "unix_listener: cannot bind to path"
	assert_contains "$output" "muxfix: left $T/open/sub alone: its directory $T/open is not safe to change (others can write to it)"
	refute_exists "$T/open/sub"
}

@test "muxfix creates one level only: a missing parent stays missing" {
	export MUXFIX_PATH="$T/*/*/cm"
	run mf_mux_ssh -o ControlMaster=auto -o ControlPersist=30 -o ControlPath="$T/a/b/cm" testhost echo ok
	assert_status 255
	refute_exists "$T/a"
}

@test "muxfix leaves an unmanaged missing directory to ssh" {
	export MUXFIX_PATH="$T/other/*"
	run mf_mux_ssh -o ControlMaster=auto -o ControlPersist=30 -o ControlPath="$T/sub/cm" testhost echo ok
	assert_status 255
	refute_exists "$T/sub"
}

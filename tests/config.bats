#!/usr/bin/env bats
# Configuration: defaults, ~ and %-tokens, bad values, the log file.
load helpers

stale_no_master() { # RUNNER PATH: a dead socket at PATH, ssh with ControlMaster=no
	mf_dead_socket "$2"
	"$1" -o ControlMaster=no -o ControlPath="$2" testhost echo ok
}

@test "default MUXFIX_PATH covers ~/.ssh/sockets/%r@%h-%p" {
	mf_as_user mkdir -p -m 0700 "$MF_HOME/.ssh/sockets"
	local cp="$MF_HOME/.ssh/sockets/%r@%h-%p"
	local p="$MF_HOME/.ssh/sockets/$MF_USER@127.0.0.1-$MF_PORT"
	rm -f "$p"
	mf_dead_socket "$p"
	run mf_plain_ssh -o ControlMaster=no -o ControlPath="$cp" testhost echo ok
	assert_contains "$output" "Control socket connect($p): Connection refused"
	assert_file_socket "$p"
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$cp" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$p"
}

@test "~ in MUXFIX_PATH is the passwd home directory, not \$HOME" {
	local d="$MF_HOME/.muxfix-test-$BATS_TEST_NUMBER"
	rm -rf "$d"
	mf_as_user mkdir -m 0700 "$d"
	mf_dead_socket "$d/cm"
	run mf_mux_ssh HOME=/nonexistent "MUXFIX_PATH=~/.muxfix-test-$BATS_TEST_NUMBER/*" -o ControlMaster=no -o ControlPath="$d/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$d/cm"
	rm -rf "$d"
}

@test "ssh tokens in MUXFIX_PATH match ssh's expansion of the same ControlPath" {
	export MUXFIX_PATH="$T/%r@%h:%p"
	mf_dead_socket "$T/$MF_USER@127.0.0.1:$MF_PORT"
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/%r@%h:%p" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$T/$MF_USER@127.0.0.1:$MF_PORT"
}

@test "bad MUXFIX_TIMEOUT_MS and MUXFIX_VERBOSE: one line each, defaults used" {
	export MUXFIX_PATH="$T/*" MUXFIX_TIMEOUT_MS=soon MUXFIX_VERBOSE=7
	run stale_no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "muxfix: ignoring MUXFIX_TIMEOUT_MS='soon' (not a number of milliseconds up to 600000); using 3000"
	assert_contains "$output" "muxfix: ignoring MUXFIX_VERBOSE='7' (not 0, 1 or 2); using 0"
	# One line each per process: ssh is the only process here.
	assert_equal 2 "$(grep -c '^muxfix: ignoring' <<<"$output")"
	refute_exists "$T/cm"
}

@test "bad MUXFIX_PATH (empty pattern): one line, default patterns used" {
	export MUXFIX_PATH="$T/*::"
	run stale_no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "muxfix: ignoring MUXFIX_PATH='$T/*::' (empty pattern); using the default patterns"
	# $T is not under the defaults: the socket stays.
	assert_file_socket "$T/cm"
}

@test "MUXFIX_PATH of 64 KiB: one line, no crash" {
	export MUXFIX_PATH
	MUXFIX_PATH=$(head -c 65536 /dev/zero | tr '\0' 'a')
	run stale_no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "muxfix: ignoring MUXFIX_PATH='aaaa"
	assert_contains "$output" "(pattern too long)"
}

@test "MUXFIX_LOG: repair lines go to the file, not to stderr" {
	export MUXFIX_PATH="$T/*" MUXFIX_VERBOSE=1 MUXFIX_LOG="$T/muxfix.log"
	run stale_no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_equal "ok" "$output"
	assert_equal "muxfix: removed dead control socket $T/cm (no master listening; connect was refused)" "$(cat "$T/muxfix.log")"
}

@test "MUXFIX_LOG unusable (directory, symlink, FIFO): one line, stderr used, no hang" {
	export MUXFIX_PATH="$T/*" MUXFIX_VERBOSE=1
	mkfifo "$T/fifo" && chown "$MF_UID:$MF_GID" "$T/fifo"
	mf_as_user touch "$T/target"
	ln -s "$T/target" "$T/link"
	local log why
	for log in "$T" "$T/link" "$T/fifo"; do
		why="not a regular file"
		[[ $log != "$T/link" ]] || why="a symbolic link in its path"
		mf_dead_socket "$T/cm"
		MUXFIX_LOG=$log run mf_mux timeout 20 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
		assert_status 0
		assert_contains "$output" "muxfix: cannot log to MUXFIX_LOG='$log' ($why); logging to stderr"
		assert_contains "$output" "muxfix: removed dead control socket $T/cm"
		refute_exists "$T/cm"
	done
	assert_equal "" "$(cat "$T/target")"
}

@test "MUXFIX_DISABLE=maybe: one line, taken as disabled" {
	export MUXFIX_PATH="$T/*" MUXFIX_DISABLE=maybe
	run stale_no_master mf_mux_ssh "$T/cm"
	assert_status 0
	assert_contains "$output" "muxfix: MUXFIX_DISABLE='maybe' is not 0 or 1; taking it as 1 (disabled)"
	assert_file_socket "$T/cm"
}

#!/usr/bin/env bats
# The library in every process of a command line: scp, sftp, rsync and git
# run ssh as a child, which inherits LD_PRELOAD. Each tool beside plain ssh
# with a dead control socket, and git through a live master.
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
	# Test data in the test user's area, readable and writable by it.
	head -c 65536 /dev/urandom >"$T/src.bin"
	chown "$MF_UID:$MF_GID" "$T/src.bin"
	chmod 0644 "$T/src.bin"
	# The ssh options scp and sftp pass on to their ssh child.
	CTL_NO=(-o ControlMaster=no -o ControlPath="$T/cm")
}


# A bare repository at $T/repo.git owned by the test user (the remote
# git-upload-pack / git-receive-pack runs as that user), with one commit.
_make_repo() {
	local -a who=(GIT_AUTHOR_NAME=muxfix GIT_AUTHOR_EMAIL=muxfix@example.invalid
		GIT_COMMITTER_NAME=muxfix GIT_COMMITTER_EMAIL=muxfix@example.invalid)
	mf_as_user git init -q --bare --initial-branch=main "$T/repo.git"
	mf_as_user git init -q --initial-branch=main "$T/work"
	echo "muxfix tools test" >"$T/work/README"
	chown "$MF_UID:$MF_GID" "$T/work/README"
	mf_as_user git -C "$T/work" add README
	mf_as_user "${who[@]}" git -C "$T/work" commit -q -m "muxfix marker"
	mf_as_user git -C "$T/work" push -q "$T/repo.git" main
}

_git_ssh() { # GIT_SSH_COMMAND=... word for ControlMaster $1
	printf 'GIT_SSH_COMMAND=ssh -F %s -o ControlMaster=%s -o ControlPath=%s\n' \
		"$MF_SSH_CONFIG" "$1" "$T/cm"
}

# ---- scp ----

@test "plain scp, stale socket: 'Connection refused', copied, the file stays" {
	mf_dead_socket "$T/cm"
	run mf_plain scp -F "$MF_SSH_CONFIG" "${CTL_NO[@]}" "$T/src.bin" "testhost:$T/dst.bin"
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	cmp "$T/src.bin" "$T/dst.bin"
	assert_file_socket "$T/cm"
}

@test "muxfix scp, stale socket: copied, no message, the file is gone" {
	mf_dead_socket "$T/cm"
	run mf_mux scp -F "$MF_SSH_CONFIG" "${CTL_NO[@]}" "$T/src.bin" "testhost:$T/dst.bin"
	assert_status 0
	refute_contains "$output" "Connection refused"
	refute_exists "$T/cm"
	cmp "$T/src.bin" "$T/dst.bin"
}

# ---- sftp (batch mode) ----

_sftp_batch() {
	printf '%s\n' "put $T/src.bin $T/up.bin" "get $T/up.bin $T/down.bin" >"$T/batch"
	chown "$MF_UID:$MF_GID" "$T/batch"
}

@test "plain sftp -b, stale socket: 'Connection refused', transferred, the file stays" {
	mf_dead_socket "$T/cm"
	_sftp_batch
	run mf_plain sftp -F "$MF_SSH_CONFIG" "${CTL_NO[@]}" -b "$T/batch" testhost
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	cmp "$T/src.bin" "$T/down.bin"
	assert_file_socket "$T/cm"
}

@test "muxfix sftp -b, stale socket: transferred, no message, the file is gone" {
	mf_dead_socket "$T/cm"
	_sftp_batch
	run mf_mux sftp -F "$MF_SSH_CONFIG" "${CTL_NO[@]}" -b "$T/batch" testhost
	assert_status 0
	refute_contains "$output" "Connection refused"
	refute_exists "$T/cm"
	cmp "$T/src.bin" "$T/up.bin"
	cmp "$T/src.bin" "$T/down.bin"
}

# ---- rsync ----

@test "plain rsync -e ssh, stale socket: 'Connection refused', synced, the file stays" {
	mf_dead_socket "$T/cm"
	run mf_plain rsync -e "ssh -F $MF_SSH_CONFIG -o ControlMaster=no -o ControlPath=$T/cm" \
		"$T/src.bin" "testhost:$T/dst.bin"
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	cmp "$T/src.bin" "$T/dst.bin"
	assert_file_socket "$T/cm"
}

@test "muxfix rsync -e ssh, stale socket: synced, no message, the file is gone" {
	mf_dead_socket "$T/cm"
	run mf_mux rsync -e "ssh -F $MF_SSH_CONFIG -o ControlMaster=no -o ControlPath=$T/cm" \
		"$T/src.bin" "testhost:$T/dst.bin"
	assert_status 0
	refute_contains "$output" "Connection refused"
	refute_exists "$T/cm"
	cmp "$T/src.bin" "$T/dst.bin"
}

# ---- git ----

@test "plain git clone over ssh, stale socket: 'Connection refused', cloned, the file stays" {
	_make_repo
	mf_dead_socket "$T/cm"
	run mf_plain "$(_git_ssh no)" git clone -q "ssh://testhost$T/repo.git" "$T/clone"
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	run mf_as_user git -C "$T/clone" log -1 --format=%s
	assert_equal "muxfix marker" "$output"
	assert_file_socket "$T/cm"
}

@test "muxfix git clone over ssh, stale socket: cloned, no message, the file is gone" {
	_make_repo
	mf_dead_socket "$T/cm"
	run mf_mux "$(_git_ssh no)" git clone -q "ssh://testhost$T/repo.git" "$T/clone"
	assert_status 0
	refute_contains "$output" "Connection refused"
	refute_exists "$T/cm"
	run mf_as_user git -C "$T/clone" log -1 --format=%s
	assert_status 0
	assert_equal "muxfix marker" "$output"
	cmp "$T/work/README" "$T/clone/README"
}

@test "muxfix git clone and push through a live master: no new login at sshd" {
	_make_repo
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$T/cm" testhost true
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
	local before
	before=$(mf_auth_count)

	run mf_mux "$(_git_ssh auto)" git clone -q "testhost:$T/repo.git" "$T/clone"
	assert_status 0
	assert_equal "" "$output"
	run mf_as_user git -C "$T/clone" log -1 --format=%s
	assert_equal "muxfix marker" "$output"

	echo second >>"$T/clone/README" # stays the test user's file
	mf_as_user GIT_AUTHOR_NAME=muxfix GIT_AUTHOR_EMAIL=muxfix@example.invalid \
		GIT_COMMITTER_NAME=muxfix GIT_COMMITTER_EMAIL=muxfix@example.invalid \
		git -C "$T/clone" commit -q -a -m "pushed through the master"
	run mf_mux "$(_git_ssh auto)" git -C "$T/clone" push -q origin main
	assert_status 0
	run mf_as_user git -C "$T/repo.git" log -1 --format=%s main
	assert_equal "pushed through the master" "$output"

	assert_auth_count "$before"
	assert_file_socket "$T/cm"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
}

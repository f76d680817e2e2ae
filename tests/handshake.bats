#!/usr/bin/env bats
# Repair 5: a master that dies during a client's mux handshake (after the
# connect, before the session reply). ssh 9.2+ exits 255 when a write fails
# there (8.9 dies of SIGPIPE) and falls back to a new login, with an error
# line, when a read does.
# muxfix replays the handshake to the master that is there now
# (shim/follow.h). tests/progs/dyingmaster plays a master that dies at each
# point and hands its path to a real master at $T/real (or leaves it dead).
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
	mf_plain_ssh -M -o ControlPersist=60 -o ControlPath="$T/real" testhost true
	[[ -S $T/real ]]
}

# dying STAGE NEXT: start the dying master at $T/cm, wait until it listens.
dying() {
	mf_as_user "$MF_BIN/dyingmaster" "$T/cm" "$1" "$2" >"$T/dm.out" 2>&1 3>&- &
	DM_PID=$!
	mf_wait_for 10 test -S "$T/cm"
}

# dying_done STAGE: the dying master got as far as STAGE and is gone.
dying_done() {
	mf_wait_for 10 mf_gone "$DM_PID" || return 1
	assert_equal "died at $1" "$(cat "$T/dm.out")"
}

same_inode() { [[ $(stat -c %i "$1") == "$(stat -c %i "$2")" ]]; }

# sigpipe_kills STAGE: OpenSSH before 9.2 (seen: 8.9p1) ignores SIGPIPE only
# after its mux client, or from its session request on (9.2 ignores it
# early in main()): where 9.2+ fail the hello or alive-check write with
# "write packet: Broken pipe" and exit 255, it is killed by the signal,
# silently (exit 141). muxfix writes on the followed connection without the
# signal (MSG_NOSIGNAL), so its replay and fallbacks are the same on every
# version.
sigpipe_kills() {
	! mf_ssh_at_least 9.2 && [[ $1 == hello-write || $1 == after-hello ]]
}

client() { # RUNNER [ssh options]: echo ok through $T/cm
	local runner=$1
	shift
	run "$runner" timeout 60 ssh -F "$MF_SSH_CONFIG" -o ControlPath="$T/cm" "$@" testhost echo ok
}

# replayed STAGE: a client of a master dying at STAGE, with $T/real taking
# over, goes on through $T/real under muxfix: "ok" and nothing else, no
# new login.
replayed() {
	local before
	before=$(mf_auth_count)
	dying "$1" "$T/real"
	client mf_mux -o ControlMaster=no
	dying_done "$1"
	assert_status 0
	assert_equal "ok" "$output"
	assert_auth_count "$before"
}

# plain_falls_back STAGE LINE: plain ssh prints LINE and logs in again.
plain_falls_back() {
	local before
	before=$(mf_auth_count)
	dying "$1" "$T/real"
	client mf_plain -o ControlMaster=no
	dying_done "$1"
	assert_status 0
	assert_contains "$output" "$2"
	assert_auth_count $((before + 1))
}

# plain_fatal STAGE LINE: plain ssh prints LINE and exits 255 (before 9.2:
# killed by SIGPIPE, silently).
plain_fatal() {
	dying "$1" "$T/real"
	client mf_plain -o ControlMaster=no
	dying_done "$1"
	if sigpipe_kills "$1"; then
		assert_status 141
		assert_equal "" "$output"
		return
	fi
	assert_status 255
	assert_contains "$output" "$2"
}

# same_as_plain STAGE: a client of a master dying at STAGE (a new master
# at $T/real), run plain and then under muxfix with MUXFIX_REPLAY=0, ends the
# same way: same exit status, same output, same number of new logins.
same_as_plain() {
	local before plain_status plain_output plain_logins
	before=$(mf_auth_count)
	dying "$1" "$T/real"
	client mf_plain -o ControlMaster=no
	dying_done "$1"
	plain_status=$status plain_output=$output
	plain_logins=$(($(mf_auth_count) - before))
	rm -f "$T/cm"
	before=$(mf_auth_count)
	dying "$1" "$T/real"
	MUXFIX_REPLAY=0 client mf_mux -o ControlMaster=no
	dying_done "$1"
	assert_status "$plain_status"
	assert_equal "$plain_output" "$output"
	assert_auth_count $((before + plain_logins))
}

# ---- a new master is there when the old one dies ----

@test "plain, master dies before the client's hello: fails or falls back to a new login" {
	local before
	before=$(mf_auth_count)
	dying hello-write "$T/real"
	client mf_plain -o ControlMaster=no
	dying_done hello-write
	# Plain ssh writes its hello without waiting for the master's: whether
	# that write or the next one meets the closed connection is a race.
	if sigpipe_kills hello-write && [[ $status == 141 ]]; then
		assert_equal "" "$output"
	elif [[ $status == 255 ]]; then
		assert_contains "$output" "write packet: Broken pipe"
	else
		assert_status 0
		assert_contains "$output" "master hello exchange failed"
		assert_auth_count $((before + 1))
	fi
}

@test "muxfix, master dies before the client's hello: goes on through the new master" {
	replayed hello-write
}

@test "plain, master dies after the hello: the alive check's write is fatal (exit 255)" {
	plain_fatal after-hello "mux_client_request_alive: write packet: Broken pipe"
}

@test "muxfix, master dies after the hello: goes on through the new master" {
	replayed after-hello
	same_inode "$T/cm" "$T/real"
}

@test "plain, master dies before its alive reply: error line and a new login" {
	plain_falls_back alive-read "master alive request failed"
}

@test "muxfix, master dies before its alive reply: goes on through the new master" {
	replayed alive-read
}

@test "plain, master dies before the session request: its write is fatal (exit 255)" {
	plain_fatal session-write "mux_client_request_session: write packet: Broken pipe"
}

@test "muxfix, master dies before the session request: goes on through the new master" {
	replayed session-write
}

@test "plain, master dies before the session reply: 'read from master failed' and a new login" {
	plain_falls_back session-read "read from master failed"
}

@test "muxfix, master dies before the session reply: the session goes through the new master" {
	replayed session-read
}

# ---- MUXFIX_REPLAY=0: no replay, the calls on the connection untouched ----

@test "MUXFIX_REPLAY=0, master dies after the hello: exit 255 as plain ssh, the same output" {
	same_as_plain after-hello
	if sigpipe_kills after-hello; then
		assert_status 141
		return
	fi
	assert_status 255
	assert_contains "$output" "mux_client_request_alive: write packet: Broken pipe"
}

@test "MUXFIX_REPLAY=0, master dies before the session reply: a new login as plain ssh, the same output" {
	same_as_plain session-read
	assert_status 0
	assert_contains "$output" "read from master failed"
}

@test "MUXFIX_REPLAY: a bad value is reported in one line and the default (on) used" {
	# The configuration is read on the first Unix-socket call the library
	# looks at (config.h): one connect.
	run mf_mux MUXFIX_REPLAY=maybe "$MF_BIN/connect_steps" "$T/go" /nonexistent/muxfix
	assert_status 0
	assert_equal "muxfix: ignoring MUXFIX_REPLAY='maybe' (not 0 or 1); using 1
1 ENOENT" "$output"
}

# ---- no master left (killed, its socket dead): ssh falls back, never 255 ----

@test "plain, master killed after the hello, none left: exit 255" {
	dying after-hello -
	client mf_plain -o ControlMaster=auto -o ControlPersist=30
	dying_done after-hello
	if sigpipe_kills after-hello; then
		assert_status 141
		return
	fi
	assert_status 255
	assert_contains "$output" "write packet: Broken pipe"
}

@test "muxfix, master killed after the hello, none left: falls back and becomes the new master" {
	dying after-hello -
	client mf_mux -o ControlMaster=auto -o ControlPersist=30
	dying_done after-hello
	assert_status 0
	assert_contains "$output" "ok"
	# ssh's own line for the fallback it now takes instead of exiting
	assert_contains "$output" "master alive request failed"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
}

@test "muxfix, master killed before the session request, none left, ControlMaster=no: falls back" {
	dying session-write -
	client mf_mux -o ControlMaster=no
	dying_done session-write
	assert_status 0
	assert_contains "$output" "ok"
	# ssh's own line for its fallback, instead of "write packet: ..." and 255
	assert_contains "$output" "read from master failed"
	refute_contains "$output" "write packet"
	refute_exists "$T/cm"
}

# ---- what is never replayed ----

@test "muxfix, control directory others can write to: no replay there, ssh falls back" {
	local before
	mkdir -m 0770 "$T/shared"
	chown "$MF_UID:$MF_GID" "$T/shared"
	chmod 0770 "$T/shared"
	mf_plain_ssh -M -o ControlPersist=60 -o ControlPath="$T/shared/real" testhost true
	before=$(mf_auth_count)
	mf_as_user "$MF_BIN/dyingmaster" "$T/shared/cm" after-hello "$T/shared/real" >"$T/dm.out" 2>&1 3>&- &
	DM_PID=$!
	mf_wait_for 10 test -S "$T/shared/cm"
	MUXFIX_PATH="$T/shared/*" MUXFIX_VERBOSE=1 run mf_mux timeout 60 ssh -F "$MF_SSH_CONFIG" \
		-o ControlMaster=no -o ControlPath="$T/shared/cm" testhost echo ok
	dying_done after-hello
	assert_status 0
	assert_contains "$output" "not replaying it: the directory is not trusted"
	assert_contains "$output" "ok"
	# its own login, not the session of the master in that directory
	assert_auth_count $((before + 1))
}

@test "muxfix, -O exit to a master that dies after the hello: not replayed, the new master lives" {
	dying after-hello "$T/real"
	run mf_mux_ssh -o ControlPath="$T/cm" -O exit testhost
	dying_done after-hello
	assert_status 255
	assert_contains "$output" "write packet: Broken pipe"
	run mf_plain_ssh -o ControlPath="$T/real" -O check testhost
	assert_status 0
}

@test "muxfix, a connection that does not speak the mux protocol: write errors untouched" {
	local plain
	dying hello-write "$T/real"
	run mf_plain "$MF_BIN/talk" "$T/cm" not-mux more
	dying_done hello-write
	plain=$output
	assert_contains "$plain" "write not-mux ret=-1 errno=EPIPE"
	rm -f "$T/cm"
	dying hello-write "$T/real"
	run mf_mux "$MF_BIN/talk" "$T/cm" not-mux more
	dying_done hello-write
	assert_equal "$plain" "$output"
	# The same connection starting with a mux hello is carried over.
	rm -f "$T/cm"
	dying hello-write "$T/real"
	run mf_mux "$MF_BIN/talk" "$T/cm" hello
	dying_done hello-write
	assert_equal "write hello ret=12 errno=-" "$output"
}

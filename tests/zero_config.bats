#!/usr/bin/env bats
# Any ControlPath ssh uses is managed with no configuration (shim/learn.h):
# MUXFIX_PATH unset, the path outside the default patterns, learnt by the
# library inside ssh when it meets a refused, missing or clashing path.
# MUXFIX_PATH, when set, narrows things down; the agent's socket is never
# managed. Also: MUXFIX_VERBOSE=2 says why a healthy connect is managed, only
# a would-be master creates the crowd's lock file, and the muxfix command
# rewrites a ControlPath too long for a master.
load helpers
load command_helpers

MARK="# muxfix tests/zero_config.bats (removed at teardown)"

setup() {
	mf_setup
	unset MUXFIX_PATH
	ZC_HOST="zc-$MF_PORT"
}

teardown() {
	local f="$MF_HOME/.ssh/config"
	if [[ -f $f ]] && [[ $(head -n 1 "$f") == "$MARK" ]]; then
		[[ -n ${ZC_PATH:-} ]] && rm -f "$ZC_PATH"
		rm -f "$f"
	fi
	mf_teardown
}

# The test user's own ~/.ssh/config: ControlPath ~/.ssh/control-%r@%h:%p
# (a common spelling outside the default patterns) for the host ZC_HOST
# only; sets ZC_PATH to the path ssh makes of it.
home_config() {
	local f="$MF_HOME/.ssh/config"
	if [[ -e $f ]] && [[ $(head -n 1 "$f") != "$MARK" ]]; then
		skip "$f exists and is not this test's"
	fi
	mf_as_user mkdir -p "$MF_HOME/.ssh"
	cat >"$f" <<-EOF
		$MARK
		Host $ZC_HOST
		    HostName 127.0.0.1
		    Port $MF_PORT
		    User $MF_USER
		    IdentityFile $MF_TMP/client/id_ed25519
		    IdentitiesOnly yes
		    BatchMode yes
		    StrictHostKeyChecking no
		    UserKnownHostsFile /dev/null
		    LogLevel ERROR
		    ControlMaster no
		    ControlPath ~/.ssh/control-%r@%h:%p
	EOF
	chown "$MF_UID:$MF_GID" "$f"
	chmod 0600 "$f"
	ZC_PATH="$MF_HOME/.ssh/control-$MF_USER@127.0.0.1:$MF_PORT"
	assert_equal "controlpath $ZC_PATH" "$(mf_as_user ssh -G "$ZC_HOST" | grep '^controlpath ')"
}

# A client configuration of the test's own (-F): the harness's, with LINES
# added to testhost's block.
t_config() {
	{
		cat "$MF_SSH_CONFIG"
		printf '    %s\n' "$@"
	} >"$T/ssh_config"
	chown "$MF_UID:$MF_GID" "$T/ssh_config"
}

@test "plain ssh, ControlPath from ~/.ssh/config, stale socket: 'Connection refused', the file stays" {
	home_config
	mf_dead_socket "$ZC_PATH"
	run mf_plain ssh "$ZC_HOST" echo ok
	assert_status 0
	assert_contains "$output" "Control socket connect($ZC_PATH): Connection refused"
	assert_file_socket "$ZC_PATH"
}

@test "LD_PRELOAD, MUXFIX_PATH unset, ControlPath from ~/.ssh/config, stale socket: removed, no message" {
	home_config
	mf_dead_socket "$ZC_PATH"
	run mf_mux ssh "$ZC_HOST" echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$ZC_PATH"
	# With MUXFIX_VERBOSE=1, the one line of the repair.
	mf_dead_socket "$ZC_PATH"
	MUXFIX_VERBOSE=1 run mf_mux ssh "$ZC_HOST" echo ok
	assert_equal "muxfix: removed dead control socket $ZC_PATH (no master listening; connect was refused)
ok" "$output"
}

@test "eval \"\$(muxfix env)\", MUXFIX_PATH unset, ControlPath from ~/.ssh/config, stale socket: removed, no message" {
	home_config
	mf_dead_socket "$ZC_PATH"
	run mx bash -c 'eval "$(muxfix env)" && ssh "$1" echo ok' - "$ZC_HOST"
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$ZC_PATH"
}

@test "MUXFIX_PATH set narrows things down: the same path, not in it, is left as plain ssh leaves it" {
	home_config
	mf_dead_socket "$ZC_PATH"
	MUXFIX_PATH="$T/*" run mf_mux ssh "$ZC_HOST" echo ok
	assert_status 0
	assert_contains "$output" "Control socket connect($ZC_PATH): Connection refused"
	assert_file_socket "$ZC_PATH"
}

@test "LD_PRELOAD, MUXFIX_PATH unset, ssh -M at a stale learnt path (link clash): the master comes up" {
	t_config "ControlPath $T/ctl-%h"
	mf_dead_socket "$T/ctl-127.0.0.1"
	run mf_plain ssh -F "$T/ssh_config" -M -o ControlPersist=30 testhost true
	assert_contains "$output" "ControlSocket $T/ctl-127.0.0.1 already exists, disabling multiplexing"
	run mf_mux ssh -F "$T/ssh_config" -M -o ControlPersist=30 testhost true
	assert_status 0
	run mf_plain ssh -F "$T/ssh_config" -O check testhost
	assert_status 0
	assert_contains "$output" "Master running"
}

@test "LD_PRELOAD, MUXFIX_PATH unset, socket directory missing (bind of the temporary name): created, the master comes up" {
	t_config "ControlPath $T/sockets/%h"
	run mf_plain ssh -F "$T/ssh_config" -M -o ControlPersist=30 testhost true
	assert_status 255
	assert_contains "$output" "No such file or directory"
	run mf_mux ssh -F "$T/ssh_config" -M -o ControlPersist=30 testhost true
	assert_status 0
	assert_mode "$T/sockets" 700
	run mf_plain ssh -F "$T/ssh_config" -O check testhost
	assert_status 0
}

@test "LD_PRELOAD, MUXFIX_PATH unset, ControlMaster=auto at a learnt path: one master, the lock file only from it" {
	local before
	t_config "ControlPath $T/ctl-%h" "ControlMaster auto" "ControlPersist 30"
	# Neither -O check nor ControlMaster=no will become a master: no lock file.
	run mf_mux ssh -F "$T/ssh_config" -O check testhost
	assert_status 255
	run mf_mux ssh -F "$T/ssh_config" -o ControlMaster=no testhost true
	assert_status 0
	refute_exists "$T/.ctl-127.0.0.1.muxfix-lock"
	before=$(mf_auth_count)
	MUXFIX_VERBOSE=2 run mf_mux ssh -F "$T/ssh_config" testhost echo ok
	assert_status 0
	assert_contains "$output" "$T/ctl-127.0.0.1 is ssh's ControlPath (ssh -G): managed"
	assert_contains "$output" "no master at $T/ctl-127.0.0.1: this ssh becomes it"
	assert_exists "$T/.ctl-127.0.0.1.muxfix-lock"
	# ControlPersist's client half connects to its new master: learnt, so
	# it is checked like any managed path, and said so at level 2.
	assert_contains "$output" "connect($T/ctl-127.0.0.1): connected; managed (ssh's ControlPath, learnt in this process)"
	run mf_mux ssh -F "$T/ssh_config" testhost echo again
	assert_equal "again" "$output"
	assert_auth_count $((before + 1))
}

@test "MUXFIX_VERBOSE=2: a healthy connect to a managed path says it is managed and why" {
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$T/cm" testhost true
	MUXFIX_PATH="$T/*" MUXFIX_VERBOSE=2 run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: connect($T/cm): connected; managed (matches MUXFIX_PATH)"
	mf_as_user mkdir -p "$MF_HOME/.ssh/sockets"
	local p="$MF_HOME/.ssh/sockets/zc-$MF_PORT-$BATS_TEST_NUMBER"
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$p" testhost true
	MUXFIX_VERBOSE=2 run mf_mux_ssh -o ControlMaster=no -o ControlPath="$p" testhost echo ok
	mf_plain_ssh -o ControlPath="$p" -O exit testhost
	assert_contains "$output" "muxfix: connect($p): connected; managed (matches a default pattern)"
}

@test "never managed without configuration: the agent's socket, a dead socket of a program that is not ssh" {
	home_config
	mf_dead_socket "$T/agent"
	SSH_AUTH_SOCK="$T/agent" run mf_mux ssh "$ZC_HOST" echo ok
	assert_status 0
	assert_file_socket "$T/agent"
	# Not ssh: a dead socket at ssh's ControlPath stays for other programs.
	mf_dead_socket "$ZC_PATH"
	run mf_mux "$MF_MKSOCK" -c "$ZC_PATH"
	assert_status 1
	assert_file_socket "$ZC_PATH"
}

@test "muxfix ssh, muxfix-ssh: a ControlPath too long for a master is rewritten to a short one (one line), plain ssh fails" {
	# 100 bytes: fits sun_path for a client, not with the master's suffix.
	local long="$T/"
	long+=$(printf '%*s' $((100 - ${#long})) '' | tr ' ' c)
	assert_equal 100 "${#long}"
	t_config "ControlPath $long" "ControlMaster auto" "ControlPersist 30"
	run mf_plain ssh -F "$T/ssh_config" testhost echo ok
	assert_status 255
	run mx muxfix ssh -F "$T/ssh_config" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: ControlPath $long is ${#long} bytes, too long for a master (90 at most): using "
	assert_equal "ok" "${output##*$'\n'}"
	assert_equal 1 "$(grep -c '^muxfix: ' <<<"$output")"
	# Shared: muxfix-ssh reaches the same master, silently.
	local before
	before=$(mf_auth_count)
	run mx muxfix-ssh -F "$T/ssh_config" testhost echo again
	assert_status 0
	assert_contains "$output" "again"
	assert_auth_count "$before"
	mx muxfix-ssh -F "$T/ssh_config" -O exit testhost 2>/dev/null || :
}

#!/usr/bin/env bats
# ssh's own ConnectTimeout is the hello deadline (shim/hello.h): a master
# that is only slow is waited for as long as ssh would wait, and on OpenSSH
# 9.4+, which time out the hello themselves, ssh's own message stands.
# Versions differ: before 9.4 plain ssh waits for a stopped master forever,
# ConnectTimeout or not; 9.4+ gives up after ConnectTimeout with "master
# hello exchange failed" and logs in directly (for -O check and -O exit too).
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
	mf_start_plain_master
}

masters() {
	pgrep -u "$MF_UID" -f "^ssh: $T/cm \[mux\]" | tr '\n' ' '
}

# The master is slow, not broken: stopped for 5 s, then it goes on. The
# pause is the scenario (a master busy for 5 s), not a synchronisation.
pause_master_5s() {
	kill -STOP "$MASTER_PID"
	(
		sleep 5
		kill -CONT "$MASTER_PID"
	) 3>&- &
}

# A copy of the harness's client configuration with LINE in testhost's block.
config_with() {
	{
		cat "$MF_SSH_CONFIG"
		printf '    %s\n' "$1"
	} >"$T/ssh_config"
	chown "$MF_UID:$MF_GID" "$T/ssh_config"
}

@test "muxfix, ConnectTimeout=10 on the command line, master paused 5 s: used, no extra login, no replacement" {
	local before
	before=$(mf_auth_count)
	pause_master_5s
	# MUXFIX_TIMEOUT_MS stays at its default (3 s): ssh's 10 s decide.
	run mf_mux timeout 30 ssh -F "$MF_SSH_CONFIG" -o ConnectTimeout=10 -o ControlMaster=auto \
		-o ControlPersist=30 -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	assert_auth_count "$before"
	assert_equal "$MASTER_PID " "$(masters)"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_contains "$output" "Master running (pid=$MASTER_PID)"
}

@test "muxfix, ConnectTimeout 10 in ssh_config (learnt with ssh -G), master paused 5 s: used, no extra login" {
	local before
	config_with "ConnectTimeout 10"
	before=$(mf_auth_count)
	pause_master_5s
	MUXFIX_VERBOSE=2 run mf_mux timeout 30 ssh -F "$T/ssh_config" -o ControlMaster=auto \
		-o ControlPersist=30 -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "connecttimeout 10"
	assert_contains "$output" "waiting up to 10000 ms (ssh's ConnectTimeout)"
	# The remote's "ok" goes from the master straight to ssh's stdout while
	# the library logs the accepted session on stderr: either may come last
	# (the matrix saw the log last once). All but the library's lines is "ok".
	assert_equal "ok" "$(grep -v '^muxfix: ' <<<"$output")"
	assert_auth_count "$before"
	assert_equal "$MASTER_PID " "$(masters)"
}

@test "plain ssh, ConnectTimeout=1, stopped master, ControlMaster=no: 9.4+ 'master hello exchange failed' and a login; older hang" {
	local before t0
	before=$(mf_auth_count)
	kill -STOP "$MASTER_PID"
	t0=$EPOCHREALTIME
	if mf_ssh_at_least 9.4; then
		run mf_plain timeout 20 ssh -F "$MF_SSH_CONFIG" -o ConnectTimeout=1 -o ControlMaster=no \
			-o ControlPath="$T/cm" testhost echo ok
		assert_status 0
		assert_contains "$output" "master hello exchange failed"
		assert_equal "ok" "${output##*$'\n'}"
		assert_auth_count $((before + 1))
	else
		run mf_plain timeout 5 ssh -F "$MF_SSH_CONFIG" -o ConnectTimeout=1 -o ControlMaster=no \
			-o ControlPath="$T/cm" testhost echo ok
		assert_status 124
	fi
	echo "# $MF_SSH_VERSION plain: $(bc <<<"$EPOCHREALTIME - $t0") s" >&3
}

@test "muxfix, ConnectTimeout=1, stopped master, ControlMaster=no: after ssh's 1 s, ssh's own message on 9.4+" {
	local before t0
	before=$(mf_auth_count)
	kill -STOP "$MASTER_PID"
	t0=$EPOCHREALTIME
	# A 30 s MUXFIX_TIMEOUT_MS would make this time out: ssh's 1 s is used.
	MUXFIX_TIMEOUT_MS=30000 MUXFIX_VERBOSE=1 run mf_mux timeout 15 ssh -F "$MF_SSH_CONFIG" \
		-o ConnectTimeout=1 -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	echo "# $MF_SSH_VERSION muxfix: $(bc <<<"$EPOCHREALTIME - $t0") s" >&3
	assert_status 0
	assert_equal "ok" "${output##*$'\n'}"
	assert_auth_count $((before + 1))
	if mf_ssh_at_least 9.4; then
		# ssh waited its 1 s once (in muxfix's check), then its own words.
		assert_contains "$output" "muxfix: master at $T/cm sent no hello within ssh's ConnectTimeout (1000 ms); ssh goes on without it, with its own message"
		assert_contains "$output" "master hello exchange failed"
		refute_contains "$output" "Connection refused"
	else
		assert_contains "$output" "muxfix: master at $T/cm sent no hello within 1000 ms (ssh's ConnectTimeout"
		assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	fi
	# Nothing removed: the stopped master comes back.
	assert_file_socket "$T/cm"
	kill -CONT "$MASTER_PID"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
}

@test "plain ssh -O check/-O exit, ConnectTimeout=1, stopped master: 9.4+ logs in and runs a shell instead; older hang" {
	local before cmd
	kill -STOP "$MASTER_PID"
	for cmd in check exit; do
		before=$(mf_auth_count)
		if mf_ssh_at_least 9.4; then
			run mf_plain timeout 20 ssh -F "$MF_SSH_CONFIG" -o ConnectTimeout=1 \
				-o ControlPath="$T/cm" -O "$cmd" testhost </dev/null
			assert_status 0
			assert_contains "$output" "master hello exchange failed"
			assert_auth_count $((before + 1))
		else
			run mf_plain timeout 4 ssh -F "$MF_SSH_CONFIG" -o ConnectTimeout=1 \
				-o ControlPath="$T/cm" -O "$cmd" testhost </dev/null
			assert_status 124
		fi
	done
}

@test "muxfix -O check/-O exit, ConnectTimeout=1, stopped master: exit 255 'Connection timed out', no login, the master kept" {
	local before cmd
	kill -STOP "$MASTER_PID"
	before=$(mf_auth_count)
	for cmd in check exit; do
		MUXFIX_TIMEOUT_MS=30000 run mf_mux timeout 15 ssh -F "$MF_SSH_CONFIG" -o ConnectTimeout=1 \
			-o ControlPath="$T/cm" -O "$cmd" testhost </dev/null
		assert_status 255
		assert_contains "$output" "Control socket connect($T/cm): Connection timed out"
		refute_contains "$output" "master hello exchange failed"
	done
	assert_auth_count "$before"
	assert_file_socket "$T/cm"
	kill -CONT "$MASTER_PID"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
	assert_contains "$output" "Master running (pid=$MASTER_PID)"
}

@test "muxfix -O check, stopped master, no ConnectTimeout: MUXFIX_TIMEOUT_MS, then exit 255 'Connection timed out'" {
	kill -STOP "$MASTER_PID"
	MUXFIX_TIMEOUT_MS=500 run mf_mux timeout 15 ssh -F "$MF_SSH_CONFIG" \
		-o ControlPath="$T/cm" -O check testhost </dev/null
	assert_status 255
	assert_contains "$output" "Control socket connect($T/cm): Connection timed out"
}

@test "muxfix -O conninfo/-O channels (10.3+): the same answer as plain ssh, and never replayed" {
	mf_ssh_at_least 10.3 || skip "OpenSSH $MF_SSH_VERSION has no -O conninfo/channels (10.3+)"
	local cmd plain
	for cmd in conninfo channels; do
		run mf_plain_ssh -o ControlPath="$T/cm" -O "$cmd" testhost
		assert_status 0
		plain=$output
		[[ -n $plain ]]
		run mf_mux_ssh -o ControlPath="$T/cm" -O "$cmd" testhost
		assert_status 0
		assert_equal "${plain//[0-9]/N}" "${output//[0-9]/N}"
		MUXFIX_VERBOSE=2 run mf_mux_ssh -o ControlPath="$T/cm" -O "$cmd" testhost
		assert_contains "$output" "not following the mux client of $T/cm: a request that is not replayed (MUX_C_EXT_INFO, 0x20000001)"
	done
}

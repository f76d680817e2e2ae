#!/usr/bin/env bats
# Issue 14: masters that stall. A half-dead master (its process fine, its
# connection to the server not: suspend/resume, a Wi-Fi or VPN switch, a
# frozen server) answers the hello and the alive check itself and holds the
# session request forever; a master stopped after its hello answers
# nothing. Plain ssh 9.2 hangs in both. Under muxfix the reply is waited for
# MUXFIX_REPLY_TIMEOUT_MS (MUXFIX_TIMEOUT_MS for what the master answers by
# itself); then the master is made unable to run the pending request (ended,
# or told to stop listening with its name removed) and ssh goes on without
# it (shim/stall.h). A stalled network is played by SIGSTOPping the sshd
# processes that serve the master's connection.
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
}

teardown() { mf_teardown; }

start_master() { # RUNNER: a master at $T/cm (ControlPersist)
	"$1" timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=yes -o ControlPersist=120 \
		-o ControlPath="$T/cm" testhost true
	MASTER_PID=$(pgrep -u "$MF_UID" -f "^ssh: $T/cm \[mux\]")
	[[ -n $MASTER_PID ]]
}

# stall_server: the master's connection stalled (mf_stall_server).
stall_server() { mf_stall_server "$MASTER_PID"; }

# resume_server: SIGCONT them; wait until the stalled connection is over
# (its sshd processes gone) or, when the master still lives, until the
# command it held has had time to run (its marker file written).
resume_server() {
	local p
	# shellcheck disable=SC2086
	kill -CONT $STOPPED_SSHD
	if mf_gone "$MASTER_PID"; then
		for p in $STOPPED_SSHD; do mf_wait_for 20 mf_gone "$p" || return 1; done
	else
		mf_wait_for 20 test -s "$T/ran" || return 1
	fi
	STOPPED_SSHD=
}

# cmd RUNNER [N=V ...] [-t SECONDS]: the command that leaves one line in
# $T/ran each time it runs, through $T/cm with ControlMaster=auto, under
# timeout SECONDS (30). Sets status and output as bats' run does, through
# a file: a master holding a pending session keeps the client's stdout
# open, which would hang a command substitution.
cmd() {
	local runner=$1 secs=30
	shift
	local -a envs=()
	while [[ $# -gt 0 && $1 == *=* ]]; do
		envs+=("$1")
		shift
	done
	[[ ${1:-} == -t ]] && secs=$2
	status=0
	"$runner" "${envs[@]}" timeout "$secs" ssh -F "$MF_SSH_CONFIG" -o ControlMaster=auto \
		-o ControlPersist=120 -o ControlPath="$T/cm" testhost "echo ran >>$T/ran; echo ok" \
		>"$T/cmd.out" 2>&1 </dev/null 3>&- || status=$?
	output=$(cat "$T/cmd.out")
}

# sessions_started N: sshd has started N sessions since the test began.
sessions_started() {
	[[ $(($(grep -c 'Starting session: command' "$MF_TMP/sshd.log" || :) - SESSIONS0)) -ge $1 ]]
}

ran_count() { if [[ -e $T/ran ]]; then wc -l <"$T/ran"; else echo 0; fi; }

@test "plain ssh, half-dead master: hangs; the command still runs once the server resumes" {
	start_master mf_plain
	stall_server
	cmd mf_plain -t 5
	assert_status 124
	assert_equal 0 "$(ran_count)"
	resume_server
	# nobody saw it, but it ran
	assert_equal 1 "$(ran_count)"
}

@test "muxfix, half-dead master: ssh succeeds after MUXFIX_REPLY_TIMEOUT_MS with one login, the next goes through the new master, the command ran once" {
	start_master mf_plain
	stall_server
	local before t0 t1
	before=$(mf_auth_count)
	t0=$EPOCHREALTIME
	cmd mf_mux MUXFIX_REPLY_TIMEOUT_MS=2000 MUXFIX_VERBOSE=1
	t1=$EPOCHREALTIME
	echo "# half-dead master, muxfix: first output after $(awk "BEGIN{print $t1 - $t0}") s" >&3
	assert_status 0
	assert_contains "$output" "ok"
	assert_contains "$output" "did not answer the session request within"
	assert_contains "$output" "ended it so that the request can never run"
	assert_auth_count $((before + 1))
	mf_wait_for 5 mf_gone "$MASTER_PID"
	# the next command: through the master that replaced it, no login
	run mf_mux_ssh -o ControlMaster=auto -o ControlPersist=120 -o ControlPath="$T/cm" testhost echo next
	assert_status 0
	assert_equal "next" "$output"
	assert_auth_count $((before + 1))
	resume_server
	assert_equal 1 "$(ran_count)"
}

@test "muxfix, half-dead master with other sessions open on it: the command ran once, the stalled sessions end" {
	start_master mf_plain
	local i
	local -a held=()
	SESSIONS0=$(grep -c 'Starting session: command' "$MF_TMP/sshd.log" || :)
	for i in 1 2 3; do
		(
			rc=0
			mf_plain_ssh -o ControlPath="$T/cm" testhost sleep 120 >/dev/null 2>&1 || rc=$?
			echo "$rc" >"$T/held.$i"
		) 3>&- &
		held+=($!)
	done
	mf_wait_for 20 sessions_started 3
	stall_server
	cmd mf_mux MUXFIX_REPLY_TIMEOUT_MS=2000
	assert_status 0
	assert_contains "$output" "ok"
	wait "${held[@]}"
	for i in 1 2 3; do assert_equal 255 "$(cat "$T/held.$i")"; done
	resume_server
	assert_equal 1 "$(ran_count)"
}

@test "MUXFIX_REPLY_TIMEOUT_MS=0: no bound, ssh waits on the half-dead master as plain ssh does" {
	start_master mf_plain
	stall_server
	cmd mf_mux MUXFIX_REPLY_TIMEOUT_MS=0 -t 4
	assert_status 124
	resume_server
	assert_equal 1 "$(ran_count)"
}

# A master that stops itself right after its hello (tests/progs/dyingmaster
# stop-after-hello), as Ctrl-Z on a foreground ssh -M at that moment; when
# continued it counts the session requests it finds into $T/ran.
stopping_master() {
	mf_as_user "$MF_BIN/dyingmaster" "$T/cm" stop-after-hello "$T/ran" >"$T/dm.out" 2>&1 3>&- &
	mf_wait_for 10 test -S "$T/cm"
	DM_PID=$(pgrep -u "$MF_UID" -f "^$MF_BIN/dyingmaster $T/cm stop-after-hello")
	[[ -n $DM_PID ]]
}

@test "plain ssh, master stopped after its hello: hangs" {
	stopping_master
	cmd mf_plain -t 5
	assert_status 124
	kill -CONT "$DM_PID"
	mf_wait_for 10 mf_gone "$DM_PID"
	assert_equal "resumed, 0 session request(s)" "$(cat "$T/dm.out")"
}

@test "muxfix, master stopped after its hello: ssh goes on after MUXFIX_TIMEOUT_MS with one login and becomes the master; nothing runs when the old one continues" {
	stopping_master
	local before
	before=$(mf_auth_count)
	cmd mf_mux MUXFIX_TIMEOUT_MS=1000 MUXFIX_VERBOSE=1
	assert_status 0
	assert_contains "$output" "ok"
	assert_contains "$output" "stopped) did not answer within"
	assert_contains "$output" "told it to stop listening and removed its socket"
	assert_auth_count $((before + 1))
	# the new master has the ControlPath
	run mf_mux_ssh -o ControlMaster=auto -o ControlPath="$T/cm" testhost echo next
	assert_status 0
	assert_equal "next" "$output"
	assert_auth_count $((before + 1))
	kill -CONT "$DM_PID"
	mf_wait_for 10 mf_gone "$DM_PID"
	assert_equal "resumed, 0 session request(s)" "$(cat "$T/dm.out")"
	assert_equal 1 "$(ran_count)"
}

# signal_and_look PID BELOW: one more SIGUSR1 to PID; true once it waits
# for an answer with less than BELOW ms to go (mf_long_wait).
signal_and_look() {
	kill -USR1 "$1"
	mf_long_wait "$1" "$2"
}

# ssh's handlers (SIGCHLD in the ssh that forked a ControlPersist master)
# may run while the library waits for an answer: the read returns EINTR as
# ssh's own poll would, and ssh reads again. SIGUSR1 with a handler
# (sigcatch.so) stands for them.
@test "muxfix, master stopped after its hello: a signal ssh handles neither ends the wait for its answer nor starts it again" {
	[[ $(uname -m) == x86_64 ]] || skip "reads the syscall number of x86_64 from /proc/PID/syscall"
	stopping_master
	local pid before after
	local cmdline="^ssh -F $MF_SSH_CONFIG -o ControlMaster=no -o ControlPath=$T/cm testhost echo ok"
	(mf_mux MUXFIX_TIMEOUT_MS=20000 LD_PRELOAD="$MF_PRELOAD $MF_BIN/sigcatch.so" \
		timeout 60 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no -o ControlPath="$T/cm" \
		testhost echo ok >"$T/out" 2>&1 || :) 3>&- &
	mf_wait_for 10 pgrep -u "$MF_UID" -f "$cmdline"
	pid=$(pgrep -u "$MF_UID" -f "$cmdline")
	mf_wait_for 10 mf_long_wait "$pid"
	before=$MF_WAIT_MS
	# A signal every 50 ms until ssh waits with a second less to go: a wait
	# started again at each would never get there (20 s).
	mf_wait_for 10 signal_and_look "$pid" "$((before - 1000))"
	after=$MF_WAIT_MS
	echo "# the wait had $before ms to go as it began, $after after $(grep -cx "sigcatch: SIGUSR1" "$T/out") signals" >&3
	[[ $(grep -cx "sigcatch: SIGUSR1" "$T/out") -ge 2 ]]
	refute_contains "$(cat "$T/out")" "ok"
}

@test "MUXFIX_REPLY_TIMEOUT_MS: a bad value is reported in one line and the default used" {
	# The configuration is read on the first Unix-socket call the library
	# looks at (config.h): one connect.
	run mf_mux MUXFIX_REPLY_TIMEOUT_MS=-1 "$MF_BIN/connect_steps" "$T/go" /nonexistent/muxfix
	assert_status 0
	assert_equal "muxfix: ignoring MUXFIX_REPLY_TIMEOUT_MS='-1' (not a number of milliseconds up to 600000); using 10000
1 ENOENT" "$output"
}

#!/usr/bin/env bats
# Issue 3: races between removers, publishers and dying masters.
load helpers

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
}

master_pid() { # the [mux] process serving $1
	pgrep -u "$MF_UID" -f "^ssh: $1 \[mux\]" | head -n 1
}

@test "race stress, plain: a dead socket blocks every new publisher" {
	run mf_plain "$MF_BIN/race" "$T/cm" 300 3
	assert_status 0
	echo "# plain: $output" >&3
	# Only the first publication succeeds; every later one meets the dead
	# socket its predecessor left (ssh: 'already exists, disabling').
	assert_contains "$output" "unpublished=299"
}

@test "race stress, muxfix: 3 reapers against a publisher, 3000 rounds, no live socket lost" {
	run mf_mux MUXFIX_TIMEOUT_MS=0 timeout 120 "$MF_BIN/race" "$T/cm" 3000 3
	echo "# muxfix: $output" >&3
	assert_status 0
	assert_equal "rounds=3000 lost=0 unpublished=0" "$output"
}

@test "plain: master A exits after master B took over its path: B's socket is deleted" {
	mf_plain_ssh -M -o ControlPersist=60 -o ControlPath="$T/cm" testhost true
	mv "$T/cm" "$T/cm-a" # A's socket moves aside; B publishes at the path
	mf_plain_ssh -M -o ControlPersist=60 -o ControlPath="$T/cm" testhost true
	assert_file_socket "$T/cm"
	run mf_plain_ssh -o ControlPath="$T/cm-a" -O exit testhost
	assert_status 0
	local a
	a=$(master_pid "$T/cm")
	# A, at exit, unlinks "$T/cm" by name: B's socket.
	mf_wait_for 10 refute_exists "$T/cm"
}

@test "muxfix: master A exits after master B took over its path: B's socket stays and works" {
	mf_mux_ssh -M -o ControlPersist=60 -o ControlPath="$T/cm" testhost true
	local a_pid
	a_pid=$(master_pid "$T/cm")
	[[ -n $a_pid ]]
	mv "$T/cm" "$T/cm-a"
	mf_mux_ssh -M -o ControlPersist=60 -o ControlPath="$T/cm" testhost true
	local b_inode
	b_inode=$(stat -c %i "$T/cm")
	MUXFIX_VERBOSE=1 run mf_mux_ssh -o ControlPath="$T/cm-a" -O exit testhost
	assert_status 0
	mf_wait_for 10 mf_gone "$a_pid"
	assert_file_socket "$T/cm"
	assert_equal "$b_inode" "$(stat -c %i "$T/cm")"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
}

@test "plain: a master that accepts and dies: 'master hello exchange failed'" {
	local pid
	pid=$(mf_live_socket_once "$T/cm")
	run mf_plain_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "master hello exchange failed"
}

@test "muxfix: a master that accepts and dies: connects again, goes on quietly" {
	local pid
	pid=$(mf_live_socket_once "$T/cm")
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$T/cm"
}

@test "muxfix: a master that accepts and dies, ControlMaster=auto: becomes the new master" {
	local pid
	pid=$(mf_live_socket_once "$T/cm")
	run mf_mux_ssh -o ControlMaster=auto -o ControlPersist=30 -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
}

# chaos RUNNER: 100 sequential then 200 parallel (8 at a time) commands on
# one ControlPath while another process SIGKILLs or SIGSTOPs/SIGCONTs the
# master at random moments. Prints "failed=F handshake=H killed=K
# warnings=W". killed counts commands whose master was SIGKILLed during
# their session (ssh exits 255 silently, "Control master terminated
# unexpectedly" being a debug line, before or after the command's output):
# the remote command may have run, so nothing may retry it; also the
# ControlPersist ssh whose own new master (its forked child, which holds the
# login) was killed before answering its session request ("Failed to
# connect to new control master"): there is no other master to go to and
# no login left to fall back on. handshake counts
# exits 255 with ssh's line for a failed write in the mux handshake ("write
# packet: Broken pipe", "send fds failed") or a failed read there: the
# master died before the session started, where muxfix replays the
# handshake (shim/follow.h). Every other non-zero exit or wrong output is a
# failure; warnings are commands that worked but printed an ssh error line
# (multiplexing lost for them).
chaos() {
	local runner=$1 i
	touch "$T/chaos.run"
	(
		while [[ -e $T/chaos.run ]]; do
			sleep "0.$((RANDOM % 4 + 1))" # chaos timing, not synchronisation
			pid=$(master_pid "$T/cm")
			[[ -n $pid ]] || continue
			if ((RANDOM % 2)); then
				kill -KILL "$pid" 2>/dev/null
			else
				kill -STOP "$pid" 2>/dev/null
				sleep "0.$((RANDOM % 9 + 1))"
				kill -CONT "$pid" 2>/dev/null
			fi
		done
	) 3>&- &
	local chaos_pid=$!
	one() {
		local out rc=0
		out=$("$runner" MUXFIX_TIMEOUT_MS=500 timeout 30 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=auto \
			-o ControlPersist=30 -o ControlPath="$T/cm" testhost echo "n-$1" 2>&1) || rc=$?
		printf '%s\n%s\n' "$rc" "$out" >"$T/chaos.$1"
	}
	for ((i = 0; i < 100; i++)); do
		one "$i"
	done
	for ((i = 100; i < 300; i += 8)); do
		local -a pids=()
		local j
		for ((j = i; j < i + 8 && j < 300; j++)); do
			(one "$j") 3>&- &
			pids+=($!)
		done
		wait "${pids[@]}"
	done
	rm -f "$T/chaos.run"
	wait "$chaos_pid" || :
	local failed=0 handshake=0 killed=0 warnings=0 rc out
	for ((i = 0; i < 300; i++)); do
		rc=$(head -n 1 "$T/chaos.$i")
		out=$(tail -n +2 "$T/chaos.$i")
		if [[ $rc == 255 && ( -z $out || $out == "n-$i" ||
			$out == *"Failed to connect to new control master"* ) ]]; then
			killed=$((killed + 1))
		elif [[ $rc == 255 && ( $out == *"write packet: "* || $out == *"send fds failed"* ||
			$out == *"read from master failed"* || $out == *"alive request failed"* ) ]]; then
			handshake=$((handshake + 1))
			printf '# handshake %s: %s\n' "$i" "$(tr '\n' '|' <<<"$out")" >&3
		elif [[ $rc != 0 ]] || ! grep -qx "n-$i" <<<"$out"; then
			failed=$((failed + 1))
			printf '# failed %s: exit %s: %s\n' "$i" "$rc" "$(tr '\n' '|' <<<"$out")" >&3
		elif [[ $out != "n-$i" ]]; then
			warnings=$((warnings + 1))
		fi
	done
	echo "failed=$failed handshake=$handshake killed=$killed warnings=$warnings"
}

@test "chaos, plain: 300 commands while the master is killed and stopped" {
	run chaos mf_plain
	echo "# plain chaos: $output" >&3
	[[ $output == failed=* ]]
}

@test "chaos, muxfix: 300 commands while the master is killed and stopped: none fails" {
	run chaos mf_mux
	echo "# muxfix chaos: $output" >&3
	assert_contains "$output" "failed=0 handshake=0 "
}

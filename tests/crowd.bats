#!/usr/bin/env bats
# Issue 3: many ssh at once against one ControlPath.
load helpers

# The sshd is stock (MaxSessions 10, MaxStartups 10:30:100): past ten
# sessions through the master the crowd waits for a slot (slots.bats).

setup() {
	mf_setup
	export MUXFIX_PATH="$T/*"
}

# Summary of a crowd: "ok=K failed=F exists=E".
summary() {
	local n=$1 i ok=0 failed=0 exists=0
	for ((i = 0; i < n; i++)); do
		if [[ $(cat "$T/rc.$i") == 0 ]] && grep -qx "hi-$i" "$T/out.$i"; then
			ok=$((ok + 1))
		else
			failed=$((failed + 1))
		fi
		grep -q "already exists, disabling multiplexing" "$T/out.$i" && exists=$((exists + 1))
	done
	echo "ok=$ok failed=$failed exists=$exists"
}

masters() {
	pgrep -u "$MF_UID" -f "^ssh: $T/cm \[mux\]" | wc -l
}

@test "plain ssh, 16 at once, no master yet: a herd of logins and 'already exists'" {
	local before
	before=$(mf_auth_count)
	mf_crowd mf_plain 16 -o ControlMaster=auto
	local s logins
	s=$(summary 16)
	logins=$(($(mf_auth_count) - before))
	echo "# plain 16: $s logins=$logins" >&3
	# The thundering herd muxfix exists for: more than one login.
	[[ $logins -gt 1 ]]
}

crowd_under_muxfix() {
	local n=$1 before s
	before=$(mf_auth_count)
	mf_crowd mf_mux "$n" -o ControlMaster=auto
	s=$(summary "$n")
	echo "# muxfix $n: $s logins=$(($(mf_auth_count) - before)) masters=$(masters)" >&3
	assert_equal "ok=$n failed=0 exists=0" "$s"
	assert_auth_count $((before + 1))
	assert_equal 1 "$(masters)"
}

@test "muxfix, 16 at once, no master yet: all succeed, one login, one master" {
	crowd_under_muxfix 16
}

@test "muxfix, 64 at once, no master yet: all succeed, one login, one master" {
	crowd_under_muxfix 64
}

# Every one of N that failed was dropped by sshd's MaxStartups (16 logins
# at once on a stock sshd, with or without muxfix: nothing to share), none
# hung (timeout's 124) or said "already exists". A dropped ssh says so at
# LogLevel INFO: kex_exchange_identification (a reset, and 9.5 and older on
# a close) or "Connection closed by" (9.6 and newer on a close, which they
# log at INFO only: silent at the harness's LogLevel ERROR).
only_maxstartups_drops() {
	local n=$1 i
	for ((i = 0; i < n; i++)); do
		grep -qx "hi-$i" "$T/out.$i" && continue
		[[ $(cat "$T/rc.$i") == 255 ]] &&
			grep -Eq '^(kex_exchange_identification: |Connection closed by 127\.0\.0\.1 port )' "$T/out.$i" ||
			_mf_fail "ssh $i: exit $(cat "$T/rc.$i")" "$(cat "$T/out.$i")" || return 1
	done
	assert_equal "exists=0" "$(summary "$n" | grep -o 'exists=[0-9]*')"
}

@test "muxfix, 16 at once with ControlMaster=no: nobody waits for a master that never comes" {
	# A wait would show as a 60 s hang: MUXFIX_WAIT_MS is far above timeout.
	export MUXFIX_WAIT_MS=120000
	local t0 t1 t2
	t0=$EPOCHREALTIME
	mf_crowd mf_plain 16 -o LogLevel=INFO -o ControlMaster=no
	t1=$EPOCHREALTIME
	only_maxstartups_drops 16
	mf_crowd mf_mux 16 -o LogLevel=INFO -o ControlMaster=no
	t2=$EPOCHREALTIME
	only_maxstartups_drops 16
	assert_equal 0 "$(masters)"
	# Information only (speed is claimed by make bench, not by tests).
	printf '# ControlMaster=no crowd of 16: plain %s s, muxfix %s s\n' \
		"$(awk "BEGIN{print $t1 - $t0}")" "$(awk "BEGIN{print $t2 - $t1}")" >&3
}

@test "muxfix, a would-be master that fails to log in releases the crowd at once" {
	export MUXFIX_WAIT_MS=120000
	# The first ssh holds the lock while it fails (no such identity, no
	# agent, BatchMode): the others must not wait 120 s for it.
	(mf_mux timeout 60 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=auto -o ControlPersist=30 \
		-o ControlPath="$T/cm" -o User=nosuchuser testhost true >"$T/bad.out" 2>&1 || :) 3>&- &
	local bad=$!
	mf_crowd mf_mux 8 -o ControlMaster=auto
	wait "$bad"
	assert_equal "ok=8 failed=0 exists=0" "$(summary 8)"
}

# A per-test ssh_config that sets ControlMaster itself, so the library must
# learn it from `ssh -G` (nothing about it on the command line).
config_with() {
	{
		printf 'Host testhost\n    ControlMaster %s\n    ControlPersist 30\n    ControlPath %s\n' "$1" "$T/cm"
		cat "$MF_SSH_CONFIG"
	} >"$T/ssh_config"
	chmod 0644 "$T/ssh_config"
}

config_crowd() { # N: N ssh at once with $T/ssh_config
	local n=$1 i
	local -a pids=()
	for ((i = 0; i < n; i++)); do
		(
			rc=0
			mf_mux timeout 60 ssh -F "$T/ssh_config" testhost echo "hi-$i" >"$T/out.$i" 2>&1 || rc=$?
			echo "$rc" >"$T/rc.$i"
		) 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
}

@test "muxfix, ControlMaster auto in ssh_config (not on the command line): one login for 8" {
	config_with auto
	local before
	before=$(mf_auth_count)
	config_crowd 8
	assert_equal "ok=8 failed=0 exists=0" "$(summary 8)"
	assert_auth_count $((before + 1))
}

@test "muxfix, ControlMaster no in ssh_config: nobody waits" {
	config_with no
	export MUXFIX_WAIT_MS=120000
	config_crowd 8
	assert_equal "ok=8 failed=0 exists=0" "$(summary 8)"
}

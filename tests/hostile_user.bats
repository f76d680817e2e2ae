#!/usr/bin/env bats
# A second local user against muxfix (issue 10, items 1-3): renaming the
# victim's control directory under the probe, listening at the victim's
# ControlPath, holding the removal lock. Every test runs the victim
# ($MF_USER) and the attacker ($MF_OTHER, muxfixother) as two unprivileged
# users against the real sshd; each failed on the library before the fix.
load helpers

setup() {
	mf_setup
	[[ -n ${MF_OTHER:-} ]] || skip "needs root to run two users"
	export MUXFIX_VERBOSE=1
	# Where the attacker's fake master writes what it was sent.
	R=$(mf_shared_dir report 0777)/report
}

field() { # NAME LINE: the value of NAME=VALUE in a summary line
	local re="(^| )$1=([^ ]*)"
	[[ $2 =~ $re ]] && printf '%s\n' "${BASH_REMATCH[2]}"
}

# fake_master RUNNER PATH REPORT: start fakemaster as RUNNER's user, print
# its pid once it listens.
fake_master() {
	local runner=$1 p=$2 report=$3 out pid
	out=$(mktemp "$MF_TMP/.fake.XXXXXX")
	chmod 0666 "$out"
	"$runner" sh -c 'exec "$0" "$1" "$2" >"$3" 2>&1 </dev/null' \
		"$MF_BIN/fakemaster" "$p" "$report" "$out" </dev/null >/dev/null 2>&1 3>&- &
	pid=$!
	mf_wait_for 5 grep -qx ready "$out" || { cat "$out" >&2; return 1; }
	rm -f "$out"
	printf '%s\n' "$pid"
}

# ---- 1. the probe that decides "dead" goes to the inode that was judged ----

# swap_lab: $P (0777, not sticky: a shared team directory) holds the
# victim's 0700 directory v with a live master at v/cm, and the attacker's
# directory a with a dead socket a/cm (0777) of his own.
swap_lab() {
	P=$(mf_shared_dir team 0777)
	mf_as_user mkdir -m 0700 "$P/v"
	LIVE_PID=$(fake_master mf_as_user "$P/v/cm" /dev/null)
	mf_as_other mkdir -m 0755 "$P/a"
	mf_as_other "$MF_MKSOCK" "$P/a/cm"
	mf_as_other chmod 0777 "$P/a/cm"
	LIVE_ID=$(stat -c '%i %U' "$P/v/cm")
	export MUXFIX_PATH="$P/v/*" MUXFIX_TIMEOUT_MS=0 MUXFIX_VERBOSE=0
}

swap_check() { # the victim's live master still has its name
	assert_owner "$P/v" "$MF_USER"
	assert_file_socket "$P/v/cm"
	assert_equal "$LIVE_ID" "$(stat -c '%i %U' "$P/v/cm")"
}

# swap_race VICTIM-COMMAND...: 4 s of the attacker exchanging v and a
# while the victim runs the command; prints the victim's summary line.
swap_race() {
	mf_as_other "$MF_BIN/dirswap" swap "$P" v a 4 >"$T/swaps" 2>&1 3>&- &
	local attacker=$!
	"$@"
	wait "$attacker"
	echo "attacker: $(cat "$T/swaps")" >&2
}

@test "directory swap, plain (control): connects race the swap, nothing is removed" {
	swap_lab
	run swap_race mf_plain timeout 60 "$MF_BIN/dirswap" connect "$P/v/cm" 4
	echo "# plain: ${output//$'\n'/; }" >&3
	local line=${lines[0]}
	[[ $(field refused "$line") -gt 0 ]] || _mf_fail "the swap never showed the dead socket: $output"
	swap_check
}

@test "directory swap, muxfix connect: the live master's socket survives thousands of refused connects" {
	swap_lab
	run swap_race mf_mux timeout 60 "$MF_BIN/dirswap" connect "$P/v/cm" 4
	echo "# muxfix: ${output//$'\n'/; }" >&3
	local line=${lines[0]}
	[[ $(field rounds "$line") -ge 1000 ]] || _mf_fail "too few rounds: $output"
	[[ $(field refused "$line") -gt 0 ]] || _mf_fail "the swap never showed the dead socket: $output"
	swap_check
}

# muxfix clean runs muxfix-probe once per entry: an exec per round (tens
# under ASan, hundreds otherwise); the same judgement in process runs
# thousands of rounds.
@test "directory swap, muxfix-probe --remove-if-dead (muxfix clean): the live master's socket survives" {
	swap_lab
	run swap_race mf_as_user timeout 60 "$MF_BIN/dirswap" probe "$MF_BIN/muxfix-probe" "$P/v/cm" 4
	echo "# probe: ${output//$'\n'/; }" >&3
	local line=${lines[0]}
	[[ $(field rounds "$line") -ge 20 ]] || _mf_fail "too few rounds: $output"
	assert_equal 0 "$(field removed "$line")"
	swap_check
}

@test "directory swap, the probe's judgement in process: the live master's socket survives thousands of rounds" {
	swap_lab
	run swap_race mf_as_user timeout 60 "$MF_BIN/dirswap" judge "$P/v/cm" 4
	echo "# judge: ${output//$'\n'/; }" >&3
	local line=${lines[0]}
	[[ $(field rounds "$line") -ge 1000 ]] || _mf_fail "too few rounds: $output"
	assert_equal 0 "$(field removed "$line")"
	swap_check
}

@test "a dead socket of the victim's under a directory another user can rename in: refused, kept" {
	swap_lab
	kill "$LIVE_PID"
	mf_wait_for 5 mf_gone "$LIVE_PID"
	rm -f "$P/v/cm"
	mf_dead_socket "$P/v/cm"
	run mf_mux MUXFIX_VERBOSE=1 timeout 20 "$MF_BIN/dirswap" connect "$P/v/cm" 0.01
	assert_status 0
	assert_contains "$output" "muxfix: left $P/v/cm alone: its directory $P/v is not safe to change (another user can rename entries of a directory above it)"
	assert_file_socket "$P/v/cm"
}

# The attacker replaces a directory above the control directory with a
# symbolic link to another directory of the victim's: the path now leads to
# a dead socket the victim never said to manage.
@test "a symlink planted above the control directory: the victim's socket it leads to is not removed" {
	P=$(mf_shared_dir team 0777)
	mf_as_user mkdir -p -m 0700 "$P/v/cm" "$T/app/cm"
	mf_dead_socket "$T/app/cm/s"
	export MUXFIX_PATH="$P/v/cm/*" MUXFIX_VERBOSE=1
	mf_as_other sh -c 'mv "$0/v" "$0/v.old" && ln -s "$1" "$0/v"' "$P" "$T/app"
	run mf_mux timeout 20 "$MF_BIN/dirswap" connect "$P/v/cm/s" 0.01
	assert_status 0
	assert_contains "$output" "not safe to change (another user can rename entries of a directory above it)"
	assert_file_socket "$T/app/cm/s"
}

# ---- 2. never a client of another user's master ----

# The attacker listens at the victim's ControlPath in a sticky directory
# (the common ControlPath /tmp/ssh-%r@%h:%p) before the victim's ssh looks.
@test "another user's listener at the ControlPath, plain ssh: it talks to him" {
	local s
	s=$(mf_shared_dir sticky 1777)
	fake_master mf_as_other "$s/cm" "$R" >/dev/null
	run mf_plain_ssh -o ControlMaster=no -o ControlPath="$s/cm" testhost echo ok
	echo "# plain: $(cat "$R" 2>/dev/null)" >&3
	mf_wait_for 5 grep -q '^conn bytes=[1-9]' "$R" ||
		_mf_fail "the attacker got nothing from plain ssh: $(cat "$R" 2>&1)"
}

@test "another user's listener at the ControlPath, muxfix: refused with one line, nothing sent, ssh logs in itself" {
	local s n0
	s=$(mf_shared_dir sticky 1777)
	fake_master mf_as_other "$s/cm" "$R" >/dev/null
	export MUXFIX_PATH="$s/*"
	n0=$(mf_auth_count)
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$s/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: refused the control socket $s/cm: its master runs as uid $MF_OTHER_UID, not as you (uid $MF_UID); ssh goes on without it"
	assert_equal ok "${lines[-1]}"
	assert_equal $((n0 + 1)) "$(mf_auth_count)"
	# The attacker saw at most a connection that closed with nothing sent.
	if [[ -e $R ]]; then
		refute_contains "$(cat "$R")" "conn bytes=1"
		assert_equal 0 "$(grep -c 'bytes=[1-9]' "$R")"
	fi
	assert_file_socket "$s/cm"
	assert_owner "$s/cm" "$MF_OTHER"
}

# In a directory where ssh could remove it (writable by the group, not
# sticky), ssh with ControlMaster=auto unlinks a path that refused it:
# muxfix stops it from removing another user's socket.
@test "another user's listener, ControlMaster=auto in a non-sticky shared directory: refused and never removed" {
	local s
	s=$(mf_shared_dir team 0777)
	fake_master mf_as_other "$s/cm" "$R" >/dev/null
	export MUXFIX_PATH="$s/*" MUXFIX_VERBOSE=2
	run mf_mux_ssh -o ControlMaster=auto -o ControlPath="$s/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: refused the control socket $s/cm"
	assert_contains "$output" "muxfix: did not let ssh remove $s/cm: it is another user's socket"
	assert_file_socket "$s/cm"
	assert_owner "$s/cm" "$MF_OTHER"
	assert_equal 0 "$(grep -c 'bytes=[1-9]' "$R" 2>/dev/null || :)"
}

# The crowd: while the victim's first ssh logs in (it holds the master
# lock), the victim's second ssh waits for the master to appear; the
# attacker, who can see the lock in /proc/locks, binds first.
# victim_waits S LOG [VAR=VALUE...]: the victim's would-be master holds the
# lock of S/cm as a logging-in ssh does, and the victim's next ssh
# (ControlMaster=no, MUXFIX_LOG=LOG, its output in $T/out, its pid in
# VICTIM) is seen waiting for it.
victim_waits() {
	local s=$1 log=$2
	shift 2
	mf_as_user sh -c 'umask 077; exec flock -x "$0" sleep 30' "$s/.cm.muxfix-lock" 3>&- &
	mf_wait_for 5 grep -q "" /proc/locks
	mf_mux_ssh MUXFIX_VERBOSE=2 MUXFIX_LOG="$log" "$@" -o ControlMaster=no -o ControlPath="$s/cm" \
		testhost echo ok >"$T/out" 2>&1 3>&- &
	VICTIM=$!
	mf_wait_for 10 grep -q "another ssh is becoming the master of $s/cm; waiting" "$log"
}

@test "crowd wait: another user's listener appearing while we wait is refused, not attached" {
	local s log
	s=$(mf_shared_dir sticky 1777)
	log="$T/mux.log"
	export MUXFIX_PATH="$s/*"
	victim_waits "$s" "$log"
	fake_master mf_as_other "$s/cm" "$R" >/dev/null
	wait "$VICTIM"
	cat "$log" "$T/out" >&2
	assert_equal ok "$(tail -n 1 "$T/out")"
	grep -q "refused the control socket $s/cm: its master runs as uid $MF_OTHER_UID" "$log"
	refute_contains "$(cat "$log")" "attached"
	assert_equal 0 "$(grep -c 'bytes=[1-9]' "$R" 2>/dev/null || :)"
}

# The attacker binds the name first with a listener whose backlog is full:
# a blocking connect() to it waits for good. muxfix's own connects (the
# crowd's wait here) never block.
@test "crowd wait: another user's listener with a full backlog does not hang the waiting ssh" {
	local s log
	s=$(mf_shared_dir sticky 1777)
	log="$T/mux.log"
	export MUXFIX_PATH="$s/*"
	victim_waits "$s" "$log" MUXFIX_WAIT_MS=2000
	local out pid
	out=$(mktemp "$MF_TMP/.full.XXXXXX")
	chmod 0666 "$out"
	mf_as_other sh -c 'exec "$0" -f "$1" >"$2" 2>&1 </dev/null' "$MF_MKSOCK" "$s/cm" "$out" \
		</dev/null >/dev/null 2>&1 3>&- &
	mf_wait_for 5 grep -qx ready "$out"
	# Bounded: the wait is 2 s, then ssh logs in itself.
	mf_wait_for 20 mf_gone "$VICTIM" || _mf_fail "the waiting ssh hangs: $(cat "$log")"
	wait "$VICTIM" || :
	cat "$log" "$T/out" >&2
	assert_equal ok "$(tail -n 1 "$T/out")"
}

# ---- 3. the removal lock is the user's own ----

@test "removal lock: another user holding the directory open and locked does not stall or stop the repair" {
	local d
	d=$(mf_shared_dir ctl 0755 "$MF_UID")
	export MUXFIX_PATH="$d/*"
	mf_dead_socket "$d/cm"
	# The old lock was flock() on the directory itself: anyone who can open
	# it holds it.
	mf_as_other sh -c 'exec flock -x "$0" sleep 30' "$d" 3>&- &
	mf_wait_for 5 grep -q FLOCK /proc/locks
	local t0=$EPOCHREALTIME
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$d/cm" testhost echo ok
	local ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
	echo "# repair with the directory flock()ed by another user: $ms ms" >&3
	assert_status 0
	assert_contains "$output" "muxfix: removed dead control socket $d/cm"
	refute_contains "$output" "Connection refused"
	refute_exists "$d/cm"
	# The lock is a private file of the user's, in the private directory.
	assert_owner "$d/.muxfix-lock" "$MF_USER"
	assert_mode "$d/.muxfix-lock" 600
}

@test "removal lock in a sticky directory: a lock file planted by another user is reported, nothing removed" {
	local s
	s=$(mf_shared_dir sticky 1777)
	export MUXFIX_PATH="$s/*"
	mf_as_other sh -c 'umask 0; : >"$0"' "$s/.muxfix-lock-$MF_UID"
	mf_dead_socket "$s/cm"
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$s/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: left dead socket $s/cm alone: the directory's removal lock file is not a private file of yours"
	assert_file_socket "$s/cm"
	assert_owner "$s/.muxfix-lock-$MF_UID" "$MF_OTHER"
}

@test "removal lock in a sticky directory: the user's own lock file, named by uid, nobody else's to open" {
	local s
	s=$(mf_shared_dir sticky 1777)
	export MUXFIX_PATH="$s/*"
	mf_dead_socket "$s/cm"
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$s/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: removed dead control socket $s/cm"
	assert_owner "$s/.muxfix-lock-$MF_UID" "$MF_USER"
	assert_mode "$s/.muxfix-lock-$MF_UID" 600
	run mf_as_other sh -c 'exec 3<"$0"' "$s/.muxfix-lock-$MF_UID"
	[[ $status -ne 0 ]] || _mf_fail "the other user could open the lock file"
	assert_contains "$output" "Permission denied"
}

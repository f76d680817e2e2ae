# shellcheck shell=bash
# tests/helpers.bash - load from bats files with:  load helpers
#
# Defaults (a test file may redefine them and call the mf_* versions):
#   setup_file     -> mf_setup_file     start sshd (exports all MF_*)
#   teardown_file  -> mf_teardown_file  stop everything, remove MF_TMP
#   setup          -> mf_setup          T=$MF_TMP/tN (0700, MF_USER), cd "$T"
#   teardown       -> mf_teardown       kill processes whose cmdline has "$T/"
#                                       or "$T.s/"
#
# mf_stall_server PID: the sshd serving master PID stopped (a frozen server).
# mf_cut_master PID: the master's packets to sshd dropped (a network gone).
#
# mf_shared_dir NAME MODE [OWNER]: make $T.s/NAME (root's unless OWNER), a
# directory both test users can reach ($T itself is MF_USER's, 0700), print it.
# mf_long_wait PID [BELOW]: PID waits in the library for a master's answer.

# shellcheck source=../scripts/sshd-harness.sh
source "$BATS_TEST_DIRNAME/../scripts/sshd-harness.sh"

mf_setup_file() {
	if [[ ! -x ${MUXFIX_TEST_BUILD:-$MF_REPO/build}/mksock ]]; then
		echo "missing the test programs: run the suite with 'make test'" >&2
		return 1
	fi
	mf_harness_start
}

mf_teardown_file() { mf_harness_stop; }

mf_setup() {
	T=$(mf_testdir "t$BATS_TEST_NUMBER")
	export T
	cd "$T" || return 1
}

mf_teardown() {
	local p
	# Never leave sshd stopped for the next test (mf_stall_server), nor a
	# connection cut (mf_cut_master).
	for p in ${STOPPED_SSHD:-} ${MASTER_PID:-}; do kill -CONT "$p" 2>/dev/null || :; done
	[[ -z ${CUT_TABLE:-} ]] || nft delete table inet "$CUT_TABLE" 2>/dev/null || :
	if [[ -n ${T:-} ]]; then
		mf_kill_matching "$T/"
		mf_kill_matching "$T.s/"
	fi
}

# mf_long_wait PID [BELOW]: PID sits in poll(2) on one descriptor with a
# timeout over 5 s and below BELOW ms (default: any); the timeout in
# MF_WAIT_MS. The library's waits for a master's answer are such polls
# (the timeout is what is left of MUXFIX_TIMEOUT_MS or
# MUXFIX_REPLY_TIMEOUT_MS, set over 5 s by the test); its other waits are
# 3 s at most, its pauses nanosleeps. Reads /proc/PID/syscall (x86_64's
# numbering: poll is 7) in this shell, not a subshell: as a user other than
# root, Yama's ptrace_scope 1 lets only an ancestor of PID read it.
mf_long_wait() {
	local nr nfds timeout
	read -r nr _ nfds timeout _ <"/proc/$1/syscall" || return 1
	[[ $nr == 7 && $nfds == 0x1 ]] || return 1
	timeout=$((timeout))
	((timeout > 5000 && timeout < ${2:-2147483647})) || return 1
	# shellcheck disable=SC2034 # read by the tests
	MF_WAIT_MS=$timeout
}

# mf_crowd RUNNER N [ssh option...]: N ssh at once on the ControlPath
# $T/cm (ControlPersist 30, unless an option says otherwise: the first value
# counts), each running "${BUSY:-}echo hi-I"; each one's output in $T/out.I
# and exit status in $T/rc.I.
mf_crowd() {
	local runner=$1 n=$2 i
	shift 2
	local -a pids=()
	rm -f "$T"/out.* "$T"/rc.*
	for ((i = 0; i < n; i++)); do
		(
			rc=0
			"$runner" timeout 60 ssh -F "$MF_SSH_CONFIG" "$@" -o ControlPersist=30 \
				-o ControlPath="$T/cm" testhost "${BUSY:-}echo hi-$i" >"$T/out.$i" 2>&1 || rc=$?
			echo "$rc" >"$T/rc.$i"
		) 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# mf_start_plain_master: a master of plain ssh at $T/cm (ControlPersist
# 60), its pid in MASTER_PID. mf_teardown resumes it if a test stopped it.
mf_start_plain_master() {
	mf_plain_ssh -M -o ControlPersist=60 -o ControlPath="$T/cm" testhost true
	MASTER_PID=$(pgrep -u "$MF_UID" -f "^ssh: $T/cm \[mux\]")
	[[ -n $MASTER_PID ]]
}

# mf_stall_server PID: SIGSTOP the sshd processes serving the TCP
# connection of master PID (found by its local port), as a network that
# stopped carrying anything (tests/stall.bats). Sets STOPPED_SSHD, which
# mf_teardown continues.
mf_stall_server() {
	local lport
	lport=$(mf_master_port "$1") || return 1
	STOPPED_SSHD=$(ss -tnpH "( sport = :$MF_PORT and dport = :$lport )" |
		grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' ')
	[[ -n $STOPPED_SSHD ]] || _mf_fail "no sshd serving port $lport" || return 1
	# shellcheck disable=SC2086
	kill -STOP $STOPPED_SSHD
}

# The local port of the TCP connection of master PID.
mf_master_port() {
	local lport
	lport=$(ss -tnpH | awk -v p="pid=$1," '$0 ~ p {n = split($4, a, ":"); print a[n]}')
	[[ -n $lport ]] || _mf_fail "no TCP connection of the master $1" || return 1
	printf '%s\n' "$lport"
}

# mf_cut_master PID: from now on the packets of master PID to sshd are
# dropped (nftables, that one connection only), as a network that went
# away: what it sends stays unacknowledged. Needs root and nft; sets
# CUT_TABLE, which mf_teardown removes.
mf_cut_master() {
	local lport
	lport=$(mf_master_port "$1") || return 1
	CUT_TABLE="muxfix_test_$$_$BATS_TEST_NUMBER"
	nft add table inet "$CUT_TABLE" &&
		nft add chain inet "$CUT_TABLE" out '{ type filter hook output priority 0; }' &&
		nft add rule inet "$CUT_TABLE" out ip daddr 127.0.0.1 tcp sport "$lport" tcp dport "$MF_PORT" drop
}

mf_shared_dir() {
	local d="$T.s/$1"
	[[ -d $T.s ]] || mkdir -m 0755 "$T.s" || return 1
	mkdir "$d" && chmod "$2" "$d" || return 1
	if [[ -n ${3:-} ]]; then chown "$3" "$d" || return 1; fi
	printf '%s\n' "$d"
}

setup_file() { mf_setup_file; }
teardown_file() { mf_teardown_file; }
setup() { mf_setup; }
teardown() { mf_teardown; }

# ---- assertions: print expected vs. seen, return 1 ----

_mf_fail() {
	printf '%s\n' "$@" >&2
	return 1
}

_mf_describe() { # what is at path $1
	if [[ -e $1 || -L $1 ]]; then ls -ld -- "$1" 2>&1; else echo "nothing"; fi
}

assert_file_socket() {
	[[ -S $1 && ! -L $1 ]] ||
		_mf_fail "expected a socket at: $1" "found: $(_mf_describe "$1")"
}

assert_exists() {
	[[ -e $1 || -L $1 ]] || _mf_fail "expected to exist: $1" "found: nothing"
}

refute_exists() {
	[[ ! -e $1 && ! -L $1 ]] ||
		_mf_fail "expected NOT to exist: $1" "found: $(_mf_describe "$1")"
}

# assert_mode PATH OCTAL (e.g. 700)
assert_mode() {
	local m
	m=$(stat -c %a -- "$1" 2>&1) || _mf_fail "cannot stat $1: $m" || return 1
	[[ $m == "$2" ]] || _mf_fail "mode of $1: expected $2, seen $m"
}

# assert_owner PATH USER
assert_owner() {
	local o
	o=$(stat -c %U -- "$1" 2>&1) || _mf_fail "cannot stat $1: $o" || return 1
	[[ $o == "$2" ]] || _mf_fail "owner of $1: expected $2, seen $o"
}

assert_equal() { # EXPECTED SEEN
	[[ $1 == "$2" ]] || _mf_fail "expected: $1" "seen:     $2"
}

assert_contains() { # HAYSTACK NEEDLE
	[[ $1 == *"$2"* ]] ||
		_mf_fail "expected to contain: $2" "seen:" "$1" "(end)"
}

refute_contains() { # HAYSTACK NEEDLE
	[[ $1 != *"$2"* ]] ||
		_mf_fail "expected NOT to contain: $2" "seen:" "$1" "(end)"
}

# assert_status N  (after `run`): checks $status, shows $output on mismatch
# shellcheck disable=SC2154 # status and output are set by bats' run
assert_status() {
	[[ $status -eq $1 ]] ||
		_mf_fail "exit status: expected $1, seen $status" "output:" "$output" "(end)"
}

# assert_auth_count N: sshd has accepted N public-key logins so far
assert_auth_count() {
	local n
	n=$(mf_auth_count)
	[[ $n -eq $1 ]] || _mf_fail "sshd logins: expected $1, seen $n"
}

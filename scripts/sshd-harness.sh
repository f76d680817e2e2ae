# shellcheck shell=bash
# sshd-harness.sh - a throwaway sshd on 127.0.0.1 plus helpers to run
# ssh (and scp/sftp/rsync/git) against it, with or without muxfix.
#
# Meant to be SOURCED (bats tests, scripts/demo, benchmarks). Safe under
# `set -e` and `set -u`. Nothing here is bats-specific.
#
#   mf_harness_start            start sshd, export MF_* (see below)
#   mf_harness_stop             kill everything under $MF_TMP, remove it
#   mf_as_user [N=V ...] CMD    run CMD as $MF_USER in a clean environment
#   mf_as_other [N=V ...] CMD   the same as $MF_OTHER, the second local user
#                               (the attacker of the adversarial tests)
#   mf_plain / mf_mux  [N=V ...] CMD      CMD without / with LD_PRELOAD muxfix
#                               (mf_mux forwards exported MUXFIX_* except
#                               MUXFIX_TEST_*, and ASAN/UBSAN/LSAN_OPTIONS)
#   mf_mux_env                  MF_MUX_ENV=(those N=V words), no LD_PRELOAD
#   mf_plain_ssh / mf_mux_ssh [N=V ...] ARGS   ssh -F $MF_SSH_CONFIG ARGS
#   mf_wait_for SECONDS CMD     poll CMD every 0.05 s (SECONDS may be 0.5)
#   mf_auth_count               "Accepted publickey" lines in sshd's log
#   mf_testdir NAME             make $MF_TMP/NAME (0700, owned by MF_USER)
#   mf_dead_socket PATH         leave a dead AF_UNIX socket at PATH
#   mf_live_socket PATH         start a listener at PATH, print its pid
#   mf_live_socket_once PATH    one that accepts once, hangs up and exits
#   mf_kill_matching STRING     SIGCONT+SIGKILL processes whose cmdline has it
#   mf_gone PID                 true if PID is gone or a zombie (PID 1 may
#                               not reap orphans here, so kill -0 can lie)
#
# Exported by mf_harness_start: MF_TMP MF_USER MF_HOME MF_UID MF_GID
# MF_OTHER MF_OTHER_UID MF_OTHER_GID (root only: a second unprivileged user,
# muxfixother; empty when the suite runs as a normal user)
# MF_PORT MF_SSHD_PID MF_SSH_CONFIG MF_SSH (the "ssh -F ..." command line,
# for rsync -e / GIT_SSH_COMMAND) MF_PRELOAD MF_MKSOCK MF_REPO
# MF_SSH_BIN MF_SCP_BIN MF_SFTP_BIN MF_SSHD_BIN (the programs under test)
# MF_SSH_VERSION MF_SSHD_VERSION (e.g. 10.5p1, 9.2p1) MF_USER_PATH (the PATH
# every command of the test users gets: MF_TMP/sshbin first, where ssh, scp
# and sftp are the ones under test, so rsync, git, muxfix-ssh and the
# tests' own "ssh" all run them).
#
# Inputs: MUXFIX_TEST_BUILD (the build directory, default <repo>/build;
# its library and test programs are copied to MF_BIN=$MF_TMP/bin),
# MUXFIX_TEST_LIB (default $MF_BIN/libmuxfix.so),
# MUXFIX_TEST_PRELOAD_EXTRA (prepended to LD_PRELOAD, e.g. libasan),
# MF_SSHD_EXTRA_CONFIG (extra sshd_config lines, e.g. "MaxSessions 64").
# The OpenSSH under test, one variable each (default: the system's):
# MUXFIX_TEST_SSH (/usr/bin/ssh), MUXFIX_TEST_SCP (/usr/bin/scp),
# MUXFIX_TEST_SFTP (/usr/bin/sftp), MUXFIX_TEST_SSHD (/usr/sbin/sshd).
# `make test-matrix` points them at each version in build/openssh/.
#
# mf_ssh_at_least X.Y: the ssh under test is OpenSSH X.Y or newer (tests
# that differ by version say so with it).

MF_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export MF_REPO

_MF_ASSIGN_RE='^[A-Za-z_][A-Za-z0-9_]*='

_mf_die() {
	printf 'sshd-harness: %s\n' "$*" >&2
	return 1
}

# _mf_user_argv [N=V ...] CMD ARGS: set _MF_ARGV to the full argv that runs
# CMD as MF_USER (or _MF_AS_USER/_MF_AS_UID/_MF_AS_GID/_MF_AS_HOME) with a
# clean environment plus the N=V words.
_mf_user_argv() {
	local user=${_MF_AS_USER:-$MF_USER} uid=${_MF_AS_UID:-$MF_UID}
	local gid=${_MF_AS_GID:-$MF_GID} home=${_MF_AS_HOME:-$MF_HOME}
	local -a envs=("PATH=$MF_USER_PATH" "HOME=$home"
		"USER=$user" "LOGNAME=$user")
	while [[ $# -gt 0 && $1 =~ $_MF_ASSIGN_RE ]]; do
		envs+=("$1")
		shift
	done
	[[ $# -gt 0 ]] || { _mf_die "no command given"; return 1; }
	_MF_ARGV=()
	if [[ $EUID -eq 0 ]]; then
		_MF_ARGV=(setpriv "--reuid=$uid" "--regid=$gid" --init-groups)
	fi
	_MF_ARGV+=(env -i "${envs[@]}" "$@")
}

mf_as_user() {
	_mf_user_argv "$@" || return 1
	(
		# Keep a working directory under MF_TMP (per-test dirs), else MF_TMP.
		case $PWD/ in "$MF_TMP"/*) ;; *) cd "$MF_TMP" || exit 1 ;; esac
		exec "${_MF_ARGV[@]}"
	)
}

mf_as_other() {
	[[ -n ${MF_OTHER:-} ]] || { _mf_die "no second user (the suite runs as a normal user)"; return 1; }
	_MF_AS_USER=$MF_OTHER _MF_AS_UID=$MF_OTHER_UID _MF_AS_GID=$MF_OTHER_GID \
		_MF_AS_HOME=$MF_OTHER_HOME mf_as_user "$@"
}

mf_plain() { mf_as_user "$@"; }

# mf_mux_env: set MF_MUX_ENV to the N=V words mf_mux passes besides
# LD_PRELOAD (the exported MUXFIX_* but MUXFIX_TEST_*, and the sanitizers'
# options), for a command that sets LD_PRELOAD itself (bench-spawn).
mf_mux_env() {
	local v
	MF_MUX_ENV=()
	# ${!MUXFIX_@}, not $(compgen -e MUXFIX_): no fork, so a timed command
	# (scripts/bench) pays nothing the plain side does not.
	for v in ${!MUXFIX_@} ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		case $v in
		MUXFIX_TEST_*) continue ;;                  # harness settings
		MUXFIX_*) [[ ${!v@a} == *x* ]] || continue ;; # exported ones only
		esac
		[[ -n ${!v+set} ]] && MF_MUX_ENV+=("$v=${!v}")
	done
	return 0
}

mf_mux() {
	mf_mux_env
	mf_as_user "LD_PRELOAD=$MF_PRELOAD" "${MF_MUX_ENV[@]}" "$@"
}

# _mf_ssh RUNNER [N=V ...] ARGS: RUNNER [N=V ...] ssh -F MF_SSH_CONFIG ARGS
_mf_ssh() {
	local runner=$1
	local -a envs=()
	shift
	while [[ $# -gt 0 && $1 =~ $_MF_ASSIGN_RE ]]; do
		envs+=("$1")
		shift
	done
	"$runner" "${envs[@]}" ssh -F "$MF_SSH_CONFIG" "$@"
}

mf_plain_ssh() { _mf_ssh mf_plain "$@"; }
mf_mux_ssh() { _mf_ssh mf_mux "$@"; }

mf_wait_for() {
	local secs=$1 int frac now deadline
	shift
	int=${secs%%.*} frac=
	[[ $secs == *.* ]] && frac=${secs#*.}
	frac="${frac}000000"
	now=${EPOCHREALTIME/[.,]/}
	deadline=$((now + 10#${int:-0} * 1000000 + 10#${frac:0:6}))
	while :; do
		if "$@"; then return 0; fi
		now=${EPOCHREALTIME/[.,]/}
		[[ $now -lt $deadline ]] || return 1
		sleep 0.05
	done
}

mf_auth_count() {
	grep -c 'Accepted publickey for' "$MF_TMP/sshd.log" || :
}

mf_testdir() {
	local d="$MF_TMP/$1"
	mkdir -p "$d" && chown "$MF_UID:$MF_GID" "$d" && chmod 0700 "$d" &&
		printf '%s\n' "$d"
}

mf_dead_socket() {
	mf_as_user "$MF_MKSOCK" "$1"
}

# _mf_listener MODE PATH: mksock MODE PATH in the background as MF_USER,
# once it is listening; prints its pid.
_mf_listener() {
	local mode=$1 p=$2 out pid
	out=$(mktemp "$MF_TMP/.live.XXXXXX") || return 1
	_mf_user_argv "$MF_MKSOCK" "$mode" "$p" || return 1
	# Simple command in the background: $! is the listener itself (setpriv
	# and env exec it). fd 3 closed so bats doesn't wait for it.
	"${_MF_ARGV[@]}" </dev/null >"$out" 2>&1 3>&- &
	pid=$!
	if ! mf_wait_for 5 grep -qx ready "$out"; then
		cat "$out" >&2
		kill "$pid" 2>/dev/null || :
		rm -f "$out"
		_mf_die "listener at $p did not come up"
		return 1
	fi
	rm -f "$out"
	printf '%s\n' "$pid"
}

mf_live_socket() { _mf_listener -l "$1"; }
# A "master" that accepts one connection, closes it unanswered and exits.
mf_live_socket_once() { _mf_listener -1 "$1"; }

_mf_sshd_settled() { # listening, or sshd gone
	grep -q 'Server listening on 127.0.0.1 port' "$MF_TMP/sshd.log" ||
		mf_gone "$MF_SSHD_PID"
}

_mf_write_sshd_config() {
	cat >"$MF_TMP/sshd_config" <<-EOF
		# generated by scripts/sshd-harness.sh
		ListenAddress 127.0.0.1
		Port $MF_PORT
		HostKey $MF_TMP/host_ed25519
		PidFile $MF_TMP/sshd.pid
		AuthorizedKeysFile $MF_TMP/authorized_keys
		UsePAM no
		StrictModes no
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PrintMotd no
		PrintLastLog no
		LogLevel VERBOSE
		# no AcceptEnv: the client's environment never reaches the session
		Subsystem sftp internal-sftp
		${MF_SSHD_EXTRA_CONFIG:-}
	EOF
}

# "OpenSSH_10.5p1, without OpenSSL" -> 10.5p1
_mf_openssh_version() {
	local v
	v=$("$1" -V 2>&1 </dev/null | head -n 1)
	v=${v#OpenSSH_}
	printf '%s\n' "${v%%[ ,]*}"
}

# The programs under test (MUXFIX_TEST_SSH ...), reachable by the test user,
# and the PATH that puts them first.
_mf_openssh_under_test() {
	local name var bin
	MF_SSH_BIN=${MUXFIX_TEST_SSH:-/usr/bin/ssh}
	MF_SCP_BIN=${MUXFIX_TEST_SCP:-/usr/bin/scp}
	MF_SFTP_BIN=${MUXFIX_TEST_SFTP:-/usr/bin/sftp}
	MF_SSHD_BIN=${MUXFIX_TEST_SSHD:-/usr/sbin/sshd}
	mkdir -m 0755 "$MF_TMP/sshbin" || return 1
	for name in ssh scp sftp; do
		var=MF_${name^^}_BIN
		bin=${!var}
		[[ $bin == /* && -x $bin ]] || { _mf_die "$var=$bin: not an absolute path to a program"; return 1; }
		ln -s "$bin" "$MF_TMP/sshbin/$name" || return 1
	done
	[[ $MF_SSHD_BIN == /* && -x $MF_SSHD_BIN ]] ||
		{ _mf_die "MF_SSHD_BIN=$MF_SSHD_BIN: not an absolute path to a program"; return 1; }
	MF_USER_PATH="$MF_TMP/sshbin:/usr/local/bin:/usr/bin:/bin"
	export MF_SSH_BIN MF_SCP_BIN MF_SFTP_BIN MF_SSHD_BIN MF_USER_PATH
	if ! mf_as_user "$MF_SSH_BIN" -V 2>/dev/null; then
		_mf_die "$MF_USER cannot run $MF_SSH_BIN (a directory on its path is not searchable by others?)"
		return 1
	fi
	MF_SSH_VERSION=$(_mf_openssh_version "$MF_SSH_BIN")
	MF_SSHD_VERSION=$(_mf_openssh_version "$MF_SSHD_BIN")
	export MF_SSH_VERSION MF_SSHD_VERSION
}

# mf_ssh_at_least X.Y: the ssh under test is X.Y or newer.
mf_ssh_at_least() {
	local want_major=${1%%.*} want_minor=${1#*.} v=${MF_SSH_VERSION%%p*}
	local major=${v%%.*} minor=${v#*.}
	((major > want_major || (major == want_major && minor >= want_minor)))
}

mf_harness_start() {
	local try f
	MF_TMP=$(mktemp -d /tmp/muxfix-test.XXXXXX) || return 1
	chmod 755 "$MF_TMP"
	export MF_TMP

	if [[ $EUID -eq 0 ]]; then
		MF_USER=muxfixtest
		if ! getent passwd "$MF_USER" >/dev/null; then
			useradd -m -s /bin/bash "$MF_USER" || return 1
		fi
		# '!' in shadow = locked; sshd without PAM refuses locked accounts.
		usermod -p '*' "$MF_USER" || return 1
		mkdir -p /run/sshd # privilege separation directory
		# The second local user: the attacker of the adversarial tests.
		MF_OTHER=muxfixother
		if ! getent passwd "$MF_OTHER" >/dev/null; then
			useradd -m -s /bin/bash "$MF_OTHER" || return 1
		fi
		MF_OTHER_UID=$(id -u "$MF_OTHER")
		MF_OTHER_GID=$(id -g "$MF_OTHER")
		MF_OTHER_HOME=$(getent passwd "$MF_OTHER" | cut -d: -f6)
	else
		MF_USER=$(id -un)
		MF_OTHER= MF_OTHER_UID= MF_OTHER_GID= MF_OTHER_HOME=
	fi
	export MF_OTHER MF_OTHER_UID MF_OTHER_GID MF_OTHER_HOME
	MF_HOME=$(getent passwd "$MF_USER" | cut -d: -f6)
	MF_UID=$(id -u "$MF_USER")
	MF_GID=$(id -g "$MF_USER")
	# The build may sit where the test user cannot read it (a clone under
	# /root): the library and test programs are used from a copy in MF_TMP.
	local build=${MUXFIX_TEST_BUILD:-$MF_REPO/build}
	mkdir -m 0755 "$MF_TMP/bin"
	# Every program of the build (the library, muxfix-probe, tests/progs).
	for f in "$build"/*; do
		if [[ -f $f && -x $f ]]; then install -m 0755 "$f" "$MF_TMP/bin/${f##*/}"; fi
	done
	MF_MKSOCK="$MF_TMP/bin/mksock"
	MF_BIN="$MF_TMP/bin"
	MF_PRELOAD="${MUXFIX_TEST_PRELOAD_EXTRA:+$MUXFIX_TEST_PRELOAD_EXTRA }${MUXFIX_TEST_LIB:-$MF_BIN/libmuxfix.so}"
	export MF_USER MF_HOME MF_UID MF_GID MF_MKSOCK MF_PRELOAD MF_BIN

	_mf_openssh_under_test || return 1

	# A preload the test user cannot read is silently ignored by ld.so.
	for f in $MF_PRELOAD; do
		if [[ -e $f ]] && ! mf_as_user test -r "$f"; then
			_mf_die "$MF_USER cannot read $f (LD_PRELOAD would be ignored)"
			return 1
		fi
	done

	ssh-keygen -q -t ed25519 -N '' -C muxfix-host -f "$MF_TMP/host_ed25519" ||
		return 1
	mkdir -m 0700 "$MF_TMP/client"
	ssh-keygen -q -t ed25519 -N '' -C muxfix-client -f "$MF_TMP/client/id_ed25519" ||
		return 1
	chmod 0600 "$MF_TMP/client/id_ed25519"
	chown -R "$MF_UID:$MF_GID" "$MF_TMP/client"
	install -m 0644 "$MF_TMP/client/id_ed25519.pub" "$MF_TMP/authorized_keys"

	for try in 1 2 3 4 5 6 7 8 9 10; do
		MF_PORT=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		_mf_write_sshd_config
		: >"$MF_TMP/sshd.log"
		"$MF_SSHD_BIN" -D -e -f "$MF_TMP/sshd_config" \
			</dev/null >>"$MF_TMP/sshd.log" 2>&1 3>&- &
		MF_SSHD_PID=$!
		disown "$MF_SSHD_PID" # no "Killed" job notices from bash
		mf_wait_for 10 _mf_sshd_settled || :
		if grep -q 'Server listening on 127.0.0.1 port' "$MF_TMP/sshd.log"; then
			break
		fi
		kill "$MF_SSHD_PID" 2>/dev/null || :
		mf_wait_for 5 mf_gone "$MF_SSHD_PID" || :
		MF_SSHD_PID=
		cp "$MF_TMP/sshd.log" "$MF_TMP/sshd.log.try$try"
	done
	if [[ -z $MF_SSHD_PID ]]; then
		cat "$MF_TMP/sshd.log" >&2
		_mf_die "sshd did not start (logs in $MF_TMP)"
		return 1
	fi
	export MF_PORT MF_SSHD_PID

	MF_SSH_CONFIG="$MF_TMP/ssh_config"
	cat >"$MF_SSH_CONFIG" <<-EOF
		# generated by scripts/sshd-harness.sh; no Control* options here
		Host testhost
		    HostName 127.0.0.1
		    Port $MF_PORT
		    User $MF_USER
		    IdentityFile $MF_TMP/client/id_ed25519
		    IdentitiesOnly yes
		    BatchMode yes
		    StrictHostKeyChecking no
		    UserKnownHostsFile /dev/null
		    LogLevel ERROR
	EOF
	chmod 0644 "$MF_SSH_CONFIG"
	MF_SSH="ssh -F $MF_SSH_CONFIG"
	export MF_SSH_CONFIG MF_SSH
}

# mf_kill_matching STRING: SIGCONT then SIGKILL every process (except this
# shell) whose command line contains STRING literally; waits until gone.
mf_kill_matching() {
	local re pid
	local -a pids=()
	[[ -n ${1:-} ]] || { _mf_die "mf_kill_matching: empty pattern"; return 1; }
	re=$(printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g')
	for pid in $(pgrep -f -- "$re"); do
		[[ $pid == "$$" || $pid == "$BASHPID" ]] || pids+=("$pid")
	done
	[[ ${#pids[@]} -gt 0 ]] || return 0
	kill -CONT "${pids[@]}" 2>/dev/null || :
	kill -KILL "${pids[@]}" 2>/dev/null || :
	for pid in "${pids[@]}"; do
		mf_wait_for 5 mf_gone "$pid" || :
	done
}

mf_gone() { # no such process, or a zombie
	local st
	st=$(ps -o stat= -p "$1") || return 0
	[[ $st == Z* ]]
}

mf_harness_stop() {
	case ${MF_TMP:-} in /tmp/muxfix-test.?*) ;; *) return 0 ;; esac
	mf_kill_matching "$MF_TMP" # ssh masters, listeners, and sshd itself
	if [[ -n ${MF_SSHD_PID:-} ]]; then
		kill "$MF_SSHD_PID" 2>/dev/null || :
		mf_wait_for 5 mf_gone "$MF_SSHD_PID" || :
		MF_SSHD_PID=
	fi
	rm -rf "$MF_TMP"
	MF_TMP=
}

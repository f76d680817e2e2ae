#!/usr/bin/env bats
# The Debian package (debian/, `make deb`): built by dpkg-buildpackage with
# debhelper, lintian finds nothing, the files where Debian puts them;
# installed with dpkg -i, `muxfix ssh` repairs a stale socket through it as
# the test user; removed (dpkg -r) and purged (dpkg -P), leaving nothing
# behind. The package is installed system-wide: root only, one run at a
# time on a machine (a lock), and never over a muxfix package someone else
# installed.
load helpers

DEB_LOCK=/run/lock/muxfix-deb-test.lock
[[ -d /run/lock ]] || DEB_LOCK=/tmp/muxfix-deb-test.lock

# dpkg_run ARGS: dpkg ARGS, tried again while another dpkg or apt holds
# dpkg's lock (dpkg itself does not wait), for at most 120 s.
dpkg_try() {
	DPKG_RC=0
	DPKG_OUT=$(dpkg "$@" 2>&1) || DPKG_RC=$?
	[[ $DPKG_RC -eq 0 || $DPKG_OUT != *lock*locked* ]]
}
dpkg_run() {
	mf_wait_for 120 dpkg_try "$@" || :
	printf '%s\n' "$DPKG_OUT"
	return "$DPKG_RC"
}

# Why the tests of this file cannot run here ("" when they can): bats
# 1.8 cannot skip from setup_file, so setup does.
deb_skip_reason() {
	if [[ $EUID -ne 0 ]]; then
		echo "needs root (dpkg -i)"
	elif [[ -n ${MUXFIX_TEST_PRELOAD_EXTRA:-} ]]; then
		# Under SANITIZE the suite preloads ASan's runtime; the package
		# holds the plain build, tested in the plain run.
		echo "the package holds the plain build: tested without SANITIZE"
	elif ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
		echo "needs dpkg-dev and debhelper (apt-get install dpkg-dev debhelper)"
	fi
}

setup_file() {
	DEB_SKIP=$(deb_skip_reason)
	export DEB_SKIP
	[[ -z $DEB_SKIP ]] || return 0
	mf_setup_file
	export MF_DEB_LOG="$MF_TMP/make-deb.log"
	# make deb from the source tree (its own copy under build/deb), the
	# way a user runs it; the test's own make flags (SANITIZE, BUILD) are
	# not the package's.
	(cd "$MF_REPO" && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make deb) >"$MF_DEB_LOG" 2>&1 &&
		echo 0 >"$MF_TMP/make-deb.rc" || echo $? >"$MF_TMP/make-deb.rc"
	DEB=$(ls "$MF_REPO"/build/deb/muxfix_*.deb 2>/dev/null | head -n 1) || :
	MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	export DEB MULTIARCH
}

setup() {
	[[ -z $DEB_SKIP ]] || skip "$DEB_SKIP"
	mf_setup
}

teardown() {
	[[ -z $DEB_SKIP ]] || return 0
	# A test that installed the package and failed midway: purge it here.
	if [[ -e $MF_TMP/installed-by-test ]]; then
		dpkg_run -P muxfix >/dev/null 2>&1 || :
		rm -f "$MF_TMP/installed-by-test"
	fi
	mf_teardown
}

# The names directly in every directory the package puts something in,
# and dpkg's own files about it: what must be the same before and after.
snapshot() {
	local d
	for d in "${PARENTS[@]}"; do
		find "$d" -mindepth 1 -maxdepth 1 2>/dev/null | LC_ALL=C sort
	done
	find /var/lib/dpkg/info -name 'muxfix[.:]*' | LC_ALL=C sort
}

@test "make deb: dpkg-buildpackage builds muxfix_VERSION_ARCH.deb, lintian finds nothing" {
	cat "$MF_DEB_LOG"
	assert_equal 0 "$(cat "$MF_TMP/make-deb.rc")"
	[[ -f $DEB ]] || _mf_fail "no .deb in $MF_REPO/build/deb"
	run dpkg-deb -f "$DEB" Package Version Architecture Depends
	assert_contains "$output" "Package: muxfix"
	# The package's version is the command's.
	assert_contains "$output" "Version: $("$MF_REPO/scripts/muxfix" --version | cut -d' ' -f2)"
	assert_contains "$output" "Architecture: $(dpkg --print-architecture)"
	assert_contains "$output" "openssh-client"
	command -v lintian >/dev/null || skip "lintian is not installed"
	assert_contains "$(cat "$MF_DEB_LOG")" "lintian build/deb/muxfix_"
	# make deb fails on any lintian error or warning; none shown either.
	refute_contains "$(cat "$MF_DEB_LOG")" $'\nE: '
	refute_contains "$(cat "$MF_DEB_LOG")" $'\nW: '
}

@test "the package: commands in /usr/bin, library and helpers in /usr/lib/MULTIARCH/muxfix, man pages, docs, completion" {
	[[ -f $DEB ]] || skip "no .deb (see the first test)"
	run dpkg-deb -c "$DEB"
	assert_status 0
	local f
	for f in ./usr/bin/muxfix ./usr/bin/muxfix-ssh \
		"./usr/lib/$MULTIARCH/muxfix/libmuxfix.so" \
		"./usr/lib/$MULTIARCH/muxfix/muxfix-probe" \
		"./usr/lib/$MULTIARCH/muxfix/muxfix-doctor" \
		./usr/share/man/man1/muxfix.1.gz ./usr/share/man/man1/muxfix-ssh.1.gz \
		./usr/share/man/man7/libmuxfix.7.gz \
		./usr/share/doc/muxfix/README.md.gz ./usr/share/doc/muxfix/SECURITY.md.gz \
		./usr/share/doc/muxfix/copyright \
		./usr/share/bash-completion/completions/muxfix \
		./usr/share/bash-completion/completions/muxfix-ssh \
		./usr/share/zsh/vendor-completions/_muxfix; do
		assert_contains "$output" " $f"
	done
	# Nothing under /usr/local, /etc or a lib directory of its own.
	refute_contains "$output" "./usr/local"
	refute_contains "$output" "./etc/"
	refute_contains "$output" "./usr/lib/muxfix"
}

@test "dpkg -i; muxfix ssh, muxfix-ssh and muxfix clean work through it as the test user; dpkg -r, dpkg -P leave nothing behind" {
	[[ -f $DEB ]] || skip "no .deb (see the first test)"
	local lock status
	exec {lock}>"$DEB_LOCK"
	flock -w 600 "$lock" || _mf_fail "another run held $DEB_LOCK for 10 minutes"
	status=$(dpkg-query -W -f='${db:Status-Status}' muxfix 2>/dev/null) || status=not-installed
	[[ $status == not-installed ]] ||
		skip "a muxfix package is on this machine already ($status), not ours to replace: dpkg -P muxfix"

	local -a PARENTS
	mapfile -t PARENTS < <(dpkg-deb -c "$DEB" | awk '{ print substr($6, 2) }' |
		xargs -n 1 dirname | LC_ALL=C sort -u)
	snapshot >"$MF_TMP/before"

	: >"$MF_TMP/installed-by-test"
	run dpkg_run -i "$DEB"
	assert_status 0
	assert_equal installed "$(dpkg-query -W -f='${db:Status-Status}' muxfix)"

	# The command of the package finds the library in the multiarch directory.
	run mf_as_user /usr/bin/muxfix env
	assert_status 0
	assert_equal "export LD_PRELOAD='/usr/lib/$MULTIARCH/muxfix/libmuxfix.so'" "$(grep '^export LD_PRELOAD=' <<<"$output")"

	# muxfix ssh: the ControlPath from ssh -G is managed; the stale socket
	# goes, no message.
	mf_dead_socket "$T/cm"
	run mf_as_user /usr/bin/muxfix ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no \
		-o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$T/cm"

	# muxfix -v ssh -M: the master comes up over a stale socket.
	mf_dead_socket "$T/cm"
	run mf_as_user /usr/bin/muxfix -v ssh -F "$MF_SSH_CONFIG" -M -o ControlPersist=30 \
		-o ControlPath="$T/cm" testhost true
	assert_status 0
	assert_contains "$output" "muxfix: removed dead control socket $T/cm"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
	mf_plain_ssh -o ControlPath="$T/cm" -O exit testhost 2>/dev/null || :

	# muxfix-ssh, the drop-in.
	mf_dead_socket "$T/cm2"
	run mf_as_user /usr/bin/muxfix-ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no \
		-o ControlPath="$T/cm2" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$T/cm2"

	# muxfix clean: the helper from the package judges and removes.
	mf_dead_socket "$T/cm3"
	run mf_as_user /usr/bin/muxfix clean "$T"
	assert_status 0
	assert_contains "$output" "removed  $T/cm3"
	refute_exists "$T/cm3"

	# man muxfix-ssh: a link to muxfix(1), which describes both.
	run man -w muxfix-ssh
	assert_status 0
	assert_equal "/usr/share/man/man1/muxfix.1.gz" "$output"

	run dpkg_run -r muxfix
	assert_status 0
	for f in /usr/bin/muxfix /usr/bin/muxfix-ssh "/usr/lib/$MULTIARCH/muxfix"; do
		refute_exists "$f"
	done
	run dpkg_run -P muxfix
	assert_status 0
	rm -f "$MF_TMP/installed-by-test"
	run dpkg-query -W -f='${db:Status-Status}' muxfix
	[[ $status -ne 0 || $output == not-installed ]] ||
		_mf_fail "dpkg still knows muxfix: $output"
	snapshot >"$MF_TMP/after"
	run diff -u "$MF_TMP/before" "$MF_TMP/after"
	assert_status 0
}

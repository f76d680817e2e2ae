#!/usr/bin/env bats
# The muxfix command, installed with `make install` into a DESTDIR: run a
# command under the library (finding the target's ControlPath with ssh -G),
# env/on/off for shells and deploy scripts, and the muxfix-ssh drop-in for
# scp -S, sftp -S, rsync -e and GIT_SSH_COMMAND. No MUXFIX_PATH is set here:
# the control paths under $T are managed only because muxfix found them.
bats_require_minimum_version 1.5.0 # run -N
load helpers
load command_helpers

setup() {
	mf_setup
	unset MUXFIX_PATH
	head -c 65536 /dev/urandom >"$T/src.bin"
	chown "$MF_UID:$MF_GID" "$T/src.bin"
	chmod 0644 "$T/src.bin"
	CTL_NO=(-o ControlMaster=no -o ControlPath="$T/cm")
}

@test "make install: library, probe, commands, man pages under DESTDIR; uninstall removes them" {
	local d="$MF_TMP/inst2"
	mf_install_muxfix "$d"
	for f in usr/bin/muxfix usr/bin/muxfix-ssh usr/lib/muxfix/libmuxfix.so \
		usr/lib/muxfix/muxfix-probe; do
		[[ -x $d/$f ]] || _mf_fail "not installed: $f"
	done
	assert_exists "$d/usr/lib/muxfix/muxfix-doctor"
	assert_exists "$d/usr/share/man/man1/muxfix.1"
	assert_exists "$d/usr/share/man/man7/libmuxfix.7"
	run man -l --warnings=w "$d/usr/share/man/man1/muxfix.1"
	assert_status 0
	assert_contains "$output" "muxfix doctor"
	make -s -C "$MF_REPO" --no-print-directory uninstall PREFIX=/usr DESTDIR="$d"
	refute_exists "$d/usr/bin/muxfix"
	refute_exists "$d/usr/bin/muxfix-ssh"
	refute_exists "$d/usr/lib/muxfix"
	refute_exists "$d/usr/share/man/man1/muxfix.1"
	refute_exists "$d/usr/share/man/man7/libmuxfix.7"
}

@test "muxfix --version, --help, usage errors exit 2" {
	run mx muxfix --version
	assert_status 0
	assert_equal "muxfix 0.1.0" "$output"
	run mx muxfix -V
	assert_status 0
	assert_equal "muxfix 0.1.0" "$output"
	run mx muxfix --help
	assert_status 0
	assert_contains "$output" "usage: muxfix [-v] [--] COMMAND [ARGS...]"
	run mx muxfix
	assert_status 2
	run mx muxfix -x true
	assert_status 2
}

@test "the command keeps no copy of the library's rules: the defaults come from the probe (shim/config.h)" {
	local lib probe
	lib=$(sed -n '/#define MUXFIX_DEFAULT_PATH/,/^$/p' "$MF_REPO/shim/config.h" |
		grep -o '"[^"]*"' | tr -d '"\n')
	probe=$(mx "$MF_INST/usr/lib/muxfix/muxfix-probe" defaults | tr -d '\0')
	assert_equal "$lib" "$probe"
	# No default list and no pattern making of its own in the bash.
	run grep -nE "ssh/sockets|MUXFIX_DEFAULTS|path_as_pattern" \
		"$MF_REPO/scripts/muxfix" "$MF_REPO/scripts/muxfix-doctor"
	assert_status 1
}

@test "muxfix nosuchcmd: 'muxfix: nosuchcmd: command not found', exit 127, like a shell" {
	run -127 mx muxfix nosuchcmd-muxfix-test
	assert_status 127
	assert_equal "muxfix: nosuchcmd-muxfix-test: command not found" "$output"
	run -127 mx muxfix -- "$T/nothing-here"
	assert_status 127
	assert_equal "muxfix: $T/nothing-here: No such file or directory" "$output"
	mf_as_user touch "$T/not-executable"
	run mx muxfix "$T/not-executable"
	assert_status 126
	assert_equal "muxfix: $T/not-executable: Permission denied" "$output"
}

@test "installed muxfix appends to LD_PRELOAD and finds its library under lib/muxfix" {
	local pre=${MUXFIX_TEST_PRELOAD_EXTRA:+$MUXFIX_TEST_PRELOAD_EXTRA:}
	run mx muxfix sh -c 'printf "%s\n" "$LD_PRELOAD"'
	assert_status 0
	assert_equal "${pre}$MF_INST/usr/lib/muxfix/libmuxfix.so" "$output"
	run mx LD_PRELOAD="${pre}libdl.so.2" muxfix sh -c 'printf "%s\n" "$LD_PRELOAD"'
	assert_equal "${pre}libdl.so.2:$MF_INST/usr/lib/muxfix/libmuxfix.so" "$output"
	# -- : a command named like a subcommand; -v sets MUXFIX_VERBOSE
	run mx muxfix -v -- env
	assert_contains "$output" "MUXFIX_VERBOSE=1"
	assert_contains "$output" "LD_PRELOAD=${pre}$MF_INST/usr/lib/muxfix/libmuxfix.so"
}

@test "make install LIBDIR=/usr/lib/x86_64-linux-gnu: muxfix finds its library and helper there, also after the tree is moved" {
	local d="$MF_TMP/inst-ma" moved="$MF_TMP/inst-ma-moved" ma=/usr/lib/x86_64-linux-gnu
	make -s -C "$MF_REPO" --no-print-directory install PREFIX=/usr LIBDIR="$ma" DESTDIR="$d" \
		BUILD="${MUXFIX_TEST_BUILD:-$MF_REPO/build}"
	assert_exists "$d$ma/muxfix/libmuxfix.so"
	refute_exists "$d/usr/lib/muxfix"
	run mf_as_user "$d/usr/bin/muxfix" env
	assert_status 0
	assert_equal "export LD_PRELOAD='$d$ma/muxfix/libmuxfix.so'" "$(grep '^export LD_PRELOAD=' <<<"$output")"
	mv "$d" "$moved"
	run mf_as_user "$moved/usr/bin/muxfix" env
	assert_equal "export LD_PRELOAD='$moved$ma/muxfix/libmuxfix.so'" "$(grep '^export LD_PRELOAD=' <<<"$output")"
	# the helper too: clean asks muxfix-probe
	run mf_as_user "$moved/usr/bin/muxfix" clean --dry-run "$T"
	assert_status 0
	assert_contains "$output" "muxfix clean --dry-run: would remove 0"
	make -s -C "$MF_REPO" --no-print-directory uninstall PREFIX=/usr LIBDIR="$ma" DESTDIR="$moved"
	refute_exists "$moved/usr/bin/muxfix"
	refute_exists "$moved$ma/muxfix"
}

@test "muxfix in the source tree finds ../build/libmuxfix.so" {
	local tree="$MF_TMP/tree"
	mkdir -p "$tree/scripts" "$tree/build"
	install -m 0755 "$MF_REPO/scripts/muxfix" "$MF_REPO/scripts/muxfix-ssh" "$tree/scripts/"
	install -m 0755 "$MF_BIN/libmuxfix.so" "$MF_BIN/muxfix-probe" "$tree/build/"
	run mx "$tree/scripts/muxfix" sh -c 'printf "%s\n" "$LD_PRELOAD"'
	assert_status 0
	assert_equal "$tree/build/libmuxfix.so" "${output##*:}"
}

@test "plain library, default MUXFIX_PATH: a stale socket at a custom ControlPath is repaired too (learnt inside ssh)" {
	mf_dead_socket "$T/cm"
	run mf_mux_ssh "${CTL_NO[@]}" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$T/cm"
}

@test "muxfix ssh: the ControlPath from ssh -G is managed; stale socket removed, no message" {
	mf_dead_socket "$T/cm"
	run mx muxfix ssh -F "$MF_SSH_CONFIG" "${CTL_NO[@]}" testhost echo ok
	assert_status 0
	assert_equal "ok" "$output"
	refute_exists "$T/cm"
}

@test "muxfix -v ssh -M, stale socket: one line says what was removed; the master is up" {
	mf_dead_socket "$T/cm"
	run mx muxfix -v ssh -F "$MF_SSH_CONFIG" -M -o ControlPersist=30 -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: removed dead control socket $T/cm"
	run mf_plain_ssh -o ControlPath="$T/cm" -O check testhost
	assert_status 0
	assert_contains "$output" "Master running"
}

@test "eval \"\$(muxfix on)\" and off, in bash and in dash" {
	local sh
	for sh in bash dash; do
		mf_dead_socket "$T/cm"
		run mx MUXFIX_PATH="$T/*" "$sh" -c '
			eval "$(muxfix on)" || exit 9
			ssh -F "$1" -o ControlMaster=no -o ControlPath="$2" testhost echo ok
			eval "$(muxfix off)" || exit 9
			echo "after off: [${LD_PRELOAD-unset}]"' x "$MF_SSH_CONFIG" "$T/cm"
		assert_status 0
		assert_equal "ok
after off: [${MUXFIX_TEST_PRELOAD_EXTRA:-unset}]" "$output"
		refute_exists "$T/cm"
	done
}

@test "a deploy script: one line eval \"\$(muxfix env)\", every ssh after it repaired" {
	cat >"$T/deploy.sh" <<-'EOF'
		#!/bin/sh
		set -e
		eval "$(muxfix env)"
		ssh -F "$1" -o ControlMaster=no -o ControlPath="$2" testhost echo step1
		ssh -F "$1" -o ControlMaster=no -o ControlPath="$2" testhost echo step2
	EOF
	chmod 0755 "$T/deploy.sh"
	chown "$MF_UID:$MF_GID" "$T/deploy.sh"
	mf_dead_socket "$T/cm"
	run mx MUXFIX_PATH="$T/*" "$T/deploy.sh" "$MF_SSH_CONFIG" "$T/cm"
	assert_status 0
	assert_equal "step1
step2" "$output"
	refute_exists "$T/cm"
}

# ---- the muxfix-ssh drop-in ----

@test "plain scp, stale socket: 'Connection refused', the file stays" {
	mf_dead_socket "$T/cm"
	run mf_plain scp -F "$MF_SSH_CONFIG" "${CTL_NO[@]}" "$T/src.bin" "testhost:$T/dst.bin"
	assert_status 0
	assert_contains "$output" "Control socket connect($T/cm): Connection refused"
	assert_file_socket "$T/cm"
}

@test "scp -S muxfix-ssh, stale socket: copied, no message, the file is gone" {
	mf_dead_socket "$T/cm"
	run mx scp -S muxfix-ssh -F "$MF_SSH_CONFIG" "${CTL_NO[@]}" "$T/src.bin" "testhost:$T/dst.bin"
	assert_status 0
	assert_equal "" "$output"
	refute_exists "$T/cm"
	cmp "$T/src.bin" "$T/dst.bin"
}

@test "sftp -S muxfix-ssh, stale socket: transferred, no message, the file is gone" {
	mf_dead_socket "$T/cm"
	printf '%s\n' "put $T/src.bin $T/up.bin" "get $T/up.bin $T/down.bin" >"$T/batch"
	chown "$MF_UID:$MF_GID" "$T/batch"
	run mx sftp -S muxfix-ssh -F "$MF_SSH_CONFIG" "${CTL_NO[@]}" -b "$T/batch" testhost
	assert_status 0
	refute_contains "$output" "Connection refused"
	refute_exists "$T/cm"
	cmp "$T/src.bin" "$T/down.bin"
}

@test "rsync -e muxfix-ssh, stale socket: synced, no message, the file is gone" {
	mf_dead_socket "$T/cm"
	run mx rsync -e "muxfix-ssh -F $MF_SSH_CONFIG -o ControlMaster=no -o ControlPath=$T/cm" \
		"$T/src.bin" "testhost:$T/dst.bin"
	assert_status 0
	assert_equal "" "$output"
	refute_exists "$T/cm"
	cmp "$T/src.bin" "$T/dst.bin"
}

@test "GIT_SSH_COMMAND=muxfix-ssh, stale socket: cloned, no message, the file is gone" {
	local -a who=(GIT_AUTHOR_NAME=muxfix GIT_AUTHOR_EMAIL=muxfix@example.invalid
		GIT_COMMITTER_NAME=muxfix GIT_COMMITTER_EMAIL=muxfix@example.invalid)
	mf_as_user git init -q --bare --initial-branch=main "$T/repo.git"
	mf_as_user git init -q --initial-branch=main "$T/work"
	echo "muxfix command test" >"$T/work/README"
	chown "$MF_UID:$MF_GID" "$T/work/README"
	mf_as_user git -C "$T/work" add README
	mf_as_user "${who[@]}" git -C "$T/work" commit -q -m "muxfix marker"
	mf_as_user git -C "$T/work" push -q "$T/repo.git" main
	mf_dead_socket "$T/cm"
	run mx "GIT_SSH_COMMAND=muxfix-ssh -F $MF_SSH_CONFIG -o ControlMaster=no -o ControlPath=$T/cm" \
		git clone -q "ssh://testhost$T/repo.git" "$T/clone"
	assert_status 0
	assert_equal "" "$output"
	refute_exists "$T/cm"
	run mf_as_user git -C "$T/clone" log -1 --format=%s
	assert_equal "muxfix marker" "$output"
}

#!/usr/bin/env bats
# Nothing at process start, and no passwd lookup a path does not need: the
# configuration is read on the first Unix-socket call the library looks
# at, and '~' is expanded from the passwd database only when a path could
# match a '~' pattern (or from MUXFIX_HOME, which the muxfix command sets).
# strace shows what the process itself opened and connected to.
load helpers

# nss_seen FILE: did the traced process look a user up (nsswitch.conf,
# /etc/passwd, or nscd's socket)?
nss_seen() {
	grep -Eq 'nsswitch\.conf|/etc/passwd|nscd/socket' "$1"
}

# traced OUT [N=V ...] CMD...: CMD as the test user under the library,
# strace's record of its opens and connects in OUT.
traced() {
	local out=$1
	shift
	mf_mux "$@" 2>/dev/null || :
	[[ -s $out ]] || { echo "no strace output in $out" >&2; return 1; }
}

setup() {
	mf_setup
	command -v strace >/dev/null || skip "strace is not installed"
}

# opened TRACE: the paths the traced process opened, one per line, sorted.
opened() {
	sed -n 's/^[0-9]* *open[a-z]*([^"]*"\([^"]*\)".*/\1/p' "$1" | sort -u
}

@test "/bin/true under the library: no file opened, no passwd lookup" {
	traced "$T/trace" strace -qq -f -o "$T/trace" -e trace=open,openat,connect /bin/true
	# The same without the library (and with the same other preloads: the
	# ASan runtime under SANITIZE=1).
	mf_plain ${MUXFIX_TEST_PRELOAD_EXTRA:+LD_PRELOAD=$MUXFIX_TEST_PRELOAD_EXTRA} \
		${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
		strace -qq -f -o "$T/trace.plain" -e trace=open,openat,connect /bin/true || :
	run nss_seen "$T/trace"
	assert_status 1
	# What was opened with the library and not without it: shared objects
	# the loader mapped (the library; the sanitizer runtimes it needs under
	# SANITIZE=1), nothing the library opened itself.
	opened "$T/trace.plain" >"$T/plain.list"
	opened "$T/trace" >"$T/with.list"
	run comm -13 "$T/plain.list" "$T/with.list"
	assert_status 0
	grep -q 'libmuxfix\.so' <<<"$output" || _mf_fail "the library was not loaded: $output"
	local extra
	extra=$(grep -v '\.so\(\.[0-9.]*\)\?$' <<<"$output" || :)
	assert_equal "" "$extra"
}

@test "a connect to an unmanaged Unix path with the default '~' patterns: no passwd lookup" {
	mf_dead_socket "$T/x-dead"
	traced "$T/trace" strace -qq -f -o "$T/trace" -e trace=open,openat,connect \
		"$MF_MKSOCK" -c "$T/x-dead"
	grep -q "x-dead" "$T/trace"
	run nss_seen "$T/trace"
	assert_status 1
	assert_file_socket "$T/x-dead"
}

@test "a connect to a dead socket under ~/.ssh, default patterns: '~' looked up then, and repaired" {
	local d="$MF_HOME/.ssh/sockets"
	mf_as_user mkdir -p -m 0700 "$d"
	mf_dead_socket "$d/cm-first-use-$BATS_TEST_NUMBER"
	traced "$T/trace" strace -qq -f -o "$T/trace" -e trace=open,openat,connect \
		"$MF_MKSOCK" -c "$d/cm-first-use-$BATS_TEST_NUMBER"
	run nss_seen "$T/trace"
	assert_status 0
	refute_exists "$d/cm-first-use-$BATS_TEST_NUMBER"
}

@test "MUXFIX_HOME of this uid: '~' taken from it, no lookup even for a managed path" {
	mkdir -m 0700 "$T/fakehome" "$T/fakehome/s"
	chown -R "$MF_UID:$MF_GID" "$T/fakehome"
	mf_dead_socket "$T/fakehome/s/cm"
	traced "$T/trace" "MUXFIX_HOME=$MF_UID:$T/fakehome" 'MUXFIX_PATH=~/s/*' \
		strace -qq -f -o "$T/trace" -e trace=open,openat,connect "$MF_MKSOCK" -c "$T/fakehome/s/cm"
	run nss_seen "$T/trace"
	assert_status 1
	refute_exists "$T/fakehome/s/cm"
}

@test "MUXFIX_HOME of another uid (after su, setpriv): ignored, the passwd home is used" {
	local d="$MF_HOME/.muxfix-first-use-$BATS_TEST_NUMBER"
	mf_as_user mkdir -p -m 0700 "$d"
	mf_dead_socket "$d/cm"
	run mf_mux "MUXFIX_HOME=$((MF_UID + 1)):/nonexistent" "MUXFIX_PATH=~/.muxfix-first-use-$BATS_TEST_NUMBER/*" \
		"$MF_MKSOCK" -c "$d/cm"
	refute_exists "$d/cm"
	rm -rf "$d"
}

@test "MUXFIX_HOME malformed: one line, the passwd home is used" {
	local d="$MF_HOME/.muxfix-first-use-$BATS_TEST_NUMBER"
	mf_as_user mkdir -p -m 0700 "$d"
	mf_dead_socket "$d/cm"
	run mf_mux "MUXFIX_HOME=relative" "MUXFIX_PATH=~/.muxfix-first-use-$BATS_TEST_NUMBER/*" \
		"$MF_MKSOCK" -c "$d/cm"
	assert_contains "$output" "muxfix: ignoring MUXFIX_HOME='relative' (not UID:/DIRECTORY); looking the home directory up"
	refute_exists "$d/cm"
	rm -rf "$d"
}

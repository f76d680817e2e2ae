#!/usr/bin/env bats
# MUXFIX_LOG where another local user can reach it. Two unprivileged users:
# the victim (MF_USER) runs ssh through the library with MUXFIX_LOG set, the
# attacker (MF_OTHER, mf_as_other) prepares files and links in directories
# both can reach (mf_shared_dir). The victim's log lines go to a regular file
# the victim owns, reached without a symbolic link, or to stderr; never into
# a file or a directory of the attacker's. The repair happens either way.
load helpers

setup() {
	mf_setup
	[[ -n ${MF_OTHER:-} ]] || skip "needs root for the second user"
	export MUXFIX_PATH="$T/*" MUXFIX_VERBOSE=1
	REPAIRED="muxfix: removed dead control socket $T/cm (no master listening; connect was refused)"
}

no_master() { # RUNNER [ssh options]: ssh with ControlMaster=no on $T/cm
	local runner=$1
	shift
	"$runner" "$@" -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
}

# refused LOG REASON: after `run`, ssh worked, the socket was repaired, and
# stderr had exactly one warning, for LOG with REASON, and the repair line.
refused() {
	assert_status 0
	assert_contains "$output" "muxfix: cannot log to MUXFIX_LOG='$1' ($2); logging to stderr"
	assert_equal 1 "$(grep -c '^muxfix: cannot log' <<<"$output")"
	assert_contains "$output" "$REPAIRED"
	refute_exists "$T/cm"
}

@test "the attacker's 0666 file in a sticky shared directory: refused in one line, not written" {
	local s
	s=$(mf_shared_dir tmp 1777)
	mf_as_other sh -c "umask 0 && : >'$s/muxfix.log'"
	assert_mode "$s/muxfix.log" 666
	mf_dead_socket "$T/cm"
	MUXFIX_LOG="$s/muxfix.log" run no_master mf_mux_ssh
	refused "$s/muxfix.log" "owned by another user (uid $MF_OTHER_UID)"
	assert_equal "" "$(cat "$s/muxfix.log")"
	assert_owner "$s/muxfix.log" "$MF_OTHER"
}

@test "a symbolic link as a directory of the path (to the attacker's or the victim's directory): refused, nothing written through it" {
	local s
	s=$(mf_shared_dir tmp 1777)
	mf_as_other mkdir -m 0777 "$s/drop" "$s/drop/sub"
	mf_as_other ln -s "$s/drop" "$s/logs"   # the parent
	mf_as_other ln -s "$T" "$s/mine"        # the victim's own directory
	local log
	for log in "$s/logs/muxfix.log" "$s/logs/sub/muxfix.log" "$s/mine/muxfix.log"; do
		mf_dead_socket "$T/cm"
		MUXFIX_LOG=$log run no_master mf_mux_ssh
		refused "$log" "a symbolic link in its path"
	done
	refute_exists "$s/drop/muxfix.log"
	refute_exists "$s/drop/sub/muxfix.log"
	refute_exists "$T/muxfix.log"
}

@test "a second hard link to one of the victim's files: refused, the file unchanged" {
	# protected_hardlinks stops an attacker linking to a file they cannot
	# write; root plays one on a system without it.
	local s
	s=$(mf_shared_dir tmp 1777)
	mf_as_user sh -c "echo keep >'$T/important'"
	ln "$T/important" "$s/muxfix.log"
	mf_dead_socket "$T/cm"
	MUXFIX_LOG="$s/muxfix.log" run no_master mf_mux_ssh
	refused "$s/muxfix.log" "it has other hard links"
	assert_equal "keep" "$(cat "$T/important")"
}

# A directory another user owns and anyone can write: he could rename a
# file into the log's name at any time, so it is refused at startup, before
# any line is written; his file made after startup gets nothing either.
@test "the log in another user's writable directory, a file swapped in after startup: refused, stderr used, his file gets nothing" {
	local d pid
	d=$(mf_shared_dir drop 0777 "$MF_OTHER") # theirs, writable by all
	mf_dead_socket "$T/cm"
	# One process: a first connect (unmanaged) makes the library read its
	# configuration; the second (the dead managed socket) is repaired after
	# the swap.
	MUXFIX_LOG="$d/muxfix.log" mf_mux "$MF_BIN/connect_steps" "$T/go" /nonexistent/muxfix "$T/cm" \
		>"$T/out" 2>&1 3>&- &
	pid=$!
	mf_wait_for 10 grep -q '^1 ' "$T/out" || _mf_fail "no first connect: $(cat "$T/out")"
	# The configuration is read: refused, nothing made there.
	refute_exists "$d/muxfix.log"
	mf_as_other sh -c "umask 0 && : >'$d/muxfix.log'"
	touch "$T/go"
	local rc=0
	wait "$pid" || rc=$?
	output=$(cat "$T/out")
	status=$rc
	assert_status 0
	assert_contains "$output" "muxfix: cannot log to MUXFIX_LOG='$d/muxfix.log' (its directory lets other users rename files in it); logging to stderr"
	assert_contains "$output" "$REPAIRED"
	refute_exists "$T/cm"
	assert_equal "" "$(cat "$d/muxfix.log")"
	assert_owner "$d/muxfix.log" "$MF_OTHER"
}

@test "the victim's own log file, in their directory and in a shared sticky one: gets the lines" {
	local s log
	s=$(mf_shared_dir tmp 1777)
	for log in "$T/muxfix.log" "$s/muxfix.log"; do
		mf_dead_socket "$T/cm"
		MUXFIX_LOG=$log run no_master mf_mux_ssh
		assert_status 0
		assert_equal "ok" "$output"
		assert_equal "$REPAIRED" "$(cat "$log")"
		assert_owner "$log" "$MF_USER"
		assert_mode "$log" 600
		refute_exists "$T/cm"
	done
}

@test "openat2 and the component walk (kernels before 5.6) open and refuse the same paths" {
	local s
	s=$(mf_shared_dir tmp 1777)
	mf_as_other sh -c "umask 0 && : >'$s/theirs.log' && mkdir -m 0777 '$s/drop' '$s/drop/sub'"
	mf_as_other ln -s "$s/drop" "$s/logs"
	mf_as_user sh -c "mkdir -m 0700 '$T/d' && mkdir -m 0300 '$T/search-only' &&
		: >'$T/own' && ln -s '$T/own' '$T/own-link' && ln -s '$T/d' '$T/d-link' &&
		mkfifo '$T/fifo' && : >'$T/twice' && ln '$T/twice' '$T/d/twice'"
	local -a paths=(
		"$T/new.log" new-relative.log "$T//d/./../d/new.log" "$T/search-only/new.log"
		"$s/theirs.log" "$s/logs/x.log" "$s/logs/sub/x.log" "$T/own-link"
		"$T/d-link/x.log" "$T/d" "$T/fifo" "$T/twice" "$T/none/x.log"
	)
	local expected
	expected=$(
		cat <<-EOF
			$T/new.log: opened
			new-relative.log: opened
			$T//d/./../d/new.log: opened
			$T/search-only/new.log: opened
			$s/theirs.log: refused (owned by another user (uid $MF_OTHER_UID))
			$s/logs/x.log: refused (a symbolic link in its path)
			$s/logs/sub/x.log: refused (a symbolic link in its path)
			$T/own-link: refused (a symbolic link in its path)
			$T/d-link/x.log: refused (a symbolic link in its path)
			$T/d: refused (not a regular file)
			$T/fifo: refused (not a regular file)
			$T/twice: refused (it has other hard links)
			$T/none/x.log: refused (No such file or directory)
		EOF
	)
	local prog
	for prog in logfile_check logfile_check_walk; do
		run mf_as_user "$MF_BIN/$prog" "${paths[@]}"
		assert_status 0
		assert_equal "$expected" "$output"
	done
	assert_equal "logfile_check
logfile_check" "$(cat "$T/search-only/new.log")"
	assert_equal "" "$(cat "$s/theirs.log")"
	refute_exists "$s/drop/x.log"
	refute_exists "$s/drop/sub/x.log"
	assert_equal "" "$(cat "$T/own")"
}

# A shared directory that is not sticky: the attacker can rename any file of
# the victim's there into the log's name and read what is appended.
@test "MUXFIX_LOG in a directory others can rename files in: refused in one line" {
	local d
	d=$(mf_shared_dir team 0777)
	mf_as_user sh -c 'echo "victim notes" >"$0"' "$d/notes.txt"
	mf_as_other mv "$d/notes.txt" "$d/muxfix.log"
	export MUXFIX_PATH="$T/*" MUXFIX_VERBOSE=1 MUXFIX_LOG="$d/muxfix.log"
	mf_dead_socket "$T/cm"
	run mf_mux_ssh -o ControlMaster=no -o ControlPath="$T/cm" testhost echo ok
	assert_status 0
	assert_contains "$output" "muxfix: cannot log to MUXFIX_LOG='$d/muxfix.log' (its directory lets other users rename files in it); logging to stderr"
	assert_contains "$output" "muxfix: removed dead control socket $T/cm"
	assert_equal "victim notes" "$(cat "$d/muxfix.log")"
}

# Paths in log lines may hold any byte another user put in a file name.
@test "log lines: a newline or terminal escape in a path is written as \\xNN, never a second line" {
	local p=$T/x$'\n'"muxfix: forged"$'\e'"]0;t"
	export MUXFIX_PATH="$T/*" MUXFIX_VERBOSE=1
	mf_dead_socket "$p"
	run mf_mux timeout 20 "$MF_BIN/dirswap" connect "$p" 0.01
	assert_status 0
	assert_contains "$output" 'muxfix: removed dead control socket '"$T"'/x\x0amuxfix: forged\x1b]0;t'
	refute_contains "$output" $'\nmuxfix: forged'
}

#!/usr/bin/env bats
# The muxfix command (installed) against a second local user who controls
# names the victim's `muxfix clean` and `muxfix doctor` come across: in his
# own /tmp/ssh_control_* directory, or in a sticky directory like /tmp that
# both can write to. A file name may hold any byte but '/' and NUL: no name
# may be split, trimmed or taken for an option, and none may forge a line of
# the report. The attacker runs as MF_OTHER (mf_as_other), the victim as
# MF_USER in its own working directory $T.
load helpers
load command_helpers

setup() {
	[[ -n ${MF_OTHER:-} ]] || skip "needs root (a second unprivileged user)"
	mf_setup
	unset MUXFIX_PATH
}

NL=$'\n'

# ---- clean: a newline in an attacker's name ----

@test "clean: an attacker's socket named 'x<newline>app.sock' in his /tmp/ssh_control_* directory does not remove the victim's ./app.sock" {
	local evil
	evil=$(mf_shared_dir ssh_control_evil 0755 "$MF_OTHER")
	mf_as_other "$MF_MKSOCK" "$evil/x${NL}app.sock"
	# The victim's own dead socket in its working directory: a path nobody
	# said to manage.
	mf_dead_socket "$T/app.sock"
	run mx MUXFIX_PATH="$T.s/ssh_control_*/*" muxfix clean
	assert_status 0
	assert_file_socket "$T/app.sock"
	assert_file_socket "$evil/x${NL}app.sock"
	assert_line "skipped  directory $evil: owned by $MF_OTHER, not yours, ignored"
	refute_contains "$output" "app.sock"
	assert_line "muxfix clean: removed 0, kept 0, skipped 1 not yours"
	# Nor when his directory cannot be opened at all.
	chmod 0700 "$evil"
	run mx MUXFIX_PATH="$T.s/ssh_control_*/*" muxfix clean
	assert_line "skipped  directory $evil: owned by $MF_OTHER, not yours, ignored"
	assert_file_socket "$T/app.sock"
}

@test "clean: an attacker's socket and symlink with newlines in a sticky shared directory (like /tmp) do not remove the victim's files" {
	local tmp
	tmp=$(mf_shared_dir tmp 1777)
	mf_as_other "$MF_MKSOCK" "$tmp/x${NL}app.sock"
	mf_as_other ln -s /nonexistent "$tmp/y${NL}app2.sock"
	mf_dead_socket "$T/app.sock"
	mf_dead_socket "$T/app2.sock"
	mf_dead_socket "$tmp/mine" # the victim's own, in the shared directory
	run mx MUXFIX_PATH="$tmp/*" muxfix clean
	assert_status 0
	assert_file_socket "$T/app.sock"
	assert_file_socket "$T/app2.sock"
	assert_file_socket "$tmp/x${NL}app.sock"
	[[ -L $tmp/y${NL}app2.sock ]]
	assert_line "removed  $tmp/mine (dead: connect refused, no master)"
	assert_line "skipped  2 entries of other users in $tmp: not yours, ignored"
	refute_contains "$output" "app.sock"
	refute_contains "$output" "app2.sock"
}

# ---- names with odd bytes: each is one entry, shown escaped ----

ODD_NAMES=(" lead" "trail " "sp ace" $'tab\there' 'back\slash' $'\xff\xfe' "-rf" "--dry-run" $'x\ny')
# How the command shows each (C locale: bytes outside printable ASCII as \xNN).
ODD_SHOWN=(" lead" "trail " "sp ace" 'tab\there' 'back\\slash' '\xff\xfe' "-rf" "--dry-run" 'x\ny')

@test "clean: names with spaces, tabs, backslashes, invalid UTF-8, leading dashes and newlines are removed exactly, shown escaped" {
	local d="$T/socks" i
	mf_as_user mkdir -m 0700 "$d"
	for i in "${!ODD_NAMES[@]}"; do mf_dead_socket "$d/${ODD_NAMES[i]}"; done
	local live
	live=$(mf_live_socket "$d/-live${NL}z")
	# What a clean that split or trimmed names would act on instead: "y"
	# in the working directory, "trail" for "trail ".
	mf_dead_socket "$T/y"
	mf_dead_socket "$d/trail"
	run mx MUXFIX_PATH="$d/*" muxfix clean --dry-run
	assert_status 0
	for i in "${!ODD_SHOWN[@]}"; do
		assert_line "would remove $d/${ODD_SHOWN[i]} (dead: connect refused, no master)"
	done
	assert_line "kept     $d/-live\\nz: a master is listening"
	assert_line "muxfix clean --dry-run: would remove 10, keep 1"
	run mx muxfix clean -- "$d"
	assert_status 0
	for i in "${!ODD_SHOWN[@]}"; do
		assert_line "removed  $d/${ODD_SHOWN[i]} (dead: connect refused, no master)"
		refute_exists "$d/${ODD_NAMES[i]}"
	done
	assert_line "removed  $d/trail (dead: connect refused, no master)"
	assert_line "muxfix clean: removed 10, kept 1"
	# Nothing raw reached the terminal: no tab, no invalid byte, no line
	# that is only the tail of a name.
	refute_contains "$output" $'\t'
	refute_contains "$output" $'\xff'
	refute_line_matching "y*"
	refute_line_matching "z*"
	assert_file_socket "$d/-live${NL}z"
	assert_file_socket "$T/y"
	kill "$live"
}

@test "clean -- -d: a relative directory named like an option" {
	mf_as_user mkdir -m 0700 "$T/-d"
	mf_dead_socket "$T/-d/-x"
	run mx muxfix clean -- -d
	assert_status 0
	assert_line "removed  -d/-x (dead: connect refused, no master)"
	refute_exists "$T/-d/-x"
}

# ---- doctor: only the caller's paths, no fix that needs root ----

@test "doctor without HOST: another user's /tmp/ssh_control_* directory and socket are 'not yours, ignored', with no fix" {
	local evil closed mine
	evil=$(mf_shared_dir ssh_control_evil 0755 "$MF_OTHER")
	mf_as_other "$MF_MKSOCK" "$evil/deb_10.0.0.1_22"
	closed=$(mf_shared_dir ssh_control_closed 0700 "$MF_OTHER") # cannot even be opened
	mine=$(mf_shared_dir ssh_control_mine 0700 "$MF_USER")
	mf_dead_socket "$mine/deb_10.0.0.2_22"
	run mx MUXFIX_PATH="$T.s/ssh_control_*/*" muxfix doctor
	assert_status 1
	assert_line "skipped  directory $evil: owned by $MF_OTHER, not yours, ignored"
	assert_line "skipped  directory $closed: owned by $MF_OTHER, not yours, ignored"
	assert_line "PROBLEM  socket $mine/deb_10.0.0.2_22: dead (connect refused: no master listening); ssh says 'Control socket connect(...): Connection refused'"
	refute_contains "$output" "sudo"
	refute_contains "$output" "deb_10.0.0.1_22"
	# One line about his directory, and no fix names it.
	assert_equal 1 "$(grep -cF -- "$evil" <<<"$output")"
	refute_line_matching "*fix*$evil*"
}

@test "doctor without HOST: another user's socket and file in a sticky shared directory get one 'not yours, ignored' line" {
	local tmp
	tmp=$(mf_shared_dir tmp 1777)
	mf_as_other "$MF_MKSOCK" "$tmp/his-socket"
	mf_as_other sh -c "echo his > '$tmp/his-file'"
	mf_dead_socket "$tmp/my-socket"
	run mx MUXFIX_PATH="$tmp/*" muxfix doctor
	assert_status 1
	assert_line "ok       directory $tmp: sticky, owner root, mode 1777"
	assert_line "skipped  2 entries of other users in $tmp: not yours, ignored"
	assert_line "PROBLEM  socket $tmp/my-socket: dead (connect refused: no master listening); ssh says 'Control socket connect(...): Connection refused'"
	refute_contains "$output" "his-"
	refute_contains "$output" "sudo"
	refute_contains "$output" "rm "
}

@test "doctor: an attacker's directory name with a newline cannot forge a line of the report" {
	local tmp
	tmp=$(mf_shared_dir tmp 1777)
	mf_as_other mkdir -m 0755 "$tmp/ssh_control_a${NL}PROBLEM  fake"
	run mx MUXFIX_PATH="$tmp/ssh_control_*/*" muxfix doctor
	assert_line "skipped  directory $tmp/ssh_control_a\\nPROBLEM  fake: owned by $MF_OTHER, not yours, ignored"
	refute_line_matching "PROBLEM  fake*"
	refute_line_matching "*fix*mkdir*"
	assert_equal 1 "$(grep -c "fake" <<<"$output")"
}

@test "doctor HOST, ControlPath in another user's directory: a PROBLEM whose fix changes only the caller's configuration" {
	local evil
	evil=$(mf_shared_dir ssh_control_evil 1777 "$MF_OTHER")
	mf_as_other "$MF_MKSOCK" "$evil/cm"
	run mx muxfix doctor -F "$MF_SSH_CONFIG" -o ControlMaster=auto -o ControlPath="$evil/cm" testhost
	assert_status 1
	assert_contains "$output" "PROBLEM  directory $evil: owner $MF_OTHER, not $MF_USER: muxfix never repairs there"
	assert_contains "$output" "fix 1: mkdir -p -m 0700 ~/.ssh/cm, then ControlPath ~/.ssh/cm/%C in ~/.ssh/config"
	refute_contains "$output" "sudo"
	refute_contains "$output" "rm "
	assert_file_socket "$evil/cm"
}

# git refuses a host that starts with '-', but the wrapper asks ssh -G for
# the ControlPath before git runs: such a host would be an ssh option
# (-Fevil reads ./evil, whose Match exec runs a command).
@test "muxfix git with a URL whose host starts with '-': not passed to ssh -G as an option" {
	mf_as_user sh -c 'printf "Match exec \"touch %s\"\n" "$0" >"$1"' "$T/EXECUTED" "$T/evil"
	run mx muxfix git ls-remote 'ssh://-Fevil/x'
	refute_exists "$T/EXECUTED"
	run mx muxfix scp 'ssh://-Fevil:22/x' "$T/dst"
	refute_exists "$T/EXECUTED"
}

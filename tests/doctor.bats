#!/usr/bin/env bats
# muxfix doctor and muxfix clean (installed into a DESTDIR) on real broken
# setups: each report is checked line by line, the printed fix is run, and
# doctor then says healthy.
load helpers
load command_helpers

setup() {
	mf_setup
	unset MUXFIX_PATH
	# The socket directory under test: $T/s, made by the test user.
	S="$T/s"
}

doctor() { # doctor for testhost with ControlMaster=auto and ControlPath $1
	mx muxfix doctor -F "$MF_SSH_CONFIG" -o ControlMaster=auto -o ControlPersist=30 \
		-o ControlPath="$1" testhost
}

fix_line() { printf '         fix: %s\n' "$1"; }

@test "doctor, healthy live master: ok lines with the master's pid, exit 0" {
	mf_as_user mkdir -m 0700 "$S"
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$S/cm" testhost true
	local pid
	pid=$(mf_plain_ssh -o ControlPath="$S/cm" -O check testhost 2>&1 | sed -n 's/.*(pid=\([0-9]*\)).*/\1/p')
	[[ -n $pid ]]
	run doctor "$S/cm"
	assert_status 0
	assert_line "muxfix doctor 0.1.0: testhost as $MF_USER"
	assert_line "ok       ssh -G: ControlMaster auto, ControlPath $S/cm, ControlPersist 30"
	assert_line "ok       directory $S: owner $MF_USER, mode 0700"
	assert_line "ok       socket $S/cm: live, master pid $pid"
	assert_line "ok       master pid $pid: $S/cm [mux]"
	assert_line "verdict: healthy (0 warning(s))"
	refute_line_matching "PROBLEM*"
}

@test "doctor, stale socket: PROBLEM dead with 'muxfix clean DIR'; the fix makes it healthy" {
	mf_as_user mkdir -m 0700 "$S"
	mf_dead_socket "$S/cm"
	run mf_plain_ssh -o ControlMaster=no -o ControlPath="$S/cm" testhost true
	assert_contains "$output" "Connection refused"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  socket $S/cm: dead (connect refused: no master listening); ssh says 'Control socket connect(...): Connection refused'"
	assert_line "$(fix_line "muxfix clean '$S'")"
	assert_line "ok       directory $S: owner $MF_USER, mode 0700"
	assert_line "verdict: 1 problem(s), 0 warning(s): run the fix lines above in order"
	run mx muxfix clean "$S"
	assert_status 0
	assert_line "removed  $S/cm (dead: connect refused, no master)"
	refute_exists "$S/cm"
	run doctor "$S/cm"
	assert_status 0
	assert_line "ok       socket $S/cm: none yet (no master running)"
}

@test "doctor, missing directory: PROBLEM with 'mkdir -p -m 0700'; after the fix plain ssh -M works" {
	run mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$S/cm" testhost true
	assert_status 255
	assert_contains "$output" "No such file or directory"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  directory $S does not exist: ssh fails with 'unix_listener: cannot bind to path ... No such file or directory'"
	assert_line "$(fix_line "mkdir -p -m 0700 '$S'")"
	assert_contains "$output" "ok       filesystem of $T: "
	mf_as_user sh -c "mkdir -p -m 0700 '$S'"
	run mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$S/cm" testhost true
	assert_status 0
	run doctor "$S/cm"
	assert_status 0
	assert_contains "$output" "ok       socket $S/cm: live, master pid "
}

@test "doctor, directory others can write to: PROBLEM with 'chmod 0700'; clean keeps its sockets" {
	mf_as_user mkdir -m 0700 "$S"
	chmod 0777 "$S"
	mf_dead_socket "$S/cm"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  directory $S: mode 0777, others can write to it (replace or remove your sockets)"
	assert_line "$(fix_line "chmod 0700 '$S'")"
	run mx muxfix clean "$S"
	assert_status 0
	assert_line "kept     $S/cm: others can write to $S (fix: chmod 0700 '$S')"
	assert_file_socket "$S/cm"
	mf_as_user chmod 0700 "$S"
	run mx muxfix clean "$S"
	assert_line "removed  $S/cm (dead: connect refused, no master)"
	run doctor "$S/cm"
	assert_status 0
}

@test "doctor, another user's socket: PROBLEM with 'sudo rm'; clean keeps it" {
	[[ $EUID -eq 0 ]] || skip "needs root to make a foreign socket"
	mf_as_user mkdir -m 0755 "$S"
	"$MF_MKSOCK" "$S/cm" # owned by root
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  socket $S/cm: owned by root, not $MF_USER (ssh gets 'Permission denied' or 'already exists')"
	assert_line "$(fix_line "sudo rm -- '$S/cm'")"
	run mx muxfix clean "$S"
	assert_line "kept     $S/cm: owned by root, not you"
	assert_file_socket "$S/cm"
	rm -- "$S/cm"
	run doctor "$S/cm"
	assert_status 0
}

@test "doctor, a regular file at the ControlPath: PROBLEM not a socket" {
	mf_as_user mkdir -m 0700 "$S"
	mf_as_user touch "$S/cm"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  $S/cm: not a socket (regular empty file) where ssh wants its control socket"
	assert_line "$(fix_line "rm -i -- '$S/cm'")"
}

@test "doctor, ControlPath too long for a master: PROBLEM path length" {
	local long
	long="$S/$(printf 'x%.0s' {1..70})"
	mf_as_user mkdir -m 0700 "$S"
	run doctor "$long"
	assert_status 1
	assert_line "PROBLEM  path length ${#long} bytes: a master binds PATH plus 17 characters, over the 108-byte limit (exit 255)"
	assert_line "$(fix_line "use a shorter ControlPath, e.g. ControlPath ~/.ssh/cm/%C")"
	run mf_plain_ssh -M -o ControlPath="$long" testhost true
	assert_status 255
}

@test "doctor, several sockets: live one ok, dead one PROBLEM, symlink warn, a master that lost its socket" {
	mf_as_user mkdir -m 0700 "$S"
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$S/cm" testhost true
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$S/lost" testhost true
	local lostpid
	lostpid=$(mf_plain_ssh -o ControlPath="$S/lost" -O check testhost 2>&1 | sed -n 's/.*(pid=\([0-9]*\)).*/\1/p')
	rm -- "$S/lost"
	mf_dead_socket "$S/old"
	mf_as_user ln -s "$S/cm" "$S/link"
	run doctor "$S/cm"
	assert_status 1
	assert_contains "$output" "ok       socket $S/cm: live, master pid "
	assert_line "PROBLEM  socket $S/old: dead (connect refused: no master listening); ssh says 'Control socket connect(...): Connection refused'"
	assert_line "warn     socket $S/link: symbolic link to $S/cm; muxfix never follows one"
	assert_line "PROBLEM  master pid $lostpid for $S/lost has lost its socket (absent): no client can reach it"
	assert_line "$(fix_line "ssh -O exit -o ControlPath='$S/lost' x 2>/dev/null || kill $lostpid")"
	assert_line "verdict: 2 problem(s), 1 warning(s): run the fix lines above in order"
}

@test "doctor: usage errors exit 2; no host checks the managed directories" {
	run mx muxfix doctor a b
	assert_status 2
	mf_as_user mkdir -m 0700 "$S"
	mf_dead_socket "$S/old"
	run mx MUXFIX_PATH="$S/*" muxfix doctor
	assert_status 1
	assert_line "muxfix doctor 0.1.0: the managed socket directories of $MF_USER"
	assert_line "ok       directory $S: owner $MF_USER, mode 0700"
	assert_line "PROBLEM  socket $S/old: dead (connect refused: no master listening); ssh says 'Control socket connect(...): Connection refused'"
}

@test "clean: dead removed, live, symlink and unmanaged kept; --dry-run removes nothing" {
	mf_as_user mkdir -m 0700 "$S"
	mf_dead_socket "$S/c-dead"
	mf_dead_socket "$S/x-dead" # not managed below
	local live
	live=$(mf_live_socket "$S/c-live")
	mf_as_user ln -s "$S/c-dead" "$S/c-link"
	run mx MUXFIX_PATH="$S/c-*" muxfix clean --dry-run
	assert_status 0
	assert_line "would remove $S/c-dead (dead: connect refused, no master)"
	assert_line "kept     $S/c-live: a master is listening"
	assert_line "kept     $S/c-link: a symbolic link (never followed)"
	assert_line "muxfix clean --dry-run: would remove 1, keep 2"
	assert_file_socket "$S/c-dead"
	run mx MUXFIX_PATH="$S/c-*" muxfix clean
	assert_status 0
	assert_line "removed  $S/c-dead (dead: connect refused, no master)"
	assert_line "muxfix clean: removed 1, kept 2"
	refute_exists "$S/c-dead"
	assert_file_socket "$S/x-dead"
	assert_file_socket "$S/c-live"
	[[ -L $S/c-link ]]
	kill "$live"
}

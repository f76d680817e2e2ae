#!/usr/bin/env bats
# muxfix doctor and muxfix clean (installed into a DESTDIR) on real broken
# setups: each report is checked line by line, the printed fix is run, and
# doctor then says healthy. Fixes are numbered: printed once, referred to by
# their number by every other problem they fix.
load helpers
load command_helpers

setup() {
	mf_setup
	unset MUXFIX_PATH
	# The socket directory under test: $T/s, made by the test user.
	S="$T/s"
}

# doctor for testhost with ControlMaster=auto and ControlPath $1 (REPLY_MS:
# its MUXFIX_REPLY_TIMEOUT_MS)
doctor() {
	mx ${REPLY_MS:+"MUXFIX_REPLY_TIMEOUT_MS=$REPLY_MS"} muxfix doctor -F "$MF_SSH_CONFIG" \
		-o ControlMaster=auto -o ControlPersist=30 -o ControlPath="$1" testhost
}

fix_line() { printf '         fix %d: %s\n' "$1" "$2"; } # N COMMAND

assert_fix() { # COMMAND: a fix line with COMMAND, whatever its number
	local l
	while IFS= read -r l; do
		[[ $l =~ ^\ {9}fix\ [0-9]+:\ (.*)$ && ${BASH_REMATCH[1]} == "$1" ]] && return 0
	done <<<"$output"
	_mf_fail "expected a fix line: $1" "seen:" "$output" "(end)"
}

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
	assert_line "$(fix_line 1 "muxfix clean '$S'")"
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

@test "doctor, missing directory: PROBLEM with 'mkdir -m 0700 --' (not -p: it would accept a name another user took); after the fix plain ssh -M works" {
	run mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$S/cm" testhost true
	assert_status 255
	assert_contains "$output" "No such file or directory"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  directory $S does not exist: ssh fails with 'unix_listener: cannot bind to path ... No such file or directory'"
	assert_line "$(fix_line 1 "mkdir -m 0700 -- '$S'")"
	assert_contains "$output" "ok       filesystem of $T: "
	mf_as_user sh -c "mkdir -m 0700 -- '$S'"
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
	assert_line "$(fix_line 1 "chmod 0700 '$S'")"
	assert_line "$(fix_line 2 "muxfix clean '$S'")"
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

@test "doctor, another user's socket at the ControlPath in your directory: PROBLEM with an rm you can run, no sudo; clean keeps it" {
	[[ $EUID -eq 0 ]] || skip "needs root to make a foreign socket"
	mf_as_user mkdir -m 0755 "$S"
	"$MF_MKSOCK" "$S/cm" # owned by root
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  socket $S/cm: owned by root, not $MF_USER (ssh gets 'Permission denied' or 'already exists')"
	assert_line "$(fix_line 1 "rm -i -- '$S/cm'")"
	refute_contains "$output" "sudo"
	run mx muxfix clean "$S"
	assert_line "kept     $S/cm: owned by root, not you"
	assert_file_socket "$S/cm"
	# The fix, as the user (the directory is the user's): no root needed.
	mf_as_user sh -c "yes | rm -i -- '$S/cm'"
	refute_exists "$S/cm"
	run doctor "$S/cm"
	assert_status 0
}

@test "doctor, a regular file at the ControlPath: PROBLEM not a socket" {
	mf_as_user mkdir -m 0700 "$S"
	mf_as_user touch "$S/cm"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  $S/cm: not a socket (regular empty file) where ssh wants its control socket"
	assert_line "$(fix_line 1 "rm -i -- '$S/cm'")"
}

@test "doctor, ControlPath too long for a master: PROBLEM path length" {
	local long
	long="$S/$(printf 'x%.0s' {1..70})"
	mf_as_user mkdir -m 0700 "$S"
	run doctor "$long"
	assert_status 1
	assert_line "PROBLEM  path length ${#long} bytes: a master binds PATH plus 17 characters, over the 108-byte limit (exit 255)"
	assert_line "$(fix_line 1 "use a shorter ControlPath, e.g. ControlPath ~/.ssh/cm/%C")"
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
	# No `ssh -O exit` can reach a master through a socket it lost.
	assert_fix "kill $lostpid"
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

# ---- one fix line per fix, non-sockets, masters without a socket, usage ----

@test "doctor: a fix shared by three problems is printed once and referred to by its number" {
	mf_as_user mkdir -m 0700 "$S"
	mf_dead_socket "$S/a"
	mf_dead_socket "$S/b"
	mf_dead_socket "$S/c"
	run mx MUXFIX_PATH="$S/*" muxfix doctor
	assert_status 1
	assert_line "$(fix_line 1 "muxfix clean '$S'")"
	assert_equal 1 "$(grep -c "muxfix clean" <<<"$output")"
	assert_equal 2 "$(grep -cx "         fix 1 (see above)" <<<"$output")"
}

@test "doctor and clean report a regular file in a managed socket directory" {
	mf_as_user mkdir -m 0700 "$S"
	mf_as_user sh -c "echo notes > '$S/notes'"
	mf_dead_socket "$S/old"
	run mx MUXFIX_PATH="$S/*" muxfix doctor
	assert_status 1
	assert_line "warn     $S/notes: not a socket (regular file) at a managed path: no master can use this name"
	assert_fix "rm -i -- '$S/notes'"
	run mx muxfix clean "$S"
	assert_status 0
	assert_line "kept     $S/notes: not a socket (regular file)"
	assert_line "removed  $S/old (dead: connect refused, no master)"
	assert_line "muxfix clean: removed 1, kept 1"
	run mx MUXFIX_PATH="$S/*" muxfix clean --dry-run
	assert_line "kept     $S/notes: not a socket (regular file)"
	assert_equal "notes" "$(cat "$S/notes")"
}

@test "doctor, the ControlPath's master lost its socket: one PROBLEM saying so, not 'none yet'" {
	mf_as_user mkdir -m 0700 "$S"
	mf_plain_ssh -M -o ControlPersist=30 -o ControlPath="$S/cm" testhost true
	local pid
	pid=$(mf_plain_ssh -o ControlPath="$S/cm" -O check testhost 2>&1 | sed -n 's/.*(pid=\([0-9]*\)).*/\1/p')
	[[ -n $pid ]]
	rm -- "$S/cm"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  socket $S/cm: missing, but master pid $pid still runs for it: it lost its socket, no client can reach it"
	assert_line "$(fix_line 1 "kill $pid")"
	refute_contains "$output" "none yet"
	assert_equal 1 "$(grep -c "master pid $pid" <<<"$output")"
}

@test "doctor -o Bogus=1: ssh rejects the option, a usage error (exit 2); a broken config file is a PROBLEM (exit 1)" {
	run mx muxfix doctor -o Bogus=1 testhost
	assert_status 2
	assert_line "muxfix: doctor: ssh rejects these options: command-line: line 0: Bad configuration option: bogus"
	printf 'Bogus yes\n' >"$T/bad_config"
	chmod 0644 "$T/bad_config"
	run mx muxfix doctor -F "$T/bad_config" testhost
	assert_status 1
	assert_contains "$output" "PROBLEM  ssh -G -F $T/bad_config testhost:"
}

# waited_at_least PID MS: the TCP connection of master PID has waited MS
# for the server (what doctor reads)
waited_at_least() {
	local w
	w=$(mf_as_user "$MF_BIN/muxfix-probe" waiting "$1") && (($(printf '%d' "$w") >= $2))
}

# the fix line of the report in $output whose problem line contains TEXT
fix_of() {
	awk -v t="$1" 'found && /^ +fix [0-9]+: / {sub(/^ +fix [0-9]+: /, ""); print; exit}
		index($0, t) {found = 1}' <<<"$output"
}

@test "doctor, a stopped master (Ctrl-Z): PROBLEM stopped with 'kill -CONT PID', which works; before, 'kill PID' did nothing to it" {
	mf_as_user mkdir -m 0700 "$S"
	mf_plain_ssh -M -o ControlPersist=60 -o ControlPath="$S/cm" testhost true
	local pid
	pid=$(pgrep -u "$MF_UID" -f "^ssh: $S/cm \[mux\]")
	kill -STOP "$pid"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  socket $S/cm: accepts connections but master pid $pid is stopped (SIGSTOP, Ctrl-Z): clients hang until it continues"
	assert_fix "kill -CONT $pid"
	assert_equal 1 "$(grep -c "^PROBLEM.*pid $pid" <<<"$output")"
	mf_as_user bash -c "$(fix_of "is stopped")"
	run doctor "$S/cm"
	assert_status 0
	assert_line "ok       socket $S/cm: live, master pid $pid"
}

@test "doctor, a stopped master that lost its socket: the fix ends it even though it is stopped" {
	mf_as_user mkdir -m 0700 "$S"
	mf_plain_ssh -M -o ControlPersist=60 -o ControlPath="$S/cm" testhost true
	local pid
	pid=$(pgrep -u "$MF_UID" -f "^ssh: $S/cm \[mux\]")
	rm -- "$S/cm"
	kill -STOP "$pid"
	run doctor "$S/cm"
	assert_status 1
	assert_fix "kill -TERM $pid && kill -CONT $pid"
	mf_as_user bash -c "$(fix_of "lost its socket")"
	mf_wait_for 10 mf_gone "$pid"
}

@test "doctor, a master started under muxfix whose socket was removed: the fix links its private name back" {
	mf_as_user mkdir -m 0700 "$S"
	MUXFIX_PATH="$S/*" mf_mux_ssh -M -o ControlPersist=60 -o ControlPath="$S/cm" testhost true
	local pid
	pid=$(pgrep -u "$MF_UID" -f "^ssh: $S/cm \[mux\]")
	assert_file_socket "$S/.cm.muxfix-keep"
	rm -- "$S/cm"
	run doctor "$S/cm"
	assert_status 1
	assert_line "PROBLEM  socket $S/cm: missing, but master pid $pid still runs for it: it lost its socket, no client can reach it"
	assert_fix "ln -- $S/.cm.muxfix-keep $S/cm"
	mf_as_user bash -c "$(fix_of "lost its socket")"
	run doctor "$S/cm"
	assert_status 0
	assert_line "ok       socket $S/cm: live, master pid $pid"
	assert_contains "$output" "ok       socket $S/.cm.muxfix-keep: live, master pid $pid (its private second name"
}

@test "clean, a master started under muxfix whose socket was removed: --dry-run says so, clean links its private name back, plain ssh then goes through it again" {
	mf_as_user mkdir -m 0700 "$S"
	MUXFIX_PATH="$S/*" mf_mux_ssh -M -o ControlPersist=60 -o ControlPath="$S/cm" testhost true
	local pid before
	pid=$(pgrep -u "$MF_UID" -f "^ssh: $S/cm \[mux\]")
	rm -- "$S/cm"
	# Plain ssh, beside: no socket, so a login of its own.
	before=$(mf_auth_count)
	run mf_plain_ssh -o ControlMaster=no -o ControlPath="$S/cm" testhost true
	assert_status 0
	assert_equal 1 "$(($(mf_auth_count) - before))"
	run mx muxfix clean --dry-run "$S"
	assert_status 0
	assert_line "would relink $S/cm (its master lives on but lost this name: its private second name holds it)"
	assert_line "muxfix clean --dry-run: would remove 0, keep 1, relink 1"
	refute_exists "$S/cm"
	run mx muxfix clean "$S"
	assert_status 0
	assert_line "relinked $S/cm (its master lives on but had lost this name: put back from its private second name)"
	assert_line "muxfix clean: removed 0, kept 1, relinked 1"
	before=$(mf_auth_count)
	run mf_plain_ssh -o ControlMaster=no -o ControlPath="$S/cm" testhost true
	assert_status 0
	assert_equal 0 "$(($(mf_auth_count) - before))"
	run mf_plain_ssh -o ControlPath="$S/cm" -O check testhost
	assert_contains "$output" "Master running (pid=$pid)"
	# Once there, the name is left alone.
	run mx muxfix clean "$S"
	assert_line "muxfix clean: removed 0, kept 2"
}

@test "clean never relinks over a name that came back, nor a dead private name, nor another user's" {
	mf_as_user mkdir -m 0700 "$S"
	# A dead private name: removed as any dead socket, nothing relinked.
	mf_as_user "$MF_BIN/mksock" "$S/.a.muxfix-keep"
	# A live one whose name holds something else: kept, nothing relinked.
	MUXFIX_PATH="$S/*" mf_mux_ssh -M -o ControlPersist=60 -o ControlPath="$S/b" testhost true
	rm -- "$S/b"
	mf_as_user touch "$S/b"
	run mx muxfix clean "$S"
	assert_status 0
	assert_line "removed  $S/.a.muxfix-keep (dead: connect refused, no master)"
	refute_contains "$output" "relink"
	[[ -f $S/b && ! -S $S/b ]]
	refute_exists "$S/a"
}

@test "doctor, half-dead master (its network gone): PROBLEM with 'ssh -O stop', which works: plain ssh hung before, after it logs in afresh" {
	command -v nft >/dev/null && ((EUID == 0)) || skip "needs nft (nftables) and root to cut a connection"
	mf_as_user mkdir -m 0700 "$S"
	mf_plain_ssh -M -o ControlPersist=60 -o ControlPath="$S/cm" testhost true
	local pid client
	pid=$(pgrep -u "$MF_UID" -f "^ssh: $S/cm \[mux\]")
	# Healthy and idle: no half-dead line.
	REPLY_MS=1000 run doctor "$S/cm"
	assert_status 0
	assert_line "ok       socket $S/cm: live, master pid $pid"
	mf_cut_master "$pid"
	# A plain client's session request now stays unacknowledged.
	mf_plain_ssh -o ControlMaster=no -o ControlPath="$S/cm" testhost true </dev/null >/dev/null 2>&1 3>&- &
	client=$!
	mf_wait_for 10 waited_at_least "$pid" 1000
	# Plain ssh hangs on it. Its output goes to a file: the master holds a
	# mux client's stdout, which would keep a command substitution open.
	local st=0
	mf_plain timeout 3 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no -o ControlPath="$S/cm" \
		testhost true </dev/null >"$T/plain.out" 2>&1 3>&- || st=$?
	assert_equal 124 "$st"
	REPLY_MS=1000 run doctor "$S/cm"
	assert_status 1
	assert_contains "$output" "PROBLEM  socket $S/cm: live, but master pid $pid is half-dead: its connection to the server has had no answer for "
	assert_fix "ssh -F /dev/null -O stop -S $S/cm muxfix-doctor"
	assert_equal 1 "$(grep -c "^PROBLEM.*pid $pid" <<<"$output")"
	local fix
	fix=$(fix_of "half-dead")
	# Under the default reply timeout (10 s) it is not half-dead yet.
	run doctor "$S/cm"
	refute_contains "$output" "half-dead"
	run mf_as_user bash -c "$fix"
	assert_status 0
	mf_wait_for 5 test ! -e "$S/cm"
	run mf_plain timeout 10 ssh -F "$MF_SSH_CONFIG" -o ControlMaster=no -o ControlPath="$S/cm" testhost echo fresh </dev/null
	assert_status 0
	assert_equal fresh "$output"
	kill "$client" 2>/dev/null || :
}

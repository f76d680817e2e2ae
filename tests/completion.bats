#!/usr/bin/env bats
# Shell completion (completion/): bash, with and without bash-completion,
# and zsh; what make install puts where the shells look. No sshd: the
# completion functions are called with COMP_WORDS set, in a bash of their
# own whose HOME has an ssh config and known_hosts of the test's.
load helpers

REPO=$BATS_TEST_DIRNAME/..
BASH_COMPLETION=/usr/share/bash-completion/bash_completion

setup_file() { :; }
teardown_file() { :; }

setup() {
	T=$(mktemp -d /tmp/muxfix-completion.XXXXXX)
	mkdir -m 0700 "$T/home" "$T/home/.ssh"
	printf 'Host alpha beta\n    HostName 127.0.0.1\nHost *.wild\n' >"$T/home/.ssh/config"
	printf 'Host gamma-cfg\n' >"$T/other_config"
	printf '%s\n' 'gamma.example,10.0.0.9 ssh-ed25519 AAAA' '[delta]:2222 ssh-ed25519 AAAA' \
		'|1|aGFzaA==|aGFzaA== ssh-ed25519 AAAA' >"$T/home/.ssh/known_hosts"
	mkdir "$T/dirs" "$T/dirs/sockets" "$T/dirs/second"
	: >"$T/dirs/afile"
}

teardown() { rm -rf "$T"; }

# complete_bash WITH_BC LINE: the words bash completion offers for LINE
# (cursor at its end), sorted, one a line; WITH_BC=1 loads bash-completion
# first. Its own bash, HOME=$T/home.
complete_bash() {
	local with_bc=$1 line=$2
	HOME=$T/home LINE=$line WITH_BC=$with_bc BC=$BASH_COMPLETION COMP_FILE=$REPO/completion/muxfix.bash \
		bash --norc --noprofile -c '
		[[ $WITH_BC == 1 ]] && source "$BC"
		source "$COMP_FILE"
		COMP_LINE=$LINE COMP_POINT=${#LINE}
		read -ra COMP_WORDS <<<"$LINE"
		[[ $LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		spec=$(complete -p "${COMP_WORDS[0]}") || exit 3
		func=${spec#*-F }
		func=${func%% *}
		"$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort -u | sed "/^\$/d"'
}

# lines WORD...: the words, sorted, one a line (what complete_bash prints)
lines() { printf '%s\n' "$@" | LC_ALL=C sort -u; }

@test "bash: muxfix <TAB> offers the subcommands and the commands muxfix knows" {
	run complete_bash 0 "muxfix "
	assert_status 0
	assert_equal "$(lines env on off doctor clean ssh scp sftp rsync git)" "$output"
	run complete_bash 0 "muxfix -v "
	assert_equal "$(lines env on off doctor clean ssh scp sftp rsync git)" "$output"
}

@test "bash: options of muxfix, doctor and clean" {
	run complete_bash 0 "muxfix -"
	assert_equal "$(lines -v -V --version -h --help --)" "$output"
	run complete_bash 0 "muxfix doctor -"
	assert_equal "$(lines -F -o -h --help)" "$output"
	run complete_bash 0 "muxfix clean --"
	assert_equal "$(lines --dry-run --help --)" "$output"
}

@test "bash: a subcommand by its first letters; any command once a letter is typed; after -- only commands" {
	run complete_bash 0 "muxfix docto"
	assert_equal "doctor" "$output"
	run complete_bash 0 "muxfix cle"
	assert_contains "$output" "clean"
	run complete_bash 0 "muxfix bas"
	assert_contains "$output" "bash"
	run complete_bash 0 "muxfix -- en"
	assert_contains "$output" "env"
	refute_contains "$(complete_bash 0 "muxfix -- cl")" "clean"
}

@test "bash without bash-completion: hosts from ~/.ssh/config and known_hosts (patterns, hashed names left out)" {
	run complete_bash 0 "muxfix doctor "
	assert_contains "$output" "$(lines alpha beta)"
	assert_contains "$output" "gamma.example"
	assert_contains "$output" "delta"
	refute_contains "$output" "wild"
	refute_contains "$output" "|1|"
	run complete_bash 0 "muxfix doctor al"
	assert_equal "alpha" "$output"
	run complete_bash 0 "muxfix ssh g"
	assert_equal "gamma.example" "$output"
	run complete_bash 0 "muxfix-ssh be"
	assert_equal "beta" "$output"
	# doctor's -F: that file's hosts (and known_hosts', as ssh reads them)
	run complete_bash 0 "muxfix doctor -F $T/other_config gam"
	assert_equal "$(lines gamma-cfg gamma.example)" "$output"
	# one host only
	run complete_bash 0 "muxfix doctor alpha "
	assert_equal "" "$output"
}

@test "bash without bash-completion: doctor -o and ssh -o offer the Control options" {
	run complete_bash 0 "muxfix doctor -o Control"
	assert_equal "$(lines ControlMaster= ControlPath= ControlPersist=)" "$output"
	run complete_bash 0 "muxfix ssh -o ControlP"
	assert_equal "$(lines ControlPath= ControlPersist=)" "$output"
}

@test "bash: clean completes directories; env, on and off take nothing" {
	run complete_bash 0 "muxfix clean $T/dirs/s"
	assert_equal "$(lines "$T/dirs/second" "$T/dirs/sockets")" "$output"
	run complete_bash 0 "muxfix clean $T/dirs/a"
	assert_equal "" "$output"
	for sub in env on off; do
		run complete_bash 0 "muxfix $sub "
		assert_equal "" "$output"
	done
}

@test "bash with bash-completion: a command completes as itself (ssh's hosts via _known_hosts_real, ssh's -o values)" {
	[[ -r $BASH_COMPLETION ]] || skip "bash-completion is not installed"
	run complete_bash 1 "muxfix ssh al"
	assert_equal "alpha" "$output"
	run complete_bash 1 "muxfix -v ssh -o ControlMaster=a"
	assert_equal "$(lines ask auto autoask)" "$output"
	run complete_bash 1 "muxfix-ssh be"
	assert_equal "beta" "$output"
	run complete_bash 1 "muxfix doctor gam"
	assert_equal "gamma.example" "$output"
	run complete_bash 1 "muxfix doctor -o ControlMaster=n"
	assert_equal "no" "$output"
	run complete_bash 1 "muxfix doctor -F $T/other_config gam"
	assert_equal "gamma-cfg" "$output"
	run complete_bash 1 "muxfix docto"
	assert_equal "doctor" "$output"
}

@test "make install: bash-completion finds muxfix and muxfix-ssh where it is installed; uninstall removes them" {
	[[ -r $BASH_COMPLETION ]] || skip "bash-completion is not installed"
	make -s -C "$REPO" --no-print-directory install PREFIX=/usr DESTDIR="$T/inst" >"$T/install.log" 2>&1 ||
		{ cat "$T/install.log"; return 1; }
	assert_installed() { [[ -f $1 ]] || _mf_fail "not installed: $1"; }
	assert_installed "$T/inst/usr/share/bash-completion/completions/muxfix"
	assert_equal muxfix "$(readlink "$T/inst/usr/share/bash-completion/completions/muxfix-ssh")"
	assert_installed "$T/inst/usr/share/zsh/site-functions/_muxfix"
	# bash-completion's own loader, looking in XDG_DATA_DIRS as it does
	# for /usr/local/share.
	run env XDG_DATA_DIRS="$T/inst/usr/share" BC=$BASH_COMPLETION bash --norc --noprofile -c '
		source "$BC"
		__load_completion muxfix-ssh && complete -p muxfix-ssh
		__load_completion muxfix && complete -p muxfix'
	assert_status 0
	assert_equal "$(printf '%s\n' 'complete -F _muxfix_ssh muxfix-ssh' 'complete -F _muxfix muxfix')" "$output"
	make -s -C "$REPO" --no-print-directory uninstall PREFIX=/usr DESTDIR="$T/inst"
	refute_exists "$T/inst/usr/share/bash-completion/completions/muxfix"
	refute_exists "$T/inst/usr/share/bash-completion/completions/muxfix-ssh"
	refute_exists "$T/inst/usr/share/zsh/site-functions/_muxfix"
}

# complete_zsh LINE: the words zsh's completion offers (tests/zsh_complete.zsh)
complete_zsh() {
	HOME=$T/home zsh -f "$BATS_TEST_DIRNAME/zsh_complete.zsh" "$REPO/completion" "$1"
}

@test "zsh: compinit registers _muxfix for muxfix and muxfix-ssh" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$REPO/completion/_muxfix"
	assert_status 0
	run env HOME="$T/home" zsh -f -c "fpath=('$REPO/completion' \$fpath); autoload -U compinit; compinit -u -D; print -r -- \$_comps[muxfix] \$_comps[muxfix-ssh]"
	assert_status 0
	assert_equal "_muxfix _muxfix" "$output"
}

@test "zsh: subcommands, options, doctor's hosts, clean's directories, muxfix-ssh as ssh" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run complete_zsh "muxfix doc"
	assert_status 0
	assert_contains "$output" "doctor"
	run complete_zsh "muxfix -"
	assert_contains "$output" "$(lines --help --version -V -h -v)"
	run complete_zsh "muxfix doctor -"
	assert_contains "$output" "$(lines --help -F -h -o)"
	run complete_zsh "muxfix doctor al"
	assert_contains "$output" "alpha"
	run complete_zsh "muxfix clean --"
	assert_contains "$output" "--dry-run"
	run complete_zsh "muxfix clean $T/dirs/so"
	assert_contains "$output" "sockets"
	run complete_zsh "muxfix ssh be"
	assert_contains "$output" "beta"
	run complete_zsh "muxfix-ssh al"
	assert_contains "$output" "alpha"
}

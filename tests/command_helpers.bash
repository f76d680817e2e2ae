# shellcheck shell=bash
# tests/command_helpers.bash - shared by command.bats and doctor.bats:
# install muxfix into a DESTDIR under MF_TMP and run the installed command
# as the test user.
#   mf_install_muxfix DESTDIR      make install PREFIX=/usr DESTDIR=DESTDIR
#   mx [N=V ...] CMD ARGS          run CMD as MF_USER with the installed
#                                  bin first in PATH (no LD_PRELOAD of ours;
#                                  ASan's runtime and options under SANITIZE)
#   assert_line LINE               some line of $output is exactly LINE

mf_install_muxfix() {
	local log="$MF_TMP/install.log"
	make -s -C "$MF_REPO" --no-print-directory install PREFIX=/usr DESTDIR="$1" \
		BUILD="${MUXFIX_TEST_BUILD:-$MF_REPO/build}" >"$log" 2>&1 ||
		{ cat "$log" >&2; return 1; }
}

mx() {
	local -a envs=("PATH=$MF_INST/usr/bin:$MF_USER_PATH")
	local v
	[[ -n ${MUXFIX_TEST_PRELOAD_EXTRA:-} ]] && envs+=("LD_PRELOAD=$MUXFIX_TEST_PRELOAD_EXTRA")
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[[ -n ${!v+set} ]] && envs+=("$v=${!v}")
	done
	mf_as_user "${envs[@]}" "$@"
}

# shellcheck disable=SC2154 # output is set by bats' run
assert_line() {
	local l
	while IFS= read -r l; do
		[[ $l == "$1" ]] && return 0
	done <<<"$output"
	_mf_fail "expected a line: $1" "seen:" "$output" "(end)"
}

refute_line_matching() { # GLOB
	local l
	while IFS= read -r l; do
		# shellcheck disable=SC2053 # glob wanted
		[[ $l == $1 ]] && _mf_fail "expected no line like: $1" "seen: $l" && return 1
	done <<<"$output"
	return 0
}

# setup_file of the files that test the installed command: sshd, and
# `make install` into a DESTDIR under MF_TMP.
setup_file() {
	mf_setup_file
	export MF_INST="$MF_TMP/inst"
	mf_install_muxfix "$MF_INST"
}

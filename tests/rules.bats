#!/usr/bin/env bats
# The command and the library give the same answer to the same question, on
# a table of directories (may a dead socket of ours in it be removed?) and a
# table of paths (does MUXFIX_PATH manage it?). The command (installed)
# answers through muxfix-probe, `muxfix clean --dry-run` and `muxfix
# doctor`; the library by what it does on a real connect() to a dead socket
# at that path (MUXFIX_VERBOSE=1: "removed dead control socket", or it is
# left alone). Every answer of a row must be the row's expectation.
load helpers
load command_helpers

setup() {
	[[ -n ${MF_OTHER:-} ]] || skip "needs root (a second unprivileged user)"
	mf_setup
	unset MUXFIX_PATH
	PROBE="$MF_INST/usr/lib/muxfix/muxfix-probe"
	HOME_DIR="$MF_HOME/.muxfix-rules-test"
}

teardown() {
	[[ -n ${HOME_DIR:-} ]] && rm -rf -- "$HOME_DIR"
	mf_teardown
}

# library_connect PATH PATTERNS: a connect() to the dead socket PATH under
# the library with MUXFIX_PATH=PATTERNS; prints what the library said.
library_connect() {
	mf_mux MUXFIX_PATH="$2" MUXFIX_VERBOSE=1 MUXFIX_TIMEOUT_MS=0 "$MF_BIN/talk" "$1" hello 2>&1 || :
}

# library_removed PATH LOG: yes when LOG says the library removed the dead
# socket PATH (for its own connect, or swept beside another) and it is gone.
library_removed() {
	if [[ $2 == *"removed dead control socket $1 "* && ! -e $1 && ! -L $1 ]]; then
		echo yes
	else
		echo no
	fi
}

# probe_field N ARGS: field N (1-based) of the probe's first record.
probe_field() {
	local n=$1 i f
	shift
	{
		for ((i = 1; i <= n; i++)); do IFS= read -r -d '' f || { echo "?"; return 0; }; done
		printf '%s\n' "$f"
	} < <(mx "$PROBE" "$@" 2>/dev/null)
}

# ---- directories ----

# NAME MODE OWNER TRUST: the directory $T.s/NAME, and the trust word the
# library's rule gives it (ctldir.h: ours and not writable by group or
# others, or sticky and ours or root's).
DIR_TABLE=(
	"own0700 0700 user trusted"
	"own0755 0755 user trusted"
	"own0775 0775 user writable-by-others"
	"own0777 0777 user writable-by-others"
	"own1777 1777 user trusted"
	"root1777 1777 root trusted"
	"root0755 0755 root foreign-owner"
	"other1755 1755 other foreign-owner"
	"other1777 1777 other foreign-owner"
	"link - - symlink"
	"missing - - absent"
)

# Make the row's directory with a dead socket "cm" of the test user in it.
make_dir_row() {
	local name=$1 mode=$2 owner=$3 d="$T.s/$1" target
	case $owner in
	user) mf_shared_dir "$name" "$mode" "$MF_USER" >/dev/null ;;
	other) mf_shared_dir "$name" "$mode" "$MF_OTHER" >/dev/null ;;
	root) mf_shared_dir "$name" "$mode" >/dev/null ;;
	esac
	case $name in
	link)
		target=$(mf_shared_dir "$name-target" 0700 "$MF_USER")
		ln -s "$target" "$d"
		mf_dead_socket "$target/cm"
		;;
	missing) ;;
	*)
		"$MF_MKSOCK" "$d/cm"
		chown "$MF_UID:$MF_GID" "$d/cm"
		;;
	esac
}

@test "rules: command and library agree on which directories are safe to change" {
	local row name mode owner trust d want probe clean doctor lib bad=''
	local table="directory      probe-trust          clean  doctor library want"
	for row in "${DIR_TABLE[@]}"; do
		read -r name mode owner trust <<<"$row"
		make_dir_row "$name" "$mode" "$owner"
	done
	for row in "${DIR_TABLE[@]}"; do
		read -r name mode owner trust <<<"$row"
		d="$T.s/$name"
		want=no
		[[ $trust == trusted ]] && want=yes
		probe=$(probe_field 2 trust "$d")
		clean=no
		run mx muxfix clean --dry-run "$d"
		[[ $output == *"would remove $d/cm (dead: connect refused, no master)"* ]] && clean=yes
		doctor=no
		run mx MUXFIX_PATH="$d/*" muxfix doctor
		[[ $output == *$'\n'"ok       directory $d: "* ]] && doctor=yes
		lib=$(library_removed "$d/cm" "$(library_connect "$d/cm" "$d/*")")
		table+=$(printf '\n%-14s %-20s %-6s %-6s %-7s %s' "$name" "$probe" "$clean" "$doctor" "$lib" "$want")
		[[ $probe == "$trust" && $clean == "$want" && $doctor == "$want" && $lib == "$want" ]] ||
			bad+=" $name"
	done
	echo "$table" | sed 's/^/# /' >&3
	[[ -z $bad ]] || _mf_fail "disagreement on:$bad" "$table"
}

# ---- paths ----

# PATH MANAGED: paths under the patterns below ($D: a directory of the test
# user; $H: one in its home, reached as ~ and as ~user).
path_table() {
	PATH_TABLE=(
		"$D/deploy@web1-22 yes"
		"$D/deploy@web1 no"
		"$D/deploy@web1-22.AbCdEfGh12345678 yes"
		"$D/100%-x yes"
		"$D/100x-x no"
		"$D/100%%-x no"
		"$D/lit[x] yes"
		"$D/litx no"
		"$D/tok0123abcd yes"
		"$D/other no"
		"$H/cm-a yes"
		"$H/u-a yes"
		"$H/v-a no"
	)
}

@test "rules: command and library agree on which paths MUXFIX_PATH manages (%-tokens, %%, brackets, ~, ~user, ssh's temporary name)" {
	local D H patterns row p want probe clean lib bad='' listed
	D=$(mf_shared_dir paths 0700 "$MF_USER")
	H=$HOME_DIR
	mf_as_user mkdir -m 0700 "$H"
	# shellcheck disable=SC2088 # the library expands ~ and ~user itself
	patterns="$D/%r@%h-%p:$D/100%%-*:$D/lit[[]x]:$D/tok%C:~/.muxfix-rules-test/cm-*:~$MF_USER/.muxfix-rules-test/u-*"
	path_table
	for row in "${PATH_TABLE[@]}"; do mf_dead_socket "${row% *}"; done
	run mx MUXFIX_PATH="$patterns" muxfix clean --dry-run
	listed=$output
	# The library removes a dead socket it meets and sweeps its directory
	# for other managed dead ones: every connect's words count.
	local log=''
	for row in "${PATH_TABLE[@]}"; do
		p=${row% *}
		if [[ -S $p ]]; then log+=$(library_connect "$p" "$patterns")$'\n'; fi
	done
	local table="path                                      probe clean library want"
	for row in "${PATH_TABLE[@]}"; do
		p=${row% *} want=${row##* }
		probe=$(mx MUXFIX_PATH="$patterns" "$PROBE" managed "$p" 2>/dev/null) || probe="?"
		clean=no
		[[ $listed == *" $p "* || $listed == *" $p:"* ]] && clean=yes
		lib=$(library_removed "$p" "$log")
		table+=$(printf '\n%-41s %-5s %-5s %-7s %s' "${p#"$T.s/"}" "$probe" "$clean" "$lib" "$want")
		[[ $probe == "$want" && $clean == "$want" && $lib == "$want" ]] || bad+=" ${p##*/}"
	done
	echo "$table" | sed 's/^/# /' >&3
	[[ -z $bad ]] || _mf_fail "disagreement on:$bad" "$table"
}

#!/usr/bin/env bats
# The shape of the tree: no include cycle among shim/ files, and README's
# Layout section names every source file (one line per file).
# No sshd: these look only at the source tree.

REPO=$BATS_TEST_DIRNAME/..

@test "no include cycle among shim/ files" {
	run "$REPO/scripts/include-cycles"
	echo "$output"
	[[ $status -eq 0 ]]
}

@test "include-cycles finds a cycle (a.c includes b.h, b.c includes a.h)" {
	local d
	d=$(mktemp -d)
	printf '#include "b.h"\n' >"$d/a.c"
	printf '#include "a.h"\n' >"$d/b.c"
	: >"$d/a.h"
	: >"$d/b.h"
	run "$REPO/scripts/include-cycles" "$d"
	rm -rf "$d"
	[[ $status -eq 1 ]]
	[[ $output == *"include cycle: a b a"* ]]
}

@test "README's Layout names every file of shim/, tools/, scripts/, tests/progs/, bench/, fuzz/" {
	local layout f missing=()
	layout=$(sed -n '/^## Layout/,/^## /p' "$REPO/README.md")
	cd "$REPO"
	while read -r f; do
		[[ $layout == *"\`$f\`"* ]] || missing+=("$f")
	done < <(git ls-files shim tools scripts tests/progs bench 'fuzz/*.c' 'fuzz/*.sh' 2>/dev/null ||
		ls -d shim/* tools/* scripts/* tests/progs/* bench/* fuzz/*.c fuzz/*.sh)
	[[ ${#missing[@]} -eq 0 ]] || { printf 'not in README Layout: %s\n' "${missing[@]}"; return 1; }
}

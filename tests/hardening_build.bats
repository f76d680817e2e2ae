#!/usr/bin/env bats
# The library is built hardened: RELRO (what the loader relocates is made
# read-only after; without BIND_NOW, by measurement: Makefile, LDFLAGS_LIB),
# stack canaries, and glibc's FORTIFY checks.
# (That only connect, bind, link and unlink are exported is checked in
# transparency.bats.) Reads the ELF only: no sshd, so the harness is not
# started.

setup_file() { :; }
teardown_file() { :; }
setup() {
	LIB="${MUXFIX_TEST_BUILD:-$BATS_TEST_DIRNAME/../build}/libmuxfix.so"
	[[ -f $LIB ]] || {
		echo "missing $LIB: run the suite with 'make test'" >&2
		return 1
	}
}
teardown() { :; }

@test "RELRO: a GNU_RELRO segment; no BIND_NOW (libc imports bound on first call, not in every process's start)" {
	run readelf -lW "$LIB"
	[ "$status" -eq 0 ]
	[[ $output == *GNU_RELRO* ]]
	run readelf -dW "$LIB"
	[ "$status" -eq 0 ]
	# -z now would set DT_FLAGS BIND_NOW or DT_FLAGS_1 NOW.
	if [[ $output =~ \(FLAGS\).*BIND_NOW || $output =~ \(FLAGS_1\).*NOW ]]; then
		echo "BIND_NOW is set: every process would bind the library's imports at start" >&2
		return 1
	fi
}

@test "stack protector: __stack_chk_fail is referenced" {
	run sh -c "nm -D --undefined-only '$LIB' | awk '{print \$2}'"
	[ "$status" -eq 0 ]
	[[ $output =~ (^|$'\n')__stack_chk_fail(@|$'\n'|$) ]]
}

@test "FORTIFY_SOURCE: checked *_chk variants of libc calls are referenced" {
	run sh -c "nm -D --undefined-only '$LIB' | awk '{print \$2}' | grep -E '^__[a-z]+_chk(@|\$)'"
	[ "$status" -eq 0 ]
	[[ $output == *__snprintf_chk* || $output == *__memcpy_chk* ]]
}

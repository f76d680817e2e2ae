#!/usr/bin/env bats
# Rule 2: every call muxfix does not repair returns libc's result and errno.
load helpers

@test "errno table: identical with and without the library" {
	run mf_plain "$MF_BIN/errno_table" "$T/plain"
	assert_status 0
	local plain=$output
	[[ $plain == *"connect_enoent "*"ENOENT"* ]]
	run mf_mux "MUXFIX_PATH=$T/lib/m/*" "$MF_BIN/errno_table" "$T/lib"
	assert_status 0
	assert_equal "$plain" "$output"
}

@test "errno table: the same with every decision logged (MUXFIX_VERBOSE=2 to a file)" {
	run mf_plain "$MF_BIN/errno_table" "$T/plain"
	local plain=$output
	run mf_mux "MUXFIX_PATH=$T/lib/m/*" MUXFIX_VERBOSE=2 "MUXFIX_LOG=$T/log" "$MF_BIN/errno_table" "$T/lib"
	assert_equal "$plain" "$output"
	# The managed cases were looked at (so the table exercised the library).
	assert_contains "$(cat "$T/log")" "muxfix: left $T/lib/m/file alone: it is not a socket"
}

@test "pattern matcher and MUXFIX_PATH parser unit tests" {
	run "$MF_BIN/pattern_test"
	assert_status 0
	assert_contains "$output" " passed, 0 failed"
}

@test "only connect, bind, link, unlink, read, write and sendmsg are exported" {
	run sh -c "nm -D --defined-only '$MF_BIN/libmuxfix.so' | awk '\$2 ~ /^[TW]\$/ {print \$3}' | sort | tr '\n' ' '"
	assert_status 0
	assert_equal "bind connect link read sendmsg unlink write " "$output"
}

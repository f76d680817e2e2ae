#!/usr/bin/env bats
# The record behind the replay (shim/muxrec.h): what a mux client's handshake
# leaves to replay and what is refused, fed as byte streams, without sockets
# or sshd (tests/progs/muxrec_test.c). The replay itself, against a real
# sshd and masters dying at each step, is in handshake.bats.
load helpers

# No sshd here: only the unit test program.
setup_file() { :; }
teardown_file() { :; }
setup() { MUXREC_TEST="${MUXFIX_TEST_BUILD:-$BATS_TEST_DIRNAME/../build}/muxrec_test"; }
teardown() { :; }

@test "muxrec: ssh's handshakes recorded, -O exit/stop/proxy/cancel/conninfo/channels refused, splits at every offset, bounds" {
	run "$MUXREC_TEST"
	assert_status 0
	assert_contains "$output" " passed, 0 failed"
	refute_contains "$output" "FAIL"
}

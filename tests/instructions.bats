#!/usr/bin/env bats
# The pass-through stays at the floor: instructions muxfix adds to each
# interposed call over a forwarding-only interposer (bench/forward.c), and
# to a process's start over an empty preloaded library, counted by
# callgrind (scripts/instr). Counts, not timings: they do not depend on the
# machine's load. No sshd: these run the helper directly.

# The budgets (instructions added per call, or per process start). scripts/instr
# reads these lines; `make bench` shows the same rows.
# Not a Unix socket, or a path that shares no literal prefix with any
# pattern: a family check, a few words compared, a table lookup.
BUDGET_UNMANAGED=50
# A path that starts like a pattern (~/.ssh/agent.sock, or a pattern's
# whole literal prefix) but matches none: the compiled matcher runs.
BUDGET_PREFIX=150
# /bin/true from exec to exit, over an empty preloaded library: its own
# relocation and nothing else (7,100 now). Binding every import at load
# (-z now, +47,000), resolving the seven libc calls in a constructor
# (+8,000) or reading the configuration there (+29,000, passwd lookup
# included) would each pass it.
BUDGET_START=10000

setup_file() { :; }
teardown_file() { :; }
setup() {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
}
teardown() { :; }

@test "instructions added per pass-through call and per process start are within budget" {
	run "$BATS_TEST_DIRNAME/../scripts/instr" --check
	echo "$output"
	[ "$status" -eq 0 ]
}

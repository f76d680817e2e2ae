# muxfix: build the LD_PRELOAD library, its test programs, run the tests.
#
#   make               build/libmuxfix.so and the test programs
#   make test          the bats suite against a throwaway sshd on 127.0.0.1
#   make test SANITIZE=1   the same with an ASan+UBSan build (build/sanitize)
#   make valgrind      the C test programs under valgrind memcheck
#   make demo          plain ssh failing, then the same command repaired

CC       ?= cc
SANITIZE ?=
BUILD    ?= $(if $(SANITIZE),build/sanitize,build)
TESTS    ?= tests/

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
CFLAGS   ?= -O2 -g
BASEFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -fno-strict-aliasing
ifneq ($(SANITIZE),)
BASEFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
LIBFLAGS := -fPIC -fvisibility=hidden
LDLIBS_LIB := -ldl

SHIM_SRC := $(wildcard shim/*.c)
SHIM_HDR := $(wildcard shim/*.h)
LIB      := $(BUILD)/libmuxfix.so
PROGS    := $(BUILD)/mksock $(BUILD)/errno_table $(BUILD)/pattern_test $(BUILD)/race

# The pieces of the library the unit tests link directly.
UNIT_SRC := shim/pattern.c shim/config.c shim/log.c shim/classify.c

.PHONY: all test valgrind demo clean

all: $(LIB) $(PROGS)

$(LIB): $(SHIM_SRC) $(SHIM_HDR) | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(LIBFLAGS) -shared -Wl,-z,defs -o $@ $(SHIM_SRC) $(LDLIBS_LIB)

$(BUILD)/pattern_test: tests/progs/pattern_test.c $(UNIT_SRC) $(SHIM_HDR) | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Ishim -o $@ $< $(UNIT_SRC)

$(BUILD)/%: tests/progs/%.c | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $<

$(BUILD):
	mkdir -p $@

# As root the suite runs the ssh clients as an unprivileged user; the harness
# copies the build to a directory that user can read.
# Under SANITIZE the ASan runtime must come first in LD_PRELOAD; ssh's own
# leaks at exit are not ours to report.
ASAN_RT := $(if $(SANITIZE),$(shell $(CC) -print-file-name=libasan.so))
test: all
	MUXFIX_TEST_BUILD="$(CURDIR)/$(BUILD)" \
	MUXFIX_TEST_PRELOAD_EXTRA="$(ASAN_RT)" \
	$(if $(SANITIZE),ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1) \
	bats --timing $(TESTS)

valgrind: all
	MUXFIX_TEST_BUILD="$(CURDIR)/$(BUILD)" scripts/valgrind-check

demo: all
	MUXFIX_TEST_BUILD="$(CURDIR)/$(BUILD)" scripts/demo

clean:
	rm -rf build

# muxfix: build the LD_PRELOAD library, its test programs, run the tests.
#
#   make               build/libmuxfix.so and the test programs
#   make test [TESTS=tests/x.bats]   the bats suite against a throwaway sshd
#                      on 127.0.0.1; ends with "N passed, N failed, N skipped"
#   make test-clean-users   remove the test users the suite creates as root
#   make test SANITIZE=1   the same with an ASan+UBSan build (build/sanitize)
#   make test MUXFIX_TEST_SSH=... MUXFIX_TEST_SCP=... MUXFIX_TEST_SFTP=...
#             MUXFIX_TEST_SSHD=...   the same against another OpenSSH
#   make test-matrix   the files about ssh's behaviour on every OpenSSH in
#                      ../shared/vendor (built once into build/openssh/)
#   make test-upstream OpenSSH 10.5p1's own multiplexing regress tests,
#                      plainly and with the library preloaded
#   make valgrind      the C test programs under valgrind memcheck
#   make demo          plain ssh failing, then the same command repaired
#   make lint          cppcheck and clang-tidy (.clang-tidy); fails on findings
#   make fuzz [FUZZ_SECONDS=60]   the libFuzzer targets in fuzz/ (clang)
#   make bench [QUICK=1] [OUT=file.md]   with/without-library benchmark table
#   make install       the library, muxfix-probe, the muxfix command (with
#                      muxfix-doctor), man pages and bash/zsh completion under
#                      $(DESTDIR)$(PREFIX) (PREFIX=/usr/local; LIBDIR=PREFIX/lib)
#   make deb           a Debian package in build/deb (dpkg-buildpackage, lintian)
#   make uninstall     remove what make install put there

CC       ?= cc
SANITIZE ?=
BUILD    ?= $(if $(SANITIZE),build/sanitize,build)
TESTS    ?= tests/

# Warnings are errors in CI (WERROR=1, .ci/run), not for a user building
# with another compiler, whose new warnings should not stop the build.
WERROR   ?=
WARN     := -Wall -Wextra $(if $(WERROR),-Werror) -Wshadow -Wformat=2 -Wstrict-prototypes
CFLAGS   ?= -O2 -g
# CPPFLAGS and LDFLAGS (empty by default) reach the library and the helper,
# the two installed programs: the Debian build passes dpkg-buildflags' here.
# Hardening: a canary in every function with a local array or address-taken
# local, and glibc's checked *_chk variants where sizes are known at compile
# time (needs optimisation; the -U keeps a toolchain default from clashing).
HARDEN   := -fstack-protector-strong -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
BASEFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -fno-strict-aliasing $(HARDEN)
ifneq ($(SANITIZE),)
BASEFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
# -fno-lto: shim/hot.ld picks the pass-through's code by object file, which
# link-time optimisation would merge away (some distributions' build flags
# turn it on).
LIBFLAGS := -fPIC -fvisibility=hidden -fno-lto
# RELRO without BIND_NOW, by measurement (README, Benchmarks): the library
# is preloaded into every process, and binding its 65 libc imports at load
# (-z now) cost each one 47,000 instructions and about 25 us, 2.7% of
# /bin/true (three sets of 1000 interleaved runs: 1.12-1.14x plain with
# -z now, 1.08-1.10x without; an empty preloaded library alone is 1.08x;
# the target is 1.10x). Lazily, an import is
# bound on its first call, and most never are in a process that manages no
# path. What -z now would add is a read-only .got.plt; the library's own
# pointers to the libc calls it wraps (real.c), which every wrapped call goes
# through, are writable whatever the flags, and so is libc's own .got.plt:
# one more table of the same kind is not what stands between an attacker
# who can write memory and control of the process. -z relro still makes the
# rest of .got, .dynamic and .data.rel.ro read-only after relocation.
LDFLAGS_LIB := -Wl,-z,defs -Wl,-z,relro
LDLIBS_LIB :=

SHIM_SRC := $(wildcard shim/*.c)
SHIM_HDR := $(wildcard shim/*.h)
LIB      := $(BUILD)/libmuxfix.so
# Every tests/progs/*.c is a test program (special rules below for some);
# sigcatch.c is a library preloaded into ssh by a test.
PROGS    := $(patsubst tests/progs/%.c,$(BUILD)/%,$(filter-out tests/progs/sigcatch.c,$(wildcard tests/progs/*.c))) \
            $(BUILD)/logfile_check_walk $(BUILD)/sigcatch.so

# The muxfix command's helper (liveness probe, safe removal); installed.
PROBE    := $(BUILD)/muxfix-probe

# The pieces of the library the unit tests link directly.
UNIT_SRC := shim/pattern.c shim/config.c shim/log.c shim/logfile.c shim/real.c shim/classify.c shim/util.c

.PHONY: all test valgrind demo clean bench

# The instruction counts (scripts/instr) are a test too: their programs are
# built with everything else.
INSTR_PROGS := $(BUILD)/bench-instr $(BUILD)/bench-forward.so $(BUILD)/bench-empty.so

all: $(LIB) $(PROGS) $(PROBE) $(INSTR_PROGS)

# The code every process runs on its Unix-socket calls, repairing or not:
# linked into a segment of its own (shim/hot.ld), apart from the repair's,
# so that a process that manages nothing maps only its pages. A function
# these files call on a call that repairs nothing must be in one of them
# (util.c and logfile.c for the configuration's warnings and MUXFIX_LOG's
# check); tests/memory.bats fails if such a call maps a page of the rest.
HOT_SRC  := shim/interpose.c shim/gate.c shim/real.c shim/config.c shim/pattern.c \
            shim/classify.c shim/util.c shim/logfile.c
LIB_OBJ  := $(patsubst shim/%.c,$(BUILD)/obj/hot/%.o,$(HOT_SRC)) \
            $(patsubst shim/%.c,$(BUILD)/obj/%.o,$(filter-out $(HOT_SRC),$(SHIM_SRC)))

$(BUILD)/obj/hot/%.o: shim/%.c $(SHIM_HDR) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASEFLAGS) $(CFLAGS) $(LIBFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: shim/%.c $(SHIM_HDR) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASEFLAGS) $(CFLAGS) $(LIBFLAGS) -c -o $@ $<

# The split needs GNU ld (bfd): gold does not read hot.ld and lld drops its
# gap; with another linker the library is built in one piece, which works
# the same and only maps more (tests/memory.bats skips).
# -z noseparate-code, by measurement: every segment the loader maps costs
# each process about 5 us at start, and -z separate-code (GNU ld's default
# on x86) gives the headers and the read-only data segments of their own:
# five instead of three, /bin/true 1.102-1.109x plain against 1.090-1.098x
# (bench-spawn, 4000 interleaved runs, three times; the empty library
# 1.074-1.078x; the target is 1.10x). What it gives up: the ELF headers,
# the symbol tables and the read-only data are mapped executable, as GNU ld
# mapped them on x86 before binutils 2.31 (and still does on most other
# targets); that widens the choice of code to jump to
# for an attacker who already controls the program counter, and changes
# nothing for one who does not. hot.ld takes the hot files'
# read-only data into their segment, or the pass-through's strings would
# map the repair's code with them.
LD_IS_BFD := $(shell $(CC) $(LDFLAGS) -Wl,--version 2>/dev/null | head -n 1 | grep -q '^GNU ld' && echo yes)
SPLIT_FLAGS := -Wl,-z,noseparate-code -Wl,-T,shim/hot.ld
LDFLAGS_SPLIT := $(if $(LD_IS_BFD),$(SPLIT_FLAGS))

$(LIB): $(LIB_OBJ) shim/hot.ld Makefile
	$(CC) $(BASEFLAGS) $(CFLAGS) $(LIBFLAGS) -shared $(LDFLAGS) $(LDFLAGS_LIB) $(LDFLAGS_SPLIT) -o $@ $(LIB_OBJ) $(LDLIBS_LIB)

# Built from the library's own code, so that the command's answers are the
# library's: judging and removal (judge.c, ctldir.c), MUXFIX_PATH read as the
# library reads it (config.c, logfile.c for MUXFIX_LOG, log.c) and matched
# (pattern.c, classify.c), a master's TCP state (peer.c). tools/ holds the
# probe's own files.
PROBE_SRC := shim/judge.c shim/ctldir.c shim/pattern.c shim/real.c shim/util.c \
             shim/config.c shim/log.c shim/logfile.c shim/classify.c shim/peer.c
TOOLS_SRC := $(wildcard tools/*.c)
TOOLS_HDR := $(wildcard tools/*.h)
$(PROBE): $(TOOLS_SRC) $(TOOLS_HDR) $(PROBE_SRC) $(SHIM_HDR) | $(BUILD)
	$(CC) $(CPPFLAGS) $(BASEFLAGS) $(CFLAGS) -Ishim -Itools $(LDFLAGS) -o $@ $(TOOLS_SRC) $(PROBE_SRC)

# Benchmark helper programs (bench/*.c -> build/bench-*), used by scripts/bench.
# bench/empty.c is a do-nothing preload library, the control for row 2;
# bench/forward.c a forwarding-only interposer, the control of scripts/instr.
BENCH_LIBS  := bench/empty.c bench/forward.c
BENCH_PROGS := $(patsubst bench/%.c,$(BUILD)/bench-%,$(filter-out $(BENCH_LIBS),$(wildcard bench/*.c))) \
               $(patsubst bench/%.c,$(BUILD)/bench-%.so,$(BENCH_LIBS))

$(BUILD)/bench-%.so: bench/%.c | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(LIBFLAGS) -shared $(LDFLAGS_LIB) -o $@ $<

$(BUILD)/bench-%: bench/%.c | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $<

$(BUILD)/pattern_test: tests/progs/pattern_test.c $(UNIT_SRC) $(SHIM_HDR) | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Ishim -o $@ $< $(UNIT_SRC)

# The log file's safe open, as built into the library and as built for a
# kernel without openat2.
$(BUILD)/logfile_check: tests/progs/logfile_check.c shim/logfile.c $(SHIM_HDR) | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Ishim -o $@ $< shim/logfile.c

$(BUILD)/logfile_check_walk: tests/progs/logfile_check.c shim/logfile.c $(SHIM_HDR) | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -DMUXFIX_LOGFILE_WALK_ONLY -Ishim -o $@ $< shim/logfile.c

# The handshake record is pure: its tests link it alone.
$(BUILD)/muxrec_test: tests/progs/muxrec_test.c shim/muxrec.c shim/muxrec.h | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Ishim -o $@ $< shim/muxrec.c

# The attacker's rename race; its judge mode links the probe's mechanism.
DIRSWAP_SRC := shim/judge.c shim/ctldir.c shim/pattern.c shim/real.c shim/util.c
$(BUILD)/dirswap: tests/progs/dirswap.c $(DIRSWAP_SRC) $(SHIM_HDR) | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Ishim -o $@ $< $(DIRSWAP_SRC)

$(BUILD)/sigcatch.so: tests/progs/sigcatch.c | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(LIBFLAGS) -shared $(LDFLAGS_LIB) -o $@ $<

$(BUILD)/threads: tests/progs/threads.c | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -pthread -o $@ $<

$(BUILD)/%: tests/progs/%.c | $(BUILD)
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $<

$(BUILD):
	mkdir -p $@

# As root the suite runs the ssh clients as an unprivileged user; the harness
# copies the build to a directory that user can read.
# Under SANITIZE the ASan runtime must come first in LD_PRELOAD; ssh's own
# leaks at exit are not ours to report.
# bats also writes its results as TAP into a temporary directory, read for
# the closing line (scripts/test-summary: N passed, N failed, N skipped); the
# exit status is bats's.
ASAN_RT := $(if $(SANITIZE),$(shell $(CC) -print-file-name=libasan.so))
test: all
	@scripts/bench-freshness
	@report=$$(mktemp -d /tmp/muxfix-report.XXXXXX) || exit 1; rc=0; \
	MUXFIX_TEST_BUILD="$(CURDIR)/$(BUILD)" \
	MUXFIX_TEST_PRELOAD_EXTRA="$(ASAN_RT)" \
	$(if $(SANITIZE),ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1) \
	bats --timing --report-formatter tap --output "$$report" $(TESTS) || rc=$$?; \
	cat "$$report"/report.tap 2>/dev/null | scripts/test-summary; \
	rm -rf "$$report"; exit $$rc

# The suite, run as root, creates two unprivileged users (muxfixtest, the
# ssh client; muxfixother, the attacker of the adversarial tests; see
# scripts/sshd-harness.sh) and leaves them: runs in several checkouts at
# once share them. This removes both with their homes, unless one has a
# process running (a run in progress).
TEST_USERS ?= muxfixtest muxfixother
.PHONY: test-clean-users
test-clean-users:
	@for u in $(TEST_USERS); do \
	    pids=$$(ps -o pid= -o stat= -u "$$u" 2>/dev/null | awk '$$2 !~ /^Z/ { printf "%s ", $$1 }'); \
	    if [ -n "$$pids" ]; then \
	        echo "test-clean-users: $$u has processes running (pid $$pids): a test run in progress? nothing removed" >&2; \
	        exit 1; \
	    fi; \
	done; \
	for u in $(TEST_USERS); do \
	    if ! getent passwd "$$u" >/dev/null; then echo "no user $$u"; continue; fi; \
	    userdel -r "$$u" 2>&1 | grep -Ev '(mail spool|home directory) .* not found' >&2; \
	    if getent passwd "$$u" >/dev/null; then echo "test-clean-users: could not remove $$u" >&2; exit 1; fi; \
	    echo "removed user $$u and its home directory"; \
	done

valgrind: all
	MUXFIX_TEST_BUILD="$(CURDIR)/$(BUILD)" scripts/valgrind-check

# Other OpenSSH versions: each built once from ../shared/vendor into
# build/openssh/VERSION (scripts/openssh-build); a missing vendor directory
# skips them with one line. MATRIX_VERSIONS, MATRIX_TESTS: scripts/test-matrix.
.PHONY: test-matrix test-upstream
test-matrix: all
	scripts/test-matrix

test-upstream: all
	MUXFIX_TEST_BUILD="$(CURDIR)/$(BUILD)" scripts/test-upstream

demo: all
	MUXFIX_TEST_BUILD="$(CURDIR)/$(BUILD)" scripts/demo

# QUICK=1: fewer repetitions (under 2 minutes); OUT=FILE: the table as
# markdown in FILE too. Counts: BENCH_* variables, see scripts/bench.
QUICK ?=
OUT   ?=
bench: $(LIB) $(BUILD)/mksock $(BENCH_PROGS)
	MUXFIX_TEST_BUILD="$(CURDIR)/$(BUILD)" QUICK="$(QUICK)" OUT="$(OUT)" scripts/bench

# ---- fuzzing (clang libFuzzer, ASan+UBSan): each target links the shim
# files it exercises directly, as pattern_test does. `make fuzz` builds them
# into build/fuzz/ and runs each for FUZZ_SECONDS on a copy of its seed
# corpus (fuzz/corpus/TARGET), printing libFuzzer's run count.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_TARGETS := pattern_fuzz classify_fuzz config_fuzz muxrec_fuzz
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE $(WARN) -fno-strict-aliasing -g -O1 \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -Ishim

$(FUZZ_DIR)/pattern_fuzz: fuzz/pattern_fuzz.c shim/pattern.c $(SHIM_HDR)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< shim/pattern.c

$(FUZZ_DIR)/muxrec_fuzz: fuzz/muxrec_fuzz.c shim/muxrec.c shim/muxrec.h
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< shim/muxrec.c

$(FUZZ_DIR)/%_fuzz: fuzz/%_fuzz.c $(UNIT_SRC) $(SHIM_HDR)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(UNIT_SRC)

.PHONY: fuzz fuzz-build
fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))
fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ---- static analysis: cppcheck over the library, the command's helper, the
# test programs and the fuzz targets (findings are suppressed only inline,
# one item each, with the reason beside it), then clang-tidy (.clang-tidy
# says which checks and why) on each library and helper file with the
# build's own flags. Any finding fails.
CPPCHECK  ?= cppcheck
CLANG_TIDY ?= clang-tidy
.PHONY: lint
lint:
	$(CPPCHECK) --enable=warning,style,performance,portability --std=c11 \
	    --error-exitcode=1 --inline-suppr --quiet -D_GNU_SOURCE -I shim \
	    -I tools shim tools tests/progs fuzz
	@set -e; for f in $(SHIM_SRC) $(TOOLS_SRC); do \
	    echo "$(CLANG_TIDY) $$f"; \
	    $(CLANG_TIDY) --quiet $$f -- $(BASEFLAGS) -Ishim -Itools; \
	done

clean:
	rm -rf build

# ---- install: the muxfix command finds its library, probe and doctor
# relative to itself: PKGLIBDIR_REL in scripts/muxfix, rewritten here to the
# path from BINDIR to LIBDIR/muxfix, so DESTDIR, PREFIX and LIBDIR just work
# (the Debian package: LIBDIR=/usr/lib/<multiarch>, debian/rules).
PREFIX   ?= /usr/local
DESTDIR  ?=
LIBDIR   ?= $(PREFIX)/lib
BINDIR   := $(DESTDIR)$(PREFIX)/bin
PKGLIBDIR := $(DESTDIR)$(LIBDIR)/muxfix
PKGLIB_FROM_BIN = $(shell realpath -m --relative-to='$(PREFIX)/bin' '$(LIBDIR)/muxfix')
MAN1DIR  := $(DESTDIR)$(PREFIX)/share/man/man1
MAN7DIR  := $(DESTDIR)$(PREFIX)/share/man/man7
# Shell completion: bash-completion loads completions/NAME on first use
# (it also looks under every XDG_DATA_DIRS entry, /usr/local/share
# included); zsh's compinit reads site-functions (Debian's zsh also
# vendor-completions, where the package puts it).
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions

.PHONY: install uninstall
install: $(LIB) $(PROBE)
	install -d -m 0755 $(BINDIR) $(PKGLIBDIR) $(MAN1DIR) $(MAN7DIR)
	install -m 0755 $(LIB) $(PROBE) $(PKGLIBDIR)/
	install -m 0644 scripts/muxfix-doctor $(PKGLIBDIR)/
	sed 's|^PKGLIBDIR_REL=.*|PKGLIBDIR_REL=$(PKGLIB_FROM_BIN)|' scripts/muxfix >$(BINDIR)/muxfix.new
	chmod 0755 $(BINDIR)/muxfix.new
	mv -f $(BINDIR)/muxfix.new $(BINDIR)/muxfix
	install -m 0755 scripts/muxfix-ssh $(BINDIR)/
	install -m 0644 man/muxfix.1 $(MAN1DIR)/
	ln -sf muxfix.1 $(MAN1DIR)/muxfix-ssh.1
	install -m 0644 man/libmuxfix.7 $(MAN7DIR)/
	install -d -m 0755 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 completion/muxfix.bash $(DESTDIR)$(BASHCOMPDIR)/muxfix
	ln -sf muxfix $(DESTDIR)$(BASHCOMPDIR)/muxfix-ssh
	install -m 0644 completion/_muxfix $(DESTDIR)$(ZSHCOMPDIR)/_muxfix

uninstall:
	rm -f $(BINDIR)/muxfix $(BINDIR)/muxfix-ssh \
	      $(PKGLIBDIR)/libmuxfix.so $(PKGLIBDIR)/muxfix-probe \
	      $(PKGLIBDIR)/muxfix-doctor \
	      $(MAN1DIR)/muxfix.1 $(MAN1DIR)/muxfix-ssh.1 $(MAN7DIR)/libmuxfix.7 \
	      $(DESTDIR)$(BASHCOMPDIR)/muxfix $(DESTDIR)$(BASHCOMPDIR)/muxfix-ssh \
	      $(DESTDIR)$(ZSHCOMPDIR)/_muxfix
	-rmdir $(PKGLIBDIR) 2>/dev/null

# ---- the Debian package: `make deb` copies the tracked files (the work
# tree's versions; every file but build/ and .git outside a git checkout)
# to build/deb/muxfix-VERSION and runs dpkg-buildpackage there (debian/:
# debhelper; the .deb, .buildinfo and .changes land in build/deb/), then
# lintian, when installed, on the result: any error or warning fails.
# Needs dpkg-dev and debhelper (and lintian): apt-get install dpkg-dev
# debhelper lintian.
DEB_OUT := build/deb
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
.PHONY: deb
deb:
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_OUT)/muxfix-$(DEB_VERSION)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z | xargs -0 cp --parents -P -t $(DEB_OUT)/muxfix-$(DEB_VERSION); \
	else \
	    tar -c --exclude=./build --exclude=./.git . | tar -x -C $(DEB_OUT)/muxfix-$(DEB_VERSION); \
	fi
	cd $(DEB_OUT)/muxfix-$(DEB_VERSION) && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
	    dpkg-buildpackage --build=binary --no-sign
	@if command -v lintian >/dev/null; then \
	    echo "lintian $(DEB_OUT)/muxfix_$(DEB_VERSION)_*.changes"; \
	    lintian --fail-on error,warning --info $(DEB_OUT)/muxfix_$(DEB_VERSION)_*.changes; \
	else \
	    echo "make deb: lintian is not installed: the package was not checked"; \
	fi
	@ls -1 $(DEB_OUT)/*.deb

# SPDX-License-Identifier: GPL-2.0
#
# ntvm: build the module, libntvm and the selftests; run them in a VM.
#
#   make                 module (against KDIR), libntvm, selftests
#   make check           lint + the selftest suite on the distro and debug kernels
#   make demo            boot the VM and run the libntvm example; ntvmstat
#                        shows what it laid out
#   make install         DESTDIR=... PREFIX=... LIBDIR=... (headers, library,
#                        pkg-config, man pages)
#   make deb             Debian packages in build/deb/ (ntvm-dkms, libntvm0,
#                        libntvm-dev, ntvm-tools), checked by lintian
#   make check-packages  install them in Debian 12 and 13 roots, build the
#                        module with DKMS, run it in the VM
#   make bench           benchmarks against Linux primitives (build/bench.json;
#                        KERNEL=trixie|newest on Debian 13's kernels)
#   make profile         perf profile of each benchmark (build/profile/)
#   make query-path      VirtualQuery's library path alone, timed in the VM
#   make fuzz            ioctl fuzzing: 1 000 000 calls (distro), 100 000 (debug)
#   make stress          processes x threads of random operations, checked
#   make lint            checkpatch --strict, W=1 and sparse on kmod/
#   make debug-kernel    build (once) the 6.12 KASAN/lockdep/kmemleak kernel
#
# KDIR defaults to Debian's 6.1 headers (installed with apt when missing).

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
MANDIR    ?= $(PREFIX)/share/man
LIBDIR    ?= $(PREFIX)/lib
TOP       := $(abspath .)
O         := $(TOP)/build

# Evaluated when used, after tools/kver has installed what it needs.
KVER       = $(shell $(TOP)/tools/kver)
KDIR      ?= /usr/src/linux-headers-$(KVER)
MODDIR     = $(O)/mod/$(subst /,_,$(patsubst /%,%,$(KDIR)))

CC        ?= gcc
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Wno-unused-parameter
LIB_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden -D_GNU_SOURCE \
	     -I$(TOP)/uapi -I$(TOP)/lib
LIB_SRCS  := $(wildcard lib/*.c)
LIB_OBJS  := $(patsubst lib/%.c,$(O)/lib/%.o,$(LIB_SRCS))

KSFT      := $(O)/ksft
TEST_SRCS := $(filter-out selftests/inject.c,$(wildcard selftests/*.c))
TESTS     := $(patsubst selftests/%.c,$(O)/selftests/%,$(TEST_SRCS))
# Linked against libntvm.so: ntvm_shared, as users link; ntvm_handshake,
# whose ioctl() answers libntvm.so's version handshake.
SHARED_TESTS := $(O)/selftests/ntvm_shared $(O)/selftests/ntvm_handshake
# All the others: static, with libntvm.a and inject.o.
STATIC_TESTS := $(filter-out $(SHARED_TESTS),$(TESTS))
# A test's time limit (the harness's is 30 s): CPU-bound tests with
# threads on the debug kernel, beside another VM on two CPUs, take longer.
TEST_CFLAGS = $(CFLAGS) -Wall -D_GNU_SOURCE -DTEST_TIMEOUT_DEFAULT=120 \
	      -I$(KSFT) -I$(TOP)/uapi \
	      -I$(TOP)/lib -I$(TOP)/selftests
EXAMPLES  := $(O)/examples/demo
# ntvmstat(1): libnl-3 and libnl-genl-3 (tools/install-deps netlink).
NTVMSTAT  := $(O)/tools/ntvmstat

.PHONY: all deps module module-root print-ko-root lib selftests examples \
	install check demo lint debug-kernel clean print-ko bench profile fuzz \
	stress selftests32 ntvmstat deb check-packages query-path

all: module lib selftests examples ntvmstat

deps:
	@tools/install-deps base

module: deps
	@mkdir -p $(MODDIR)/kmod $(MODDIR)/uapi/linux
	@cp -p -u Kbuild $(MODDIR)/
	@cp -p -u kmod/*.c kmod/*.h $(MODDIR)/kmod/
	@cp -p -u uapi/linux/ntvm.h uapi/linux/ntvm_netlink.h $(MODDIR)/uapi/linux/
	$(MAKE) -C $(KDIR) M=$(MODDIR) $(KBUILD_EXTRA) modules

print-ko:
	@echo $(MODDIR)/ntvm.ko

# The module built as a Debian user's DKMS builds it: in a Debian root
# (ROOT, from tools/debian-root) with that release's compiler, against its
# headers for kernel ROOT_KVER, with W=1 (tools/lint reads its warnings).
# The build directory (ROOT_MODDIR, by default one per kernel) is
# bind-mounted at /mnt, and /proc mounted (objtool reads it), in a mount
# namespace of its own: the root is not written.
ROOT_MODDIR ?= $(O)/mod/root-$(ROOT_KVER)

module-root:
	@test -n "$(ROOT)" -a -n "$(ROOT_KVER)" || \
		{ echo "module-root: set ROOT and ROOT_KVER" >&2; exit 2; }
	@mkdir -p $(ROOT_MODDIR)/kmod $(ROOT_MODDIR)/uapi/linux
	@cp -p -u Kbuild $(ROOT_MODDIR)/
	@cp -p -u kmod/*.c kmod/*.h $(ROOT_MODDIR)/kmod/
	@cp -p -u uapi/linux/ntvm.h uapi/linux/ntvm_netlink.h \
		$(ROOT_MODDIR)/uapi/linux/
	unshare -m sh -c 'mount --bind "$$1" "$$2/mnt" && \
		mount -t proc proc "$$2/proc" && \
		exec chroot "$$2" env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 \
		make -C /usr/src/linux-headers-$(ROOT_KVER) M=/mnt W=1 \
		$(KBUILD_EXTRA) modules' sh $(ROOT_MODDIR) $(ROOT)

print-ko-root:
	@echo $(ROOT_MODDIR)/ntvm.ko

lib: $(O)/lib/libntvm.so $(O)/lib/libntvm.a

$(O)/lib/%.o: lib/%.c lib/ntvm.h lib/internal.h uapi/linux/ntvm.h
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(O)/lib/libntvm.so: $(LIB_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libntvm.so.0 -o $@ $^ -lpthread
	ln -sf libntvm.so $(O)/lib/libntvm.so.0

$(O)/lib/libntvm.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The kselftest harness comes from Debian's kernel source, at build time.
$(KSFT)/kselftest_harness.h:
	@tools/install-deps base
	@mkdir -p $(KSFT)
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C $(KSFT) \
		--strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	sed -i 's/^#define TEST_TIMEOUT_DEFAULT 30$$/#ifndef TEST_TIMEOUT_DEFAULT\n&\n#endif/' $@
	@touch $@

selftests: $(TESTS) $(O)/selftests/run-all

# Every test but the shared ones is linked with inject.o, which runs it under
# fault injection when NTVM_FAULTINJ=1 (see selftests/inject.c).
$(O)/selftests/inject.o: selftests/inject.c selftests/inject.h \
		uapi/linux/ntvm.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

$(STATIC_TESTS): $(O)/selftests/%: selftests/%.c $(wildcard selftests/*.h) \
		$(KSFT)/kselftest_harness.h $(O)/selftests/inject.o \
		$(O)/lib/libntvm.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -static -o $@ $< $(O)/selftests/inject.o \
		$(O)/lib/libntvm.a -lpthread

# The reader of the query map is compiled into its own test.
$(O)/selftests/ntvm_query_reader: lib/query_map.c

# These are linked as users link: against libntvm.so.0 (in /usr/lib in the
# VM, which tools/vm-run fills with the libraries it needs).
$(SHARED_TESTS): $(O)/selftests/%: selftests/%.c $(wildcard selftests/*.h) \
		$(KSFT)/kselftest_harness.h $(O)/lib/libntvm.so
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< -L$(O)/lib -lntvm -lpthread

# The ABI seen from a 32-bit process (needs gcc-multilib).
selftests32: $(O)/selftests32/ntvm_compat32

$(O)/selftests32/%: selftests32/%.c $(KSFT)/kselftest_harness.h \
		uapi/linux/ntvm.h
	@tools/install-deps compat32
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wall -m32 -static -D_GNU_SOURCE -I$(KSFT) \
		-I$(TOP)/uapi -o $@ $<

$(O)/selftests/run-all: selftests/run-all
	@mkdir -p $(@D)
	cp $< $@

examples: $(EXAMPLES)

ntvmstat: $(NTVMSTAT)

$(NTVMSTAT): tools/ntvmstat/ntvmstat.c uapi/linux/ntvm.h \
		uapi/linux/ntvm_netlink.h
	@tools/install-deps netlink
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(WARN) -D_GNU_SOURCE \
		-I$(TOP)/uapi $$(pkg-config --cflags libnl-genl-3.0) -o $@ $< \
		$$(pkg-config --libs libnl-genl-3.0)

$(O)/examples/%: Documentation/examples/%.c $(O)/lib/libntvm.so
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -I$(TOP)/lib -o $@ $< -L$(O)/lib -lntvm

install: lib ntvmstat
	install -d $(DESTDIR)$(PREFIX)/include/linux $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man4 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(PREFIX)/bin
	install -m 644 lib/ntvm.h $(DESTDIR)$(PREFIX)/include/ntvm.h
	install -m 644 uapi/linux/ntvm.h $(DESTDIR)$(PREFIX)/include/linux/ntvm.h
	install -m 644 uapi/linux/ntvm_netlink.h \
		$(DESTDIR)$(PREFIX)/include/linux/ntvm_netlink.h
	install -m 755 $(NTVMSTAT) $(DESTDIR)$(PREFIX)/bin/ntvmstat
	install -m 644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 755 $(O)/lib/libntvm.so $(DESTDIR)$(LIBDIR)/libntvm.so.0
	ln -sf libntvm.so.0 $(DESTDIR)$(LIBDIR)/libntvm.so
	install -m 644 $(O)/lib/libntvm.a $(DESTDIR)$(LIBDIR)/libntvm.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|^libdir=.*|libdir=$(LIBDIR)|' \
		lib/ntvm.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/ntvm.pc
	install -m 644 man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 man/man4/*.4 $(DESTDIR)$(MANDIR)/man4/
	install -m 644 man/man7/*.7 $(DESTDIR)$(MANDIR)/man7/
	$(if $(DESTDIR),,-ldconfig)

$(O)/bench/ntvm_bench: bench/ntvm_bench.c bench/bench_time.h \
		$(O)/lib/libntvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wall -static -I$(TOP)/lib -I$(TOP)/uapi -o $@ $< \
		$(O)/lib/libntvm.a -lpthread

bench: all
	@tools/bench

# The reader of the query map is compiled into it (bench/ntvm_query_path.c).
$(O)/bench/ntvm_query_path: bench/ntvm_query_path.c bench/bench_time.h \
		lib/query_map.c $(O)/lib/libntvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wall -static -D_GNU_SOURCE -I$(TOP)/lib \
		-I$(TOP)/uapi -o $@ $< $(O)/lib/libntvm.a -lpthread

query-path: all $(O)/bench/ntvm_query_path
	@tools/vm-run --quiet --smp 2 --mem 2048 \
		--add $(O)/bench/ntvm_query_path:/usr/bin/ntvm-query-path \
		-- sh -c 'for i in 1 2 3; do ntvm-query-path; done'

# Where each benchmark's time goes: perf in the VM (build/profile/).
profile: all
	@tools/bench-profile

FUZZ_SEED ?= $(shell date +%s)
fuzz: all
	tools/vm-run --quiet --kernel distro --smp 2 -- \
		/selftests/ntvm_fuzz 1000000 $(FUZZ_SEED)
	tools/vm-run --quiet --kernel debug --smp 2 --mem 2048 -- \
		/selftests/ntvm_fuzz 100000 $(FUZZ_SEED)

STRESS_SEED ?= 1
stress: all
	tools/vm-run --quiet --kernel distro --smp 2 -- \
		/selftests/ntvm_stress 4 4 30 $(STRESS_SEED)
	tools/vm-run --quiet --kernel debug --smp 2 --mem 2048 -- \
		/selftests/ntvm_stress 2 2 20 $(STRESS_SEED)

lint:
	@tools/lint

debug-kernel:
	@tools/build-debug-kernel

deb:
	@tools/make-deb

check-packages: deb
	@tools/check-packages

check:
	@tools/check

demo: all
	tools/vm-run --kernel distro \
		--add $(O)/examples/demo:/usr/bin/ntvm-demo -- \
		ntvm-demo --ntvmstat /usr/bin/ntvmstat

clean:
	rm -rf $(O)

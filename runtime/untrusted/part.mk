# runtime/untrusted: $(O)/scone-starter, the untrusted half of every scone
# binary (host gcc + glibc, static so the final binary runs anywhere;
# --build-id names the build; scone-gcc appends the scone sections after its
# bytes without touching its segments, so strip keeps it working;
# stripped, since every scone binary carries it).
# The kernel module's user library (kmod/lib) is compiled in: sthreads sleep
# in scone.ko when /dev/scone exists. hostile.c is empty here; the
# test-only target $(O)/scone-starter-hostile builds the same sources with
# -DSCONE_HOSTILE (tests/async), and is never part of TARGETS.
KMOD_LIB := $(TOP)../kmod/lib
STARTER_SRC := $(wildcard $(TOP)untrusted/*.c) $(wildcard $(TOP)untrusted/*.S)
STARTER_OBJS := $(patsubst $(TOP)untrusted/%,$(O)/untrusted/%.o,$(STARTER_SRC)) \
	$(O)/untrusted/scone_kmod_user.c.o
STARTER_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -fPIE -pthread -I$(TOP)include -I$(KMOD_LIB)

include $(wildcard $(TOP)untrusted/hw/part.mk)

TARGETS += $(O)/scone-starter

$(O)/scone-starter: $(STARTER_OBJS) $(O)/libsgxcrypto.a
	$(CC) -static -s -pthread -Wl,--build-id -o $@.tmp $(STARTER_OBJS) $(O)/libsgxcrypto.a && mv $@.tmp $@

HOSTILE_OBJS := $(patsubst $(O)/untrusted/%,$(O)/untrusted-hostile/%,$(filter $(O)/untrusted/%,$(STARTER_OBJS)))
$(O)/scone-starter-hostile: $(HOSTILE_OBJS) $(O)/libsgxcrypto.a
	$(CC) -static -pthread -Wl,--build-id -o $@.tmp $(HOSTILE_OBJS) $(O)/libsgxcrypto.a && mv $@.tmp $@

$(O)/untrusted-hostile/%.c.o: $(TOP)untrusted/%.c
	@mkdir -p $(dir $@)
	$(CC) $(STARTER_CFLAGS) -DSCONE_HOSTILE -c $< -o $@

$(O)/untrusted-hostile/scone_kmod_user.c.o: $(KMOD_LIB)/scone_kmod_user.c
	@mkdir -p $(dir $@)
	$(CC) $(STARTER_CFLAGS) -c $< -o $@

$(O)/untrusted-hostile/%.S.o: $(TOP)untrusted/%.S
	@mkdir -p $(dir $@)
	$(CC) $(STARTER_CFLAGS) -c $< -o $@

$(O)/untrusted/scone_kmod_user.c.o: $(KMOD_LIB)/scone_kmod_user.c
	@mkdir -p $(dir $@)
	$(CC) $(STARTER_CFLAGS) -MMD -MP -c $< -o $@

$(O)/untrusted/%.c.o: $(TOP)untrusted/%.c
	@mkdir -p $(dir $@)
	$(CC) $(STARTER_CFLAGS) -MMD -MP -c $< -o $@

$(O)/untrusted/%.S.o: $(TOP)untrusted/%.S
	@mkdir -p $(dir $@)
	$(CC) $(STARTER_CFLAGS) -c $< -o $@

-include $(patsubst %.o,%.d,$(filter %.c.o,$(STARTER_OBJS)))

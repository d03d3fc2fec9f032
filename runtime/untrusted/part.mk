# runtime/untrusted: $(O)/scone-starter, the untrusted half of every scone
# binary (host gcc + glibc, static so the final binary runs anywhere;
# --build-id gives it the PT_NOTE that lief needs to add .note.scone;
# stripped, since every scone binary carries it).
STARTER_SRC := $(wildcard $(TOP)untrusted/*.c) $(wildcard $(TOP)untrusted/*.S)
STARTER_OBJS := $(patsubst $(TOP)untrusted/%,$(O)/untrusted/%.o,$(STARTER_SRC))
STARTER_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -fPIE -I$(TOP)include

include $(wildcard $(TOP)untrusted/hw/part.mk)

TARGETS += $(O)/scone-starter

$(O)/scone-starter: $(STARTER_OBJS) $(O)/libsgxcrypto.a
	$(CC) -static -s -Wl,--build-id -o $@.tmp $(STARTER_OBJS) $(O)/libsgxcrypto.a && mv $@.tmp $@

$(O)/untrusted/%.c.o: $(TOP)untrusted/%.c
	@mkdir -p $(dir $@)
	$(CC) $(STARTER_CFLAGS) -MMD -MP -c $< -o $@

$(O)/untrusted/%.S.o: $(TOP)untrusted/%.S
	@mkdir -p $(dir $@)
	$(CC) $(STARTER_CFLAGS) -c $< -o $@

-include $(patsubst %.o,%.d,$(filter %.c.o,$(STARTER_OBJS)))

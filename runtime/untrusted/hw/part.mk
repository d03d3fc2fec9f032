# The HW backend, linked into the starter. runtime/Makefile includes only
# first-level parts, so runtime/untrusted/part.mk includes this file before
# its starter rule and links $(STARTER_OBJS) with $(O)/libsgxcrypto.a.
HOSTCC ?= gcc
HW_SRC := $(wildcard $(TOP)untrusted/hw/*.c) $(wildcard $(TOP)untrusted/hw/*.S)
HW_OBJ := $(patsubst $(TOP)untrusted/hw/%,$(O)/untrusted/hw/%.o,$(HW_SRC))
HW_CFLAGS := -O2 -std=gnu11 -Wall -Wextra -fPIE

STARTER_OBJS += $(HW_OBJ)

$(filter %.c.o,$(HW_OBJ)): $(O)/untrusted/hw/%.c.o: $(TOP)untrusted/hw/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HW_CFLAGS) -MMD -MP -c $< -o $@

$(filter %.S.o,$(HW_OBJ)): $(O)/untrusted/hw/%.S.o: $(TOP)untrusted/hw/%.S
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HW_CFLAGS) -c $< -o $@

-include $(HW_OBJ:.o=.d)

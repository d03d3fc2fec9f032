# runtime/trusted: the enclave runtime, $(O)/libscone-enclave.a. Built with
# the patched musl's headers; code here runs before relocation and TLS, so no
# stack protector, no builtins that may call out, no vector registers (the
# hook ABI promises callers their XMM state).
TRUSTED_SRC := $(wildcard $(TOP)trusted/*.c) $(wildcard $(TOP)trusted/*.S)
TRUSTED_OBJ := $(patsubst $(TOP)trusted/%,$(O)/trusted/%.o,$(TRUSTED_SRC))
TRUSTED_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -fPIE -fvisibility=hidden \
	-fno-stack-protector -ffreestanding -fno-plt -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -nostdinc -isystem $(MUSL)/include \
	-isystem $(shell $(CC) -print-file-name=include) -I$(TOP)include

TARGETS += $(O)/libscone-enclave.a

$(O)/libscone-enclave.a: $(TRUSTED_OBJ)
	rm -f $@.tmp && ar rcs $@.tmp $^ && mv $@.tmp $@

$(O)/trusted/%.c.o: $(TOP)trusted/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TRUSTED_CFLAGS) -MMD -MP -c $< -o $@

$(O)/trusted/%.S.o: $(TOP)trusted/%.S
	@mkdir -p $(dir $@)
	$(CC) $(TRUSTED_CFLAGS) -MMD -MP -c $< -o $@

-include $(TRUSTED_OBJ:.o=.d)


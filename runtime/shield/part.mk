# runtime/shield: the shield layer (DESIGN.md §8) — its one door
# (shield.c) and the file-system shield's in-runtime part (fs/*_rt.c,
# fs/ephemeral.c) — linked into $(O)/libscone-enclave.a with the trusted
# runtime's flags, with the format library (fs/sfs_*.c) and the network
# shield (net/, TLS through weak references too) and the console shield
# (console/, weak references too). fs/encrypted.c
# needs the crypto object (crypto/, built on its own): the driver links both
# only for a policy with encrypted regions, and shield.c reaches it through
# weak references.
SHIELD_SRC := $(wildcard $(TOP)shield/*.c) $(TOP)shield/fs/ephemeral.c \
	$(TOP)shield/fs/encrypted.c $(TOP)shield/fs/veccall.S \
	$(TOP)shield/fs/sfs_file.c $(TOP)shield/fs/sfs_volume.c \
	$(wildcard $(TOP)shield/cas/*.c) \
	$(wildcard $(TOP)shield/net/*.c) \
	$(wildcard $(TOP)shield/console/*.c)
SHIELD_OBJ := $(patsubst $(TOP)shield/%,$(O)/shield/%.o,$(SHIELD_SRC))
SHIELD_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -fPIE -fvisibility=hidden \
	-fno-stack-protector -ffreestanding -fno-plt -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -nostdinc -isystem $(MUSL)/include \
	-isystem $(shell $(CC) -print-file-name=include) -I$(TOP)include -I$(TOP)trusted \
	-I$(TOP)shield

# One archive with the trusted runtime: dispatch.c calls the door.
$(O)/libscone-enclave.a: $(SHIELD_OBJ)

$(O)/shield/%.c.o: $(TOP)shield/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SHIELD_CFLAGS) -MMD -MP -c $< -o $@

$(O)/shield/%.S.o: $(TOP)shield/%.S
	@mkdir -p $(dir $@)
	$(CC) $(SHIELD_CFLAGS) -MMD -MP -c $< -o $@

-include $(SHIELD_OBJ:.o=.d)

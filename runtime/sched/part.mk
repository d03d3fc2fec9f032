# runtime/sched: the M:N scheduler, $(O)/libscone-sched.a (issue 5). Same
# constraints as runtime/trusted (it runs between lthreads, where FS is
# whichever lthread's ran last): no stack protector, no TLS, no vector
# registers in C; ctx.S saves the vector state itself.
SCHED_SRC := $(wildcard $(TOP)sched/*.c) $(wildcard $(TOP)sched/*.S)
SCHED_OBJ := $(patsubst $(TOP)sched/%,$(O)/sched/%.o,$(SCHED_SRC))
SCHED_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -fPIE -fvisibility=hidden \
	-fno-stack-protector -ffreestanding -fno-plt -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -nostdinc -isystem $(MUSL)/include \
	-isystem $(shell $(CC) -print-file-name=include) -I$(TOP)include -I$(TOP)trusted

TARGETS += $(O)/libscone-sched.a

$(O)/libscone-sched.a: $(SCHED_OBJ)
	rm -f $@.tmp && ar rcs $@.tmp $^ && mv $@.tmp $@

$(O)/sched/%.c.o: $(TOP)sched/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SCHED_CFLAGS) -MMD -MP -c $< -o $@

$(O)/sched/%.S.o: $(TOP)sched/%.S
	@mkdir -p $(dir $@)
	$(CC) $(SCHED_CFLAGS) -MMD -MP -c $< -o $@

-include $(SCHED_OBJ:.o=.d)

# libscone-native.a: the native synchronous syscall hook (SCONE-sync).
# Built against the patched musl's headers; names.h is generated from musl's
# own syscall table so that there is one source of syscall numbers.
NATIVE_OBJ := $(O)/native/hook.o $(O)/native/report.o
NATIVE_CFLAGS := -O2 -std=gnu11 -Wall -Wextra -fPIC -ffreestanding \
	-fno-stack-protector -fno-builtin -nostdinc -isystem $(MUSL)/include \
	-I$(TOP)include -I$(O)/native

TARGETS += $(O)/libscone-native.a

$(O)/libscone-native.a: $(NATIVE_OBJ)
	rm -f $@.tmp && ar rcs $@.tmp $^ && mv $@.tmp $@

$(O)/native/names.h: $(MUSL)/include/bits/syscall.h $(TOP)native/part.mk
	@mkdir -p $(dir $@)
	{ echo '/* generated from musl bits/syscall.h by runtime/native/part.mk */'; \
	  echo 'static const char *const scone_syscall_names[] = {'; \
	  sed -n 's/^#define __NR_\([a-z0-9_]*\)[[:space:]]*\([0-9][0-9]*\)$$/\t[\2] = "\1",/p' $<; \
	  echo '};'; } > $@.tmp && mv $@.tmp $@

$(O)/native/report.o: $(TOP)native/report.c $(O)/native/names.h $(TOP)include/scone/hook.h
	$(CC) $(NATIVE_CFLAGS) -c $< -o $@

$(O)/native/hook.o: $(TOP)native/hook.S $(TOP)include/scone/hook.h
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -c $< -o $@

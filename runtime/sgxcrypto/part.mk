# libsgxcrypto.a: SHA-256, MRENCLAVE records and EINIT checks for the starter
# (host code: built with the host compiler and libc, no crypto library;
# HOSTCC, not CC, so a trusted-side CC never reaches it).
HOSTCC ?= gcc
SGXCRYPTO_SRC := $(wildcard $(TOP)sgxcrypto/*.c)
SGXCRYPTO_OBJ := $(patsubst $(TOP)sgxcrypto/%.c,$(O)/sgxcrypto/%.o,$(SGXCRYPTO_SRC))
SGXCRYPTO_CFLAGS := -O2 -std=gnu11 -Wall -Wextra -fPIC

TARGETS += $(O)/libsgxcrypto.a

$(O)/libsgxcrypto.a: $(SGXCRYPTO_OBJ)
	rm -f $@.tmp && ar rcs $@.tmp $^ && mv $@.tmp $@

$(SGXCRYPTO_OBJ): $(O)/sgxcrypto/%.o: $(TOP)sgxcrypto/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(SGXCRYPTO_CFLAGS) -MMD -MP -c $< -o $@

-include $(SGXCRYPTO_OBJ:.o=.d)

/*
 * The first START relocates the image it runs in. The outcome is kept for
 * __scone_start, which can report it only once it has host memory for the
 * message.
 */
#include "internal.h"
#include "reloc.h"

extern const Elf64_Dyn _DYNAMIC[] SCONE_HIDDEN;
extern char __scone_rw_start[] SCONE_HIDDEN;
extern char __scone_rw_end[] SCONE_HIDDEN;

int __scone_reloc_status SCONE_HIDDEN;

void __scone_relocate_self(uintptr_t base) SCONE_HIDDEN;
void __scone_relocate_self(uintptr_t base)
{
	__scone_reloc_status = __scone_relocate(base, _DYNAMIC,
		(uintptr_t)__scone_rw_start - base, (uintptr_t)__scone_rw_end - base);
}

#include "debugger.h"

/* used: nothing in the starter reads it; a debugger does. */
__attribute__((section("scone_debug"), used, aligned(32)))
volatile struct scone_debug_info scone_debug_record = {
	.magic = SCONE_DEBUG_MAGIC,
	.version = SCONE_DEBUG_VERSION,
};

void scone_debug_register(uint64_t base, uint64_t size)
{
	scone_debug_record.size = size;
	scone_debug_record.base = base;
}

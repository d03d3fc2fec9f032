#ifndef SCONE_UNTRUSTED_DEBUGGER_H
#define SCONE_UNTRUSTED_DEBUGGER_H

#include <stdint.h>

/*
 * Where the enclave was loaded, for debuggers. The record sits in its own
 * section, "scone_debug", of the starter (a static, non-PIE executable:
 * its address is the section's sh_addr), so a debugger reads it from the
 * stopped process without symbols (the starter is stripped). scone-gdb's
 * script (scone_cc/gdb/scone_gdb.py) then loads the enclave image's
 * symbols and DWARF at BASE. ABI — do not reorder.
 */
#define SCONE_DEBUG_MAGIC 0x6775626465656e6fULL   /* "oneedbug" */
#define SCONE_DEBUG_VERSION 1

struct scone_debug_info {
	uint64_t magic;     /* SCONE_DEBUG_MAGIC */
	uint64_t version;   /* SCONE_DEBUG_VERSION */
	uint64_t base;      /* enclave base address, 0 until loaded */
	uint64_t size;      /* enclave size in bytes */
};
_Static_assert(sizeof(struct scone_debug_info) == 32, "scone_debug_info ABI");

/* Record BASE and SIZE once the enclave's pages are in place. */
void scone_debug_register(uint64_t base, uint64_t size);

#endif

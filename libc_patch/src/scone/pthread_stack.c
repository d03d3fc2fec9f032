/* For the runtime's high-water marks (runtime/trusted/hwm.c): where the
 * stack of the thread whose thread pointer is tp begins. For a stack musl
 * mapped, its mapping's base (the guard pages too: in an enclave they
 * cannot be made inaccessible, so a thread that outgrows its stack writes
 * there and is seen); for a stack the program gave, the attribute's
 * address; 0 if tp does not look like a thread musl started. */
#include "pthread_impl.h"

hidden uintptr_t __scone_pthread_stack_lo(uintptr_t tp)
{
	struct pthread *t = (struct pthread *)tp;
	if (!t || t->self != t || !t->stack || !t->stack_size)
		return 0;
	if (t->map_base && (void *)t->map_base < t->stack)
		return (uintptr_t)t->map_base;
	return (uintptr_t)t->stack - t->stack_size;
}

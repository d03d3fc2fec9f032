/*
 * scone: musl's C choke point. Every __syscallN calls the hook
 * __scone_syscall instead of executing `syscall`, so a native process can
 * count/trace its calls and an enclave can serve them without leaving.
 *
 * The hook uses the syscall instruction's own register convention (number in
 * RAX, arguments in RDI, RSI, RDX, R10, R8, R9, result in RAX, clobbers RCX,
 * R11 and flags), so the asm constraints below are upstream's unchanged.
 * The callers here are leaf-like inline asm: the compiler may keep live data
 * in the 128-byte red zone below RSP, which a `call` would overwrite, hence
 * the step over it. The hook must not assume RSP is 16-byte aligned.
 */
#define __SYSCALL_LL_E(x) (x)
#define __SYSCALL_LL_O(x) (x)

__asm__(".hidden __scone_syscall");

#define __SCONE_CALL \
	"lea -128(%%rsp),%%rsp\n\tcall __scone_syscall\n\tlea 128(%%rsp),%%rsp"

static __inline long __syscall0(long n)
{
	unsigned long ret;
	__asm__ __volatile__ (__SCONE_CALL : "=a"(ret) : "a"(n) : "rcx", "r11", "memory");
	return ret;
}

static __inline long __syscall1(long n, long a1)
{
	unsigned long ret;
	__asm__ __volatile__ (__SCONE_CALL : "=a"(ret) : "a"(n), "D"(a1) : "rcx", "r11", "memory");
	return ret;
}

static __inline long __syscall2(long n, long a1, long a2)
{
	unsigned long ret;
	__asm__ __volatile__ (__SCONE_CALL : "=a"(ret) : "a"(n), "D"(a1), "S"(a2)
						  : "rcx", "r11", "memory");
	return ret;
}

static __inline long __syscall3(long n, long a1, long a2, long a3)
{
	unsigned long ret;
	__asm__ __volatile__ (__SCONE_CALL : "=a"(ret) : "a"(n), "D"(a1), "S"(a2),
						  "d"(a3) : "rcx", "r11", "memory");
	return ret;
}

static __inline long __syscall4(long n, long a1, long a2, long a3, long a4)
{
	unsigned long ret;
	register long r10 __asm__("r10") = a4;
	__asm__ __volatile__ (__SCONE_CALL : "=a"(ret) : "a"(n), "D"(a1), "S"(a2),
						  "d"(a3), "r"(r10): "rcx", "r11", "memory");
	return ret;
}

static __inline long __syscall5(long n, long a1, long a2, long a3, long a4, long a5)
{
	unsigned long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	__asm__ __volatile__ (__SCONE_CALL : "=a"(ret) : "a"(n), "D"(a1), "S"(a2),
						  "d"(a3), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
	return ret;
}

static __inline long __syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	unsigned long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	__asm__ __volatile__ (__SCONE_CALL : "=a"(ret) : "a"(n), "D"(a1), "S"(a2),
						  "d"(a3), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	return ret;
}

/*
 * No VDSO_* defines: with them musl would call into the vDSO for
 * clock_gettime/getcpu, bypassing the hook (and the vDSO is not mapped
 * inside an enclave).
 */

#define IPC_64 0

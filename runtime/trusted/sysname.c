/* Names of the system calls the runtime logs about (x86_64 numbers). */
#include "internal.h"

const char *__scone_sysname(long nr)
{
	switch (nr) {
	case 56: return "clone";
	case 57: return "fork";
	case 58: return "vfork";
	case 59: return "execve";
	case 101: return "ptrace";
	case 135: return "personality";
	case 153: return "vhangup";
	case 155: return "pivot_root";
	case 169: return "reboot";
	case 175: return "init_module";
	case 176: return "delete_module";
	case 246: return "kexec_load";
	case 310: return "process_vm_readv";
	case 311: return "process_vm_writev";
	case 313: return "finit_module";
	case 322: return "execveat";
	case 435: return "clone3";
	default: return "unknown";
	}
}

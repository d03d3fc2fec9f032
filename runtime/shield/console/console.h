/*
 * The console shield (DESIGN.md §8): what the program writes to fd 1 and 2
 * and reads from fd 0 is framed and authenticated-encrypted with a session
 * key the host never learns (FORMAT.md in this folder). Reached from the
 * shield layer's door through weak references: console.c is linked only
 * into enclaves whose signed policy asks for it (scone-gcc --scone-console
 * names __scone_console_call).
 */
#ifndef SCONE_SHIELD_CONSOLE_H
#define SCONE_SHIELD_CONSOLE_H

#include "../shield.h"

/* The per-fd flag's value for a descriptor of a console stream (1, 2 the
 * file-system shield's, 3 the network shield's). */
#define SCONE_SHIELD_FD_CONSOLE 4

/* Nonzero once START found SCONE_CONFIG_CONSOLE (defined in shield.c). */
extern int __scone_console_on SCONE_HIDDEN;

/* START: take the client's public key from the environment (one line and
 * exit when it is missing or malformed), own fds 0, 1 and 2. */
void __scone_console_init(char **envp) SCONE_HIDDEN __attribute__((weak));

/* The door's console half: *handled = 1 when the call was on a console
 * stream's descriptor (served, refused, or passed on to the host here). */
long __scone_console_call(long nr, const long a[6], int *handled) SCONE_HIDDEN __attribute__((weak));

/* exit: send what is pending and each output stream's end frame. */
void __scone_console_exit(void) SCONE_HIDDEN __attribute__((weak));

#endif

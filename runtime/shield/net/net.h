/*
 * The network shield (DESIGN.md §8): TLS terminated inside the enclave per
 * endpoint policy (enclave_abi.h "network policy"), behind the shield
 * layer's one door. net.c holds the policy, the sockets the shield owns and
 * the calls on them; readiness (epoll, poll) is answered from what the
 * engine has buffered inside.
 */
#ifndef SCONE_SHIELD_NET_H
#define SCONE_SHIELD_NET_H

#include "../shield.h"

/* The per-fd flag's value for a socket the network shield owns (the file
 * system shield's descriptors hold 1, ephemeral, and 2, encrypted). */
#define SCONE_SHIELD_FD_NET 3

/* Nonzero once START found a network policy (defined in shield.c, so that
 * it exists in enclaves linked without the network shield). */
extern int __scone_net_on SCONE_HIDDEN;

/* net.c is linked only into enclaves whose signed policy has endpoints
 * (scone-gcc names __scone_net_call): shield.c reaches it through weak
 * references. */

/* START: the policy block at p (right after the file-system policy). */
void __scone_net_init(const uint8_t *p, const uint8_t *end) SCONE_HIDDEN __attribute__((weak));

/* The door's network half: *handled = 1 when the shield served call nr. */
long __scone_net_call(long nr, const long a[6], int *handled) SCONE_HIDDEN __attribute__((weak));

#endif

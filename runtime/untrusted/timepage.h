/* The time page (enclave_abi.h scone_time_page): kept current by a host
 * thread, read inside the enclave without an exit. */
#ifndef SCONE_TIMEPAGE_H
#define SCONE_TIMEPAGE_H

#include <stddef.h>

#include <scone/enclave_abi.h>

/* Map the page, write a first sample, start the thread that updates it
 * every SCONE_TIME_TICK microseconds (default 1000). NULL and err on
 * failure. */
struct scone_time_page *scone_time_start(char *err, size_t errlen);

#endif

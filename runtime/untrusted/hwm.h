/* The high-water-mark file (SCONE_HWM_FILE): hwm.c says when it is written. */
#ifndef SCONE_HWM_H
#define SCONE_HWM_H

#include <stdint.h>

#include <scone/enclave_abi.h>

/* The block to pass the enclave (start args reserved[SCONE_START_HWM]);
 * with SCONE_HWM_FILE set, also catch the signals that would end the
 * process, so that the file is written first. */
struct scone_hwm *scone_hwm_init(const char *exe_path);
/* The enclave's identity, for the file. */
void scone_hwm_mrenclave(const uint8_t mr[32]);
/* Write the file once (later calls do nothing): end is "exit", "abort",
 * "signal" or "fault" with its status or signal number; overflow_thread is
 * the enclave thread whose stack overflowed, or -1. Async-signal-safe. */
void scone_hwm_write(const char *end, long value, int overflow_thread);
/* signals.c: sig's default action is back; 1 if this file's handler took
 * its place (it writes the file, then ends the process by sig). */
int scone_hwm_rearm(int sig);

#endif

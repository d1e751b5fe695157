/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Adopt stage: TCP connections that were open before the programs
 * attached (their accept or connect was never seen) are found in /proc and
 * tracked from their next message on. See adopt.c.
 */
#ifndef EBT_ADOPT_H
#define EBT_ADOPT_H

#include "loader.h"
#include "tcp_table.h"

/*
 * Enters the established TCP connections of every process the kernel's
 * filters select into BPF's connection map, and hands fn (the ring-buffer
 * record handler) an EBT_EV_CONN_OPEN record for each, as if BPF had seen
 * it open now. Call after the programs attached (their closes are then
 * seen). proc: "/proc". Returns how many were adopted.
 */
unsigned ebt_adopt_scan(struct ebt_bpf *b, const char *proc, ebt_event_fn fn,
			void *ctx);

#endif /* EBT_ADOPT_H */

/* Private to tdx/: the GetQuote shared buffer, shared by the synchronous handler
 * (launch_quote.c) and the worker-thread one (launch_quote_async.c). */
#ifndef VIGIL_TDX_QUOTE_PRIV_H
#define VIGIL_TDX_QUOTE_PRIV_H

#include "common/linux_kvm_cc.h"
#include "tdx/tdx.h"

/* GHCI TDG.VP.VMCALL<GetQuote>: the shared buffer must be 4 KiB aligned, hold at least
 * the header and at most 4 MiB, and lie in guest RAM; else NULL with the TDVMCALL
 * failing (INVALID_OPERAND). Otherwise the TDVMCALL succeeds and *hdr_ok says whether
 * the header asks for one TDREPORT (version 1, in_len 1024, fitting the buffer). */
uint8_t *tdx_get_quote_buffer(struct kvm_cc_exit_tdx *t, tdx_gpa_fn gpa_fn, void *gpa_ctx, uint64_t *size,
			      bool *hdr_ok);

#endif

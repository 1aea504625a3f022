/*
 * vtpm/: the virtual TPM 2.0. The one public header of this directory.
 * Prefix: vtpm_.
 *
 * Sections (each owned by one line of work; keep them apart):
 *   1. TCG crypto-agile event log: parser and replay (also replays TDX CC
 *      event logs for the verifier)
 *   2. Event log writer
 *   3. TPM instance (libtpms), encrypted state, EK provisioning
 *   4. CRB interface model
 *   5. swtpm-compatible socket server
 */
#ifndef VIGIL_VTPM_H
#define VIGIL_VTPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "firmware/guest_abi.h"

/* ========================== 1. Event log: parser and replay =============== */
/*
 * TCG PC Client Platform Firmware Profile event logs (sections 10.2.1 and
 * 10.2.2): the SHA1-format first event (TCG_PCClientPCREvent) carrying the
 * "Spec ID Event03" header, followed by crypto-agile TCG_PCR_EVENT2 records.
 * Old SHA1-only logs (no Spec ID event) are accepted too. The same format is
 * used by TDX CC event logs (CCEL), whose "PCR index" is the CC MR index.
 *
 * Trailing padding (all 0x00 or all 0xFF bytes, as in fixed-size CCEL
 * tables) ends the log. Digests of algorithms we do not know are sized from
 * the Spec ID header (1..1024 bytes). Every length is bounds checked;
 * parsing never reads outside (data, len).
 *
 * Replay: registers start at zero of the algorithm's size; every event
 * except EV_NO_ACTION is extended (reg = H(reg || digest)). A StartupLocality
 * EV_NO_ACTION event (PC Client PFP 10.4.5.3) sets the initial value of
 * register 0 to 0...0||locality, as a TPM started at that locality does
 * (Debian's tpm2_eventlog 5.4 instead extends the event's zero digest into
 * PCR 0; later tpm2-tools releases follow the TPM).
 *
 * TDX (CCEL) callers: CC MR index n (1..4) is RTMR n-1. Either replay 5
 * registers and use regs[1..4], or call
 *   vtpm_evlog_replay_range(log, VTPM_ALG_SHA384, 1, rtmr, 4, NULL, err)
 * which puts MR index 1 into rtmr[0] ... MR index 4 into rtmr[3].
 */
#define VTPM_ALG_SHA1 0x0004
#define VTPM_ALG_SHA256 0x000B
#define VTPM_ALG_SHA384 0x000C
#define VTPM_ALG_SHA512 0x000D
#define VTPM_ALG_SM3_256 0x0012

#define VTPM_EV_POST_CODE 0x00000001u
#define VTPM_EV_NO_ACTION 0x00000003u
#define VTPM_EV_SEPARATOR 0x00000004u
#define VTPM_EV_ACTION 0x00000005u
#define VTPM_EV_EVENT_TAG 0x00000006u
#define VTPM_EV_S_CRTM_VERSION 0x00000008u
#define VTPM_EV_IPL 0x0000000Du
#define VTPM_EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define VTPM_EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define VTPM_EV_EFI_ACTION 0x80000007u
#define VTPM_EV_EFI_PLATFORM_FIRMWARE_BLOB 0x80000008u

#define VTPM_EVLOG_MAX_ALGS 8   /* algorithms in one Spec ID header */
#define VTPM_EVLOG_MAX_EVENTS (1u << 20)

/* Digest size of a TPM hash algorithm id; 0 when unknown. */
size_t vtpm_alg_digest_size(uint16_t alg);
/* "sha1", "sha256", "sha384", "sha512", "sm3_256" or NULL. */
const char *vtpm_alg_name(uint16_t alg);

struct vtpm_evlog_digest {
	uint16_t alg;
	uint16_t size;
	const uint8_t *bytes; /* view into the log's own copy of the data */
};

struct vtpm_evlog_event {
	uint32_t index;       /* PCR index, or CC MR index for CCEL */
	uint32_t type;        /* EV_* */
	size_t ndigests;
	struct vtpm_evlog_digest digests[VTPM_EVLOG_MAX_ALGS];
	const uint8_t *data;  /* event data, view (data_len bytes) */
	uint32_t data_len;
	size_t offset;        /* byte offset of the record in the log */
};

struct vtpm_evlog_alg {
	uint16_t alg;
	uint16_t size;
};

struct vtpm_evlog {
	uint8_t *raw;         /* owned copy of the input; views point here */
	size_t raw_len;
	bool crypto_agile;    /* false: SHA1-only legacy log */
	/* Spec ID Event03 header (crypto_agile only) */
	uint32_t platform_class;
	uint8_t spec_major, spec_minor, spec_errata, uintn_size;
	size_t nalgs;
	struct vtpm_evlog_alg algs[VTPM_EVLOG_MAX_ALGS];
	const uint8_t *vendor_info;
	uint8_t vendor_info_len;
	bool has_startup_locality;
	uint8_t startup_locality;
	struct vtpm_evlog_event *events; /* events[0] is the header event */
	size_t nevents;
	size_t used_len;      /* bytes consumed before padding */
};

/* Parses a whole log (copies data). 0 or -EBADMSG/-ENOMEM with err set. */
int vtpm_evlog_parse(const uint8_t *data, size_t len, struct vtpm_evlog *log, struct vg_err *err);
void vtpm_evlog_free(struct vtpm_evlog *log);
/* Replays events with index < nregs into regs (each first zeroed to the
 * algorithm's size). -ENOENT: the log has no such bank; -EBADMSG: an
 * extended event lacks a digest of that algorithm. */
int vtpm_evlog_replay(const struct vtpm_evlog *log, uint16_t alg, uint8_t (*regs)[64], size_t nregs,
		      struct vg_err *err);
/* Replays events with first_index <= index < first_index + nregs into
 * regs[index - first_index]. If extended is not NULL, bit i is set when
 * regs[i] received at least one extend (or a StartupLocality value). */
int vtpm_evlog_replay_range(const struct vtpm_evlog *log, uint16_t alg, uint32_t first_index,
			    uint8_t (*regs)[64], size_t nregs, uint64_t *extended, struct vg_err *err);
/* Name of an event type ("EV_SEPARATOR"...), or NULL when unknown. */
const char *vtpm_event_type_name(uint32_t type);

/* ========================== 2. Event log writer =========================== */
/*
 * Writes a crypto-agile TCG log: the SHA1-format Spec ID Event03 header
 * event listing the banks, then one TCG_PCR_EVENT2 per measurement with a
 * digest for every bank. The result parses with vtpm_evlog_parse and with
 * tpm2_eventlog.
 */
struct vtpm_evlog_writer {
	struct vg_buf buf;    /* the log bytes so far */
	size_t nalgs;
	uint16_t algs[VTPM_EVLOG_MAX_ALGS];
};

/* Starts a log with the given banks (e.g. SHA256, SHA384). */
int vtpm_evlog_writer_init(struct vtpm_evlog_writer *w, const uint16_t *algs, size_t nalgs,
			   struct vg_err *err);
/* Appends a StartupLocality EV_NO_ACTION event (PCR 0 starts at locality). */
int vtpm_evlog_writer_startup_locality(struct vtpm_evlog_writer *w, uint8_t locality,
				       struct vg_err *err);
/* Hashes (tohash, tohash_len) with every bank, appends the event with
 * (event, event_len) as its data. digests (optional) receives the bank
 * digests in writer order so the caller can extend the same values. */
int vtpm_evlog_writer_measure(struct vtpm_evlog_writer *w, uint32_t pcr, uint32_t type,
			      const void *tohash, size_t tohash_len, const void *event,
			      size_t event_len, uint8_t (*digests)[64], struct vg_err *err);
/* Appends an event with precomputed digests (one per bank, writer order). */
int vtpm_evlog_writer_add(struct vtpm_evlog_writer *w, uint32_t pcr, uint32_t type,
			  const uint8_t (*digests)[64], const void *event, size_t event_len,
			  struct vg_err *err);
void vtpm_evlog_writer_free(struct vtpm_evlog_writer *w);

/* ========================== 3. TPM instance, state, EK ==================== */
/*
 * One TPM 2.0 on libtpms. libtpms is a PROCESS-GLOBAL SINGLETON: at most one
 * struct vtpm may be open per process (vtpm_open returns -EBUSY otherwise),
 * and calls must not run concurrently (the caller serialises; the server
 * and the VMM use one thread for the TPM).
 *
 * State lives in cfg.state_dir, always encrypted (AES-256-GCM, key derived
 * with HKDF-SHA256 from the 32-byte key in cfg.key_file, which holds 32 raw
 * bytes or 64 hex digits):
 *   permall.vst   permanent state (NV, seeds, persistent objects), rewritten
 *                 atomically whenever libtpms changes it
 *   volatile.vst  snapshot of the volatile state (PCRs, sessions, loaded
 *                 objects), written by vtpm_shutdown (orderly stop). The next
 *                 vtpm_open authenticates it and deletes it after power-on;
 *                 it resumes from it only with cfg.resume (VM suspend/resume
 *                 or migration). Without resume the TPM powers on fresh and
 *                 TPM2_Startup(CLEAR) resets the PCRs, like a host reboot.
 * A file that is truncated, tampered with, of an unknown version, or
 * encrypted under another key makes vtpm_open fail (-EBADMSG, or -EKEYREJECTED
 * for a wrong key, reported as such via a key-check value) and is left as is.
 *
 * EK provisioning (first start, when cfg.ek_ca_dir is set): RSA-2048 and
 * ECC NIST P-256 EKs from the TCG EK Credential Profile default templates;
 * certificates issued by the CA in ek_ca_dir (ca.pem + ca.key, created when
 * absent) are stored at NV 0x01c00002 (RSA) and 0x01c0000a (ECC).
 */
#define VTPM_STATE_PERM_FILE "permall.vst"
#define VTPM_STATE_VOLATILE_FILE "volatile.vst"
#define VTPM_STATE_TMP_INFIX ".tmp."          /* NAME.tmp.*: a write in progress */
#define VTPM_STATE_PROBE_FILE "write-probe.tmp"
#define VTPM_STATE_PROBE_SIZE 32768           /* bytes a start-up write probe needs */
#define VTPM_KEY_SIZE 32
#define VTPM_MAX_CMD 4096        /* TPM command/response buffer size */
#define VTPM_NV_EK_CERT_RSA 0x01c00002u
#define VTPM_NV_EK_CERT_ECC 0x01c0000au

struct vtpm;

struct vtpm_config {
	const char *state_dir;   /* required; created (0700) if missing */
	const char *key_file;    /* required */
	const char *ek_ca_dir;   /* optional: provision EKs + certificates */
	bool resume;             /* resume from volatile.vst when present */
	uint32_t buffer_size;    /* max command/response size the TPM announces
				    (0: libtpms' default, 4096); a VMM serving
				    the CRB sets VTPM_CRB_BUFFER_SIZE */
};

/* Locks the state directory (flock: a second instance on the same
 * directory is refused with -EBUSY), removes temporaries an interrupted
 * write left (NAME.tmp.*), refuses a directory that cannot take a write now
 * (full, read-only), loads and checks the state (state files must be
 * regular files: a link, even a dangling one, or a FIFO is refused, never
 * followed or waited on), powers the TPM on (TPMLIB_MainInit) and, when
 * asked, provisions the EKs. Does not send TPM2_Startup. libtpms' own debug
 * output is sent to /dev/null (it can dump command bytes). */
int vtpm_open(const struct vtpm_config *cfg, struct vtpm **out, struct vg_err *err);
/* Sends TPM2_Startup(SU_CLEAR) or (SU_STATE when clear is false). A TPM
 * that is already started (TPM_RC_INITIALIZE) counts as success. */
int vtpm_startup(struct vtpm *t, bool clear, struct vg_err *err);
/* Executes one command at a locality (0..4). rsp holds rsp_cap bytes; on
 * success *rsp_len is the response length. A malformed command still gets a
 * TPM error response, not a failure. */
int vtpm_execute(struct vtpm *t, const uint8_t *cmd, size_t cmd_len, uint8_t locality, uint8_t *rsp,
		 size_t rsp_cap, size_t *rsp_len, struct vg_err *err);
/* Asks libtpms to cancel the running command (safe from another thread). */
void vtpm_cancel(struct vtpm *t);
/* Power cycle: permanent state kept, volatile state lost (unless a blob
 * was set with vtpm_set_state_blob, which this power-on resumes once).
 * TPM2_Startup is needed again. */
int vtpm_reset(struct vtpm *t, struct vg_err *err);
/* Extends one PCR in every bank given (measured boot). digests[i] is of
 * algorithm algs[i]. */
int vtpm_pcr_extend(struct vtpm *t, uint32_t pcr, const uint16_t *algs, const uint8_t (*digests)[64],
		    size_t n, struct vg_err *err);
/* Reads one PCR of one bank into out (digest size of alg). */
int vtpm_pcr_read(struct vtpm *t, uint32_t pcr, uint16_t alg, uint8_t out[64], struct vg_err *err);
/* Orderly stop of the host side (like swtpm on SIGTERM): the volatile
 * state is saved to volatile.vst and libtpms is terminated. No
 * TPM2_Shutdown is sent: that is the guest's to send. The instance stays
 * allocated; free with vtpm_close. */
int vtpm_shutdown(struct vtpm *t, struct vg_err *err);
/* Terminates (without saving volatile state if vtpm_shutdown was not
 * called) and frees. NULL is fine. */
void vtpm_close(struct vtpm *t);
/* Permanent or volatile state blob (swtpm CMD_GET_STATEBLOB); malloc'd.
 * The permanent state is available while stopped too; the volatile state
 * only while powered. sealed: encrypted under the instance key (the state
 * file format). */
int vtpm_get_state_blob(struct vtpm *t, bool permanent, bool sealed, uint8_t **out, size_t *out_len,
			struct vg_err *err);

/* Health: a failed state write (disk full, directory turned read-only)
 * puts the instance in VTPM_HEALTH_STATE_WRITE_FAILED; commands then fail
 * with TPM_RC_FAILURE and *why (optional) says what failed.
 * vtpm_recover retries: once the directory takes the state again, it is
 * written and the TPM power-cycled (from the last saved permanent state,
 * resuming the volatile state when libtpms can still give it); 0 when
 * healthy afterwards, -EIO with err set while the failure lasts. */
enum vtpm_health { VTPM_HEALTH_OK = 0, VTPM_HEALTH_STATE_WRITE_FAILED = 1 };
enum vtpm_health vtpm_health(const struct vtpm *t, const char **why);
int vtpm_recover(struct vtpm *t, struct vg_err *err);

/* Power off without saving the volatile state (swtpm CMD_STOP). */
void vtpm_power_off(struct vtpm *t);
bool vtpm_is_powered(const struct vtpm *t);
/* Writes volatile.vst from the running TPM (swtpm CMD_STORE_VOLATILE). */
int vtpm_store_volatile(struct vtpm *t, struct vg_err *err);
/* Replaces a state blob while the TPM is powered off (swtpm
 * CMD_SET_STATEBLOB): permanent state is written to permall.vst, volatile
 * state is resumed at the next power-on (vtpm_reset). sealed: the blob is
 * in the encrypted state format under this instance's key (as produced by
 * vtpm_get_state_blob with sealed), otherwise libtpms' plain blob. */
int vtpm_set_state_blob(struct vtpm *t, bool permanent, bool sealed, const uint8_t *blob, size_t len,
			struct vg_err *err);
/* TPM-established flag (set by _TPM_Hash_Start, reset from locality 3/4). */
int vtpm_established_get(struct vtpm *t, bool *established, struct vg_err *err);
int vtpm_established_reset(struct vtpm *t, uint8_t locality, struct vg_err *err);
/* _TPM_Hash_Start / _TPM_Hash_Data / _TPM_Hash_End (D-RTM sequence). */
int vtpm_hash_start(struct vtpm *t, struct vg_err *err);
int vtpm_hash_data(struct vtpm *t, const uint8_t *data, size_t len, struct vg_err *err);
int vtpm_hash_end(struct vtpm *t, struct vg_err *err);

/* Buffer size for commands/responses (swtpm CMD_SET_BUFFERSIZE): wanted 0
 * queries; setting needs the TPM stopped. Returns the size in use. */
int vtpm_buffer_size(struct vtpm *t, uint32_t wanted, uint32_t *in_use, uint32_t *min, uint32_t *max,
		     struct vg_err *err);
/* libtpms' JSON description (TPMLIB_GetInfo flags); malloc'd or NULL. */
char *vtpm_get_info(uint64_t flags);

/* Loads a 32-byte key file (raw or hex); key must be zeroized by caller. */
int vtpm_load_key(const char *path, uint8_t key[VTPM_KEY_SIZE], struct vg_err *err);
/* Encrypted state file format (used by vtpm_open; exposed for tests/tools):
 * seals plain into a malloc'd blob, and opens it back. kind names the
 * content ("permall", "volatile") and is authenticated. */
int vtpm_state_seal(const uint8_t key[VTPM_KEY_SIZE], const char *kind, const uint8_t *plain,
		    size_t plain_len, uint8_t **out, size_t *out_len, struct vg_err *err);
int vtpm_state_open(const uint8_t key[VTPM_KEY_SIZE], const char *kind, const uint8_t *blob,
		    size_t blob_len, uint8_t **plain, size_t *plain_len, struct vg_err *err);

/* ========================== 4. CRB interface model ======================== */
/*
 * TCG PC Client Platform TPM Profile (PTP) 1.05, section 6.5: the CRB
 * register file, one 4 KiB page per locality at VTPM_CRB_BASE + 0x1000*loc
 * (VTPM_CRB_SIZE covers localities 0..4). A pure state machine: no threads,
 * no guest memory access. The VMM's MMIO bus calls vtpm_crb_read/_write with
 * the offset inside the region and the access size (1, 2, 4 or 8).
 *
 * Writing CTRL_START=1 while a locality is active and the TPM is ready runs
 * the command in the data buffer synchronously through exec() with the
 * active locality; the response is placed in the buffer and CTRL_START reads
 * back 0. Misbehaviour (command sizes beyond the buffer, START while idle,
 * writes from a locality that is not active, unaligned or odd-sized
 * accesses, offsets outside the region) never touches memory outside the
 * model: reads of undefined registers return 0, such writes are ignored,
 * a failing backend sets CTRL_STS.tpmSts (fatal error) until the next
 * goIdle / cmdReady, like hardware. CTRL_CMD_SIZE/ADDR and CTRL_RSP_SIZE/ADDR
 * are read-only: they always describe the data buffer of the page read.
 */
#define VTPM_CRB_BASE FW_ABI_TPM_CRB_BASE /* firmware/guest_abi.h: the one definition */
#define VTPM_CRB_SIZE 0x5000u
#define VTPM_CRB_LOC_STATE 0x00
#define VTPM_CRB_LOC_CTRL 0x08
#define VTPM_CRB_LOC_STS 0x0C
#define VTPM_CRB_INTF_ID 0x30
#define VTPM_CRB_CTRL_EXT 0x38
#define VTPM_CRB_CTRL_REQ 0x40
#define VTPM_CRB_CTRL_STS 0x44
#define VTPM_CRB_CTRL_CANCEL 0x48
#define VTPM_CRB_CTRL_START 0x4C
#define VTPM_CRB_CTRL_INT_ENABLE 0x50
#define VTPM_CRB_CTRL_INT_STS 0x54
#define VTPM_CRB_CTRL_CMD_SIZE 0x58
#define VTPM_CRB_CTRL_CMD_LADDR 0x5C
#define VTPM_CRB_CTRL_CMD_HADDR 0x60
#define VTPM_CRB_CTRL_RSP_SIZE 0x64
#define VTPM_CRB_CTRL_RSP_ADDR 0x68
#define VTPM_CRB_DATA_BUFFER 0x80
#define VTPM_CRB_BUFFER_SIZE (0x1000u - VTPM_CRB_DATA_BUFFER)

/* Runs one TPM command: 0 and *rsp_len set, or -errno (the model then
 * answers with a TPM_RC_FAILURE response). */
typedef int (*vtpm_crb_exec_fn)(void *opaque, uint8_t locality, const uint8_t *cmd, size_t cmd_len,
				uint8_t *rsp, size_t rsp_cap, size_t *rsp_len);
/* Cancel request (CTRL_CANCEL=1); may be NULL. */
typedef void (*vtpm_crb_cancel_fn)(void *opaque);

struct vtpm_crb;

/* base is the guest-physical base, used for CTRL_CMD/RSP_ADDR. */
struct vtpm_crb *vtpm_crb_new(uint64_t base, vtpm_crb_exec_fn exec, vtpm_crb_cancel_fn cancel,
			      void *opaque);
void vtpm_crb_free(struct vtpm_crb *crb);
/* Device reset (platform reset): no locality, idle, buffer cleared. */
void vtpm_crb_reset(struct vtpm_crb *crb);
/* offset is relative to the base; size 1, 2, 4 or 8. Always returns 0 and
 * a value (0 for what is not readable); -EINVAL only for size not in
 * {1,2,4,8} or a NULL value pointer. */
int vtpm_crb_read(struct vtpm_crb *crb, uint64_t offset, unsigned size, uint64_t *value);
int vtpm_crb_write(struct vtpm_crb *crb, uint64_t offset, unsigned size, uint64_t value);
/* An exec callback running commands on a struct vtpm (opaque = struct vtpm *). */
int vtpm_crb_exec_vtpm(void *opaque, uint8_t locality, const uint8_t *cmd, size_t cmd_len,
		       uint8_t *rsp, size_t rsp_cap, size_t *rsp_len);
void vtpm_crb_cancel_vtpm(void *opaque);

/* ========================== 5. swtpm-compatible server ==================== */
/*
 * swtpm's socket protocols (swtpm 0.7, include/swtpm/tpm_ioctl.h):
 *  - data channel: raw TPM 2.0 commands and responses over TCP, several
 *    commands per connection, several connections over time;
 *  - control channel: a big-endian u32 CMD_* code followed by the request
 *    part of the matching ptm_* structure; the answer is the response part
 *    (first a u32 TPM result). On the UNIX control socket, CMD_SET_DATAFD
 *    passes the data channel as a descriptor (SCM_RIGHTS), as QEMU's
 *    tpm-emulator backend does.
 *
 * Access model (docs/vtpm.md): the control channel is a UNIX socket, by
 * default STATE_DIR/ctrl.sock, mode 0600 in the 0700 state directory, and
 * every connection's peer uid (SO_PEERCRED) must be the server's. A TCP
 * control channel (port+1, for tpm2-tss' swtpm TCTI) exists only when
 * ctrl_tcp is set, and serves only the unprivileged commands (capability,
 * config, established flag, locality, cancel, info, health): stop, init,
 * shutdown, state blobs, hashing, buffer size and store-volatile are
 * refused there (TPM_DISABLED_CMD). Decrypted
 * state blobs go out (CMD_GET_STATEBLOB with the DECRYPTED flag) or come in
 * (CMD_SET_STATEBLOB without ENCRYPTED) only with allow_migration.
 *
 * One thread, one poll loop, non-blocking sockets; the TPM is not touched
 * concurrently. No client can hold up another: one request per connection
 * per round, a deadline for every request and answer (cmd_timeout_ms), TCP
 * connections idle for idle_timeout_ms are closed, a full connection table
 * makes room by closing the longest-idle TCP connection, and while there is
 * no room new clients wait in the listen backlog, never reset.
 */
#include <signal.h>
#include <sys/types.h>

#define VTPM_CTRL_SOCKET_NAME "ctrl.sock"
#define VTPM_CTRL_GET_HEALTH 0x56470001u /* Vigil's control command: health state */

struct vtpm_server_config {
	const char *bind_addr;   /* TCP address; NULL = 127.0.0.1 */
	uint16_t port;           /* data port; 0 = no TCP data channel */
	const char *ctrl_unix;   /* control socket path; NULL = STATE_DIR/ctrl.sock */
	const char *state_dir;   /* where the default control socket goes */
	bool ctrl_tcp;           /* also a restricted TCP control channel on port+1 */
	bool allow_migration;    /* decrypted state blobs may leave and enter */
	bool startup_clear;      /* send TPM2_Startup(CLEAR) after each power-on */
	unsigned idle_timeout_ms;/* 0: 60 s (TCP connections) */
	unsigned cmd_timeout_ms; /* 0: 5 s (complete a request / take an answer) */
};

struct vtpm_server;

/* Validates the configuration and binds the TCP listeners; touches no
 * state. Call before vtpm_open, so a bad flag or a busy port changes nothing. */
int vtpm_server_open(const struct vtpm_server_config *cfg, struct vtpm_server **out, struct vg_err *err);
/* The control socket's path. */
const char *vtpm_server_ctrl_path(const struct vtpm_server *s);
/* Creates the control socket, serves until *stop becomes non-zero (e.g.
 * set by a SIGTERM handler) or a client sends CMD_SHUTDOWN; then saves the
 * volatile state (vtpm_shutdown). Returns 0 after an orderly stop. */
int vtpm_server_run(struct vtpm_server *s, struct vtpm *t, volatile sig_atomic_t *stop, struct vg_err *err);
void vtpm_server_free(struct vtpm_server *s);
/* Size of the complete control request at the start of (in, have): 0 when
 * more bytes are needed, -1 when it can never be served (unknown command,
 * too much data). */
ssize_t vtpm_ctrl_request_size(const uint8_t *in, size_t have);
/* Runs every complete request in (in, len) as one connection would (ctrl:
 * control channel, else data), appending the answers to out. For fuzzing
 * and tests: the same framing, table and handlers as the sockets. */
int vtpm_server_feed(struct vtpm_server *s, struct vtpm *t, bool ctrl, const uint8_t *in, size_t len,
		     struct vg_buf *out);

#endif /* VIGIL_VTPM_H */

/*
 * Vigil common helpers: error type, logging, hex, bounded reader, growable
 * buffer, file IO, secrets, time and number parsing.
 *
 * The one public header of common/. Prefix: vg_ (Vigil-wide helpers).
 */
#ifndef VIGIL_COMMON_H
#define VIGIL_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VG_VERSION "0.1.0"

#define VG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VG_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Byte-exact hardware structures: declare once, assert the size, name the spec. */
#define VG_ASSERT_SIZE(type, size, spec) \
	_Static_assert(sizeof(type) == (size), #type " must be " #size " bytes (" spec ")")

/* Conventional exit codes of every Vigil binary. */
enum vg_exit {
	VG_EXIT_OK = 0,       /* success / verified */
	VG_EXIT_REJECTED = 1, /* rejected or failed check */
	VG_EXIT_USAGE = 2,    /* usage or I/O error */
};

/* ------------------------------------------------------------------ errors */
/*
 * Functions return 0 or a negative errno-style code and fill a caller-provided
 * struct vg_err with a one-line human message. err may be NULL.
 */
struct vg_err {
	int code;      /* positive errno value, 0 when clear */
	char msg[512]; /* one line, no trailing newline */
};

/* Sets code and message; returns -code (so: return vg_err_set(err, EINVAL, ...)). */
int vg_err_set(struct vg_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepends "context: " to the existing message; returns -err->code (or -EIO). */
int vg_err_prefix(struct vg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vg_err_clear(struct vg_err *err);

/* ----------------------------------------------------------------- logging */
enum vg_log_level { VG_LOG_ERROR = 0, VG_LOG_WARN, VG_LOG_INFO, VG_LOG_DEBUG };
void vg_log_init(const char *prog, enum vg_log_level level);
void vg_log_set_level(enum vg_log_level level);
enum vg_log_level vg_log_get_level(void);
/* One line to stderr: "prog: level: message". Never log secrets. */
void vg_log(enum vg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define vg_error(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)
#define vg_warn(...) vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_info(...) vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)

/* --------------------------------------------------------------------- hex */
/* Lowercase hex of len bytes into out, which holds 2*len+1 chars. */
void vg_hex_encode(const void *in, size_t len, char *out);
/* Same, malloc'd; NULL on allocation failure. */
char *vg_hex_dup(const void *in, size_t len);
/* Decodes exactly out_len bytes (2*out_len hex digits, either case). */
int vg_hex_decode(const char *hex, void *out, size_t out_len, struct vg_err *err);
/* Decodes any even-length hex string into a malloc'd buffer. */
int vg_hex_decode_alloc(const char *hex, uint8_t **out, size_t *out_len, struct vg_err *err);

/* ------------------------------------------------ little/big-endian access */
/* For fixed offsets inside buffers whose length was already checked. */
static inline uint16_t vg_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t vg_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t vg_le64(const uint8_t *p) { return vg_le32(p) | ((uint64_t)vg_le32(p + 4) << 32); }
static inline uint16_t vg_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t vg_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void vg_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void vg_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vg_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vg_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void vg_put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* ---------------------------------------------------------- bounded reader */
/*
 * A cursor over (pointer, length) for untrusted bytes. Every read is bounds
 * checked; the first failure makes the reader sticky-failed, so a parser can
 * read a run of fields and check once. Reads return 0 or -EBADMSG.
 */
struct vg_reader {
	const uint8_t *data;
	size_t len;
	size_t off;
	bool failed;
};

void vg_rd_init(struct vg_reader *r, const void *data, size_t len);
static inline bool vg_rd_ok(const struct vg_reader *r) { return !r->failed; }
static inline size_t vg_rd_remaining(const struct vg_reader *r) { return r->failed ? 0 : r->len - r->off; }
int vg_rd_u8(struct vg_reader *r, uint8_t *out);
int vg_rd_le16(struct vg_reader *r, uint16_t *out);
int vg_rd_le32(struct vg_reader *r, uint32_t *out);
int vg_rd_le64(struct vg_reader *r, uint64_t *out);
int vg_rd_be16(struct vg_reader *r, uint16_t *out);
int vg_rd_be32(struct vg_reader *r, uint32_t *out);
/* Copies n bytes. */
int vg_rd_bytes(struct vg_reader *r, void *out, size_t n);
/* Zero-copy view of the next n bytes. */
int vg_rd_ptr(struct vg_reader *r, size_t n, const uint8_t **out);
int vg_rd_skip(struct vg_reader *r, size_t n);
/* Absolute position (<= len). */
int vg_rd_seek(struct vg_reader *r, size_t off);
/* A sub-reader over the next n bytes; the parent advances past them. */
int vg_rd_sub(struct vg_reader *r, size_t n, struct vg_reader *sub);

/* ---------------------------------------------------------- growable buffer */
struct vg_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};
int vg_buf_reserve(struct vg_buf *b, size_t extra);
int vg_buf_append(struct vg_buf *b, const void *p, size_t n);
int vg_buf_append_u8(struct vg_buf *b, uint8_t v);
int vg_buf_append_le16(struct vg_buf *b, uint16_t v);
int vg_buf_append_le32(struct vg_buf *b, uint32_t v);
int vg_buf_append_le64(struct vg_buf *b, uint64_t v);
/* Appends formatted text (keeps a NUL after len, not counted). */
int vg_buf_printf(struct vg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vg_buf_free(struct vg_buf *b);
/* Zeroizes the whole capacity, then frees: for buffers that held secrets. */
void vg_buf_free_secret(struct vg_buf *b);

/* ----------------------------------------------------------------- file IO */
/* Reads a whole regular file of at most max_len bytes into a malloc'd buffer. */
int vg_read_file(const char *path, size_t max_len, uint8_t **out, size_t *out_len, struct vg_err *err);
/* Atomic replace: temp file in the same directory, fsync, rename, fsync dir. */
int vg_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct vg_err *err);
/* Full writes/reads on a descriptor, retrying on EINTR and short transfers.
 * vg_read_full returns bytes read (< n only at EOF) or -errno. */
int vg_write_full(int fd, const void *data, size_t len);
ssize_t vg_read_full(int fd, void *data, size_t len);

/* ----------------------------------------------------------------- secrets */
void vg_secure_zero(void *p, size_t n);                      /* OPENSSL_cleanse */
bool vg_ct_equal(const void *a, const void *b, size_t n);    /* CRYPTO_memcmp == 0 */

/* -------------------------------------------------------- time and numbers */
/* RFC 3339 / ISO 8601 UTC ("2024-05-01T12:00:00Z", offsets and fractions accepted). */
int vg_parse_rfc3339(const char *s, int64_t *out_unix, struct vg_err *err);
/* "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void vg_format_rfc3339(int64_t t, char out[32]);
/* Whole-string unsigned integer, decimal or 0x-hex, with overflow and max checks. */
int vg_parse_u64(const char *s, uint64_t max, uint64_t *out, struct vg_err *err);

/* JSON (jansson): untrusted bytes to one object, duplicate keys refused. Errors name
 * `what`: empty input, invalid JSON (with the offset), not an object. */
typedef struct json_t json_t;
int vg_json_parse_object(const void *buf, size_t len, const char *what, json_t **out, struct vg_err *err);

/* ------------------------------------------ PKI and state directories (pki.c,
 * statedir.c): the X.509 issuing and "generate once, rename into place" code
 * that sim-snp, sim-tdx and the vTPM EK CA share. OpenSSL types are named by
 * their struct tags, so this header does not pull OpenSSL in. */
struct x509_st;          /* X509 */
struct evp_pkey_st;      /* EVP_PKEY */
struct X509_name_st;     /* X509_NAME */
/* A name from (field, value) pairs, NULL-terminated: {"C","US","CN","x",NULL}. */
struct X509_name_st *vg_x509_name(const char *const *pairs);
/* An unsigned v3 certificate: random positive 128-bit serial, subject, the
 * issuer's subject as issuer (NULL: self-issued), valid from now+from_secs
 * for days, public key pub. NULL on failure. */
struct x509_st *vg_x509_new(const struct X509_name_st *subject, struct evp_pkey_st *pub,
			    const struct x509_st *issuer, long from_secs, long days);
/* Adds an extension in OpenSSL's configuration syntax ("critical,CA:TRUE",
 * "hash", "keyid"); issuer NULL = the certificate itself. 0 or -1. */
int vg_x509_ext(struct x509_st *cert, struct x509_st *issuer, int nid, const char *value);
/* Adds a non-critical extension with the given DER value under a dotted OID. */
int vg_x509_ext_der(struct x509_st *cert, const char *oid, const uint8_t *der, int len);
/* Appends the PEM of a certificate, or of a private key (unencrypted PKCS#8;
 * free that buffer with vg_buf_free_secret). 0 or -EIO; OpenSSL's copies of
 * key bytes are cleansed. */
int vg_pem_append_cert(struct vg_buf *out, struct x509_st *cert);
int vg_pem_append_key(struct vg_buf *out, struct evp_pkey_st *key);
/* Reads a PEM private key from dir/name (read into a buffer that is cleansed
 * after parsing). With ec_bits non-zero it must be an EC key of that size.
 * NULL with err set ("<path>: not an ECDSA P-<bits> private key"). */
struct evp_pkey_st *vg_pem_read_key(const char *dir, const char *name, int ec_bits, struct vg_err *err);
/* The same for a whole path. */
struct evp_pkey_st *vg_pem_read_key_file(const char *path, int ec_bits, struct vg_err *err);
/* err = "what: <OpenSSL's first queued error>", queue cleared; returns -EIO. */
int vg_ossl_error(struct vg_err *err, const char *what);

/* Writes dir/name atomically (vg_write_file_atomic) with mode. */
int vg_state_put(const char *dir, const char *name, const void *data, size_t len, mode_t mode, struct vg_err *err);
/* Generate once, rename into place: when state_dir/sub does not exist yet,
 * state_dir is created (0700), gen(tmp, arg, err) fills a private temporary
 * directory state_dir/.sub.XXXXXX, which is then renamed to state_dir/sub, so
 * a crash or a concurrent process never leaves half a directory (the loser of
 * a race uses the winner's). The temporary is removed on failure. *created
 * (optional) says whether this call generated it. */
typedef int (*vg_state_gen_fn)(const char *tmp_dir, void *arg, struct vg_err *err);
int vg_state_generate_once(const char *state_dir, const char *sub, vg_state_gen_fn gen, void *arg, bool *created,
			   struct vg_err *err);

#endif /* VIGIL_COMMON_H */

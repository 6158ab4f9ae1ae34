/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * vigil: the interface between vigil.ko and userspace.
 *
 * This header is the one definition of what the kernel module exports: the securityfs directory
 * and file names, the module parameters' defaults and the text format of the status file. It is
 * included by the module and by libvigil; keep it free of kernel-only and libc-only types.
 *
 * The status file (VIGIL_FS_STATUS) is text, one "key: value" line per fact, in a fixed order.
 * Readers must ignore keys they do not know (later versions add lines, never rename them).
 *   version   module version (VIGIL_VERSION of the module that was loaded)
 *   tpm       "tpm2" when a TPM 2.0 chip is in use, "none" otherwise
 *   mode      "tpm" (log and PCR extend) or "log-only" (no TPM 2.0 chip found)
 *   pcr       the PCR index measurements are extended into
 *   hash      the file hash algorithm (sha256, sha384 or sha512)
 *   banks     the TPM's allocated PCR banks, comma-separated ("" without a TPM)
 *   records   records in the log            violations  violation records among them
 *   policy    "default" or "custom"         locked      "yes" once the rules are locked
 *   policy_error  why the last rule set was rejected ("line N: reason"), or "none"
 *   log_bytes     kernel memory the records take; cache_bytes: the measured-file cache's
 */
#ifndef _UAPI_VIGIL_H
#define _UAPI_VIGIL_H

#include <linux/types.h>

#define VIGIL_VERSION "0.1.0"

/* securityfs: /sys/kernel/security/vigil/ */
#define VIGIL_FS_MOUNT "/sys/kernel/security"
#define VIGIL_FS_DIR "vigil"
#define VIGIL_FS_STATUS "status"

#define VIGIL_FS_BINARY "binary_runtime_measurements" /* + "_<alg>": one file per TPM bank */
#define VIGIL_FS_ASCII "ascii_runtime_measurements"
#define VIGIL_FS_COUNT "runtime_measurements_count"
#define VIGIL_FS_VIOLATIONS "violations"
#define VIGIL_FS_POLICY "policy"

/*
 * The measurement log (docs/log-format.md). Records use IMA's binary framing, always
 * little-endian ("canonical" in IMA's terms):
 *
 *	__le32 pcr;
 *	u8     template_digest[D];	D: 20 (SHA-1) in VIGIL_FS_BINARY, the bank's digest size
 *					in VIGIL_FS_BINARY "_<alg>"
 *	__le32 template_name_len;	no NUL
 *	char   template_name[];		VIGIL_TEMPLATE_IMA_NG or VIGIL_TEMPLATE_VIGIL_NG
 *	__le32 template_data_len;
 *	u8     template_data[];		fields, each "__le32 len; u8 data[len]":
 *		ima-ng:   d-ng ("<alg>:\0" digest), n-ng (path, NUL-terminated)
 *		vigil-ng: d-ng, n-ng, ctx (struct vigil_ctx)
 *
 * The template digest of a bank is that bank's hash over template_data (length prefixes
 * included); a violation record has an all-zero template digest and file digest and extends the
 * PCR with all-0xff. Banks the kernel cannot hash get the SHA-1 digest zero-padded (IMA's rule).
 */
#define VIGIL_TEMPLATE_IMA_NG "ima-ng"
#define VIGIL_TEMPLATE_VIGIL_NG "vigil-ng"
#define VIGIL_BOOT_AGGREGATE_NAME "boot_aggregate"
#define VIGIL_NAME_MAX 4096 /* n-ng bytes including the NUL, as IMA bounds it */

/* Where a measurement came from (struct vigil_ctx.hook); values are stable. */
enum vigil_hook {
	VIGIL_HOOK_NONE = 0, /* boot_aggregate, the measurement policy record */
	VIGIL_HOOK_BPRM_CHECK = 1,
	VIGIL_HOOK_MMAP_CHECK = 2,
	VIGIL_HOOK_MODULE_CHECK = 3,
	VIGIL_HOOK_FIRMWARE_CHECK = 4,
	VIGIL_HOOK_FILE_CHECK = 5,
};

/* Why a record was written (struct vigil_ctx.reason); values are stable. */
enum vigil_reason {
	VIGIL_REASON_MEASURED = 0, /* first measurement, or content changed since the last one */
	VIGIL_REASON_OPEN_WRITERS = 1, /* violation: measured while open for write */
	VIGIL_REASON_TOMTOU = 2, /* violation: opened for write while measured and open for read */
	VIGIL_REASON_BOOT_AGGREGATE = 3,
	VIGIL_REASON_POLICY = 4, /* the text of a newly activated measurement policy */
	VIGIL_REASON_MEASURE_FAILED = 5, /* violation: the file could not be read or hashed */
};

/*
 * The vigil-ng context field: fixed width, little-endian, no padding. seq counts records from 0
 * (boot_aggregate) without gaps, so a verifier sees a record that went missing.
 */
struct vigil_ctx {
	__le64 seq;
	__le32 hook; /* enum vigil_hook */
	__le32 reason; /* enum vigil_reason */
	__le32 uid; /* the task's uid in the initial user namespace */
	__le32 reserved; /* zero */
	__le64 dev; /* the file's device (new_encode_dev), the real one under overlayfs */
	__le64 ino;
	__le64 cgroup_id; /* the task's cgroup v2 id, 0 when unknown */
};

#define VIGIL_CTX_SIZE 48

/* Module parameter defaults. PCR 10 belongs to in-kernel IMA and is never the default. */
#define VIGIL_DEFAULT_PCR 11
#define VIGIL_PCR_COUNT 24

/* Upper bound of the status file's size; readers may reject anything larger. */
#define VIGIL_STATUS_MAX 4096

#endif /* _UAPI_VIGIL_H */

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
 */
#ifndef _UAPI_VIGIL_H
#define _UAPI_VIGIL_H

#define VIGIL_VERSION "0.1.0"

/* securityfs: /sys/kernel/security/vigil/ */
#define VIGIL_FS_MOUNT "/sys/kernel/security"
#define VIGIL_FS_DIR "vigil"
#define VIGIL_FS_STATUS "status"

/* Module parameter defaults. PCR 10 belongs to in-kernel IMA and is never the default. */
#define VIGIL_DEFAULT_PCR 11
#define VIGIL_PCR_COUNT 24

/* Upper bound of the status file's size; readers may reject anything larger. */
#define VIGIL_STATUS_MAX 4096

#endif /* _UAPI_VIGIL_H */

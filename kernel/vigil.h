/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vigil.ko private header: the objects the module's files share.
 *
 * Invariants: everything declared here is set up by vigil_init() before the hooks are attached
 * and the securityfs files appear, and torn down after both are gone, so a hook or a reader never
 * sees half-initialised state.
 */
#ifndef _VIGIL_H
#define _VIGIL_H

#include <linux/types.h>
#include <linux/seq_file.h>
#include <linux/tpm.h>
#include <crypto/hash.h>
#include <crypto/hash_info.h>
#include "uapi/vigil.h"

/* Module parameters (main.c); read-only once the module is loaded. */
extern unsigned int vigil_pcr;
extern char *vigil_hash;
extern int vigil_hash_algo; /* enum hash_algo of vigil_hash */

struct file;

/* What a hook hands to the measurement code. */
struct vigil_event {
	enum vigil_hook hook;
	struct file *file; /* NULL for a module loaded from a buffer (init_module) */
	const void *buf; /* the exact bytes the kernel will use, or NULL: hash the file */
	size_t len;
	int mask; /* MAY_EXEC, MAY_READ, MAY_WRITE, ... as the hook saw it */
};

/* policy.c: what is measured. */
enum vigil_template_id {
	VIGIL_TPL_IMA_NG,
	VIGIL_TPL_VIGIL_NG,
	VIGIL_TPL_IMA_BUF,
};

struct vigil_action {
	bool measure;
	enum vigil_template_id tpl;
};

int vigil_policy_init(void);
void vigil_policy_exit(void);
struct vigil_action vigil_policy_match(const struct vigil_event *ev);
int vigil_policy_fs_init(struct dentry *dir);
void vigil_policy_show_status(struct seq_file *m);

/* measure.c: hashing, the measured-file cache, violations. */
int vigil_measure_init(void);
void vigil_measure_exit(void);
int vigil_measure(const struct vigil_event *ev);
void vigil_measure_write_open(struct file *file);
u64 vigil_measure_cache_bytes(void);
int vigil_hash_buffer(int algo, const void *buf, size_t len, u8 *digest);

/* log.c: the append-only measurement list and the PCR extend. */
struct vigil_record_desc {
	enum vigil_template_id tpl;
	int algo; /* enum hash_algo of digest */
	const u8 *digest; /* file digest; NULL for a violation (zeros) */
	const char *name;
	const void *buf; /* ima-buf only */
	size_t buf_len;
	struct vigil_ctx ctx; /* seq is assigned by the log */
	bool violation;
};

int vigil_log_init(void);
void vigil_log_exit(void);
int vigil_log_append(struct vigil_record_desc *d);
u64 vigil_log_count(void);
u64 vigil_log_violations(void);
u64 vigil_log_bytes(void);
int vigil_log_fs_init(struct dentry *dir);

/* tpm.c: the TPM chip measurements are extended into, if there is one. */
int vigil_tpm_init(void);
void vigil_tpm_exit(void);
bool vigil_tpm_present(void);
void vigil_tpm_show_banks(struct seq_file *m);
int vigil_tpm_nr_banks(void);
const struct tpm_bank_info *vigil_tpm_bank(int i);
int vigil_tpm_extend(struct tpm_digest *digests);
int vigil_tpm_pcr_read(u32 pcr, int bank, u8 *digest);

/* hooks.c: how measurements are triggered. */
int vigil_hooks_init(void);
void vigil_hooks_exit(void);

/*
 * hooks.c internals, global only so that its trampolines (asm) can name them: the trampolines
 * themselves and the handlers they call, which take the hooked function's arguments.
 */
struct linux_binprm;
enum kernel_read_file_id;
enum kernel_load_data_id;
void vigil_tramp_bprm(void);
void vigil_tramp_mmap(void);
void vigil_tramp_read_file(void);
void vigil_tramp_load_data(void);
void vigil_tramp_open(void);
void vigil_on_bprm(struct linux_binprm *bprm);
void vigil_on_mmap(struct file *file, unsigned long prot, unsigned long flags);
void vigil_on_read_file(struct file *file, char *buf, loff_t size, enum kernel_read_file_id id);
void vigil_on_load_data(char *buf, loff_t size, enum kernel_load_data_id id, char *desc);
void vigil_on_open(struct file *file, int mask);

/* fs.c: the securityfs interface. */
int vigil_fs_init(void);
void vigil_fs_exit(void);
struct dentry *vigil_fs_file(const char *name, umode_t mode, struct dentry *dir, void *data,
			     const struct file_operations *fops);

#endif /* _VIGIL_H */

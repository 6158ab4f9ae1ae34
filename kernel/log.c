// SPDX-License-Identifier: GPL-2.0-only
/*
 * vigil.ko: the measurement log — append-only records — and the PCR extend.
 *
 * Modelled on IMA's ima_queue.c. Invariants:
 *  - records are only ever appended, never changed or removed until unload; they are indexed by
 *    sequence number in an xarray, so readers find record n in O(log n) without the mutex;
 *  - a record keeps its template data and SHA-1 template digest only (the legacy file's); the
 *    digests of other banks are computed for the extend and again when a per-bank file is read,
 *    which keeps a record to about a third of IMA's memory;
 *  - under log_mutex, in this order: sequence number assigned, template digests computed for
 *    every bank, record appended, PCR extended in every bank with one TPM command; so the log
 *    order is the extend order and a record is visible before its extend (as in IMA: a verifier
 *    replays until the quoted value and keeps the rest for the next round);
 *  - the first record is boot_aggregate (IMA's definition);
 *  - a bank whose algorithm the kernel cannot hash gets the SHA-1 digest zero-padded, a violation
 *    record has all-zero template digests and extends all-0xff (both IMA's rules).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>
#include <linux/xarray.h>
#include <linux/security.h>
#include <linux/slab.h>
#include "vigil.h"

/* One record: its SHA-1 template digest and its template data. */
struct vigil_entry {
	u32 data_len;
	u8 tpl;
	u8 violation;
	u8 sha1[SHA1_DIGEST_SIZE];
	u8 data[];
};

/*
 * The banks the log has a file for: the TPM's allocated banks in chip order, or, without a TPM,
 * SHA-1 and the file hash.
 */
struct log_bank {
	u16 alg_id;
	int algo; /* enum hash_algo, or -1 when the kernel has no name for it */
	u16 size;
	char name[16];
};

static struct log_bank banks[TPM2_MAX_PCR_BANKS];
static int nr_banks;

static DEFINE_XARRAY(entries); /* index: sequence number */
static DEFINE_MUTEX(log_mutex);
static u64 nr_entries; /* written under log_mutex */
static atomic64_t nr_violations = ATOMIC64_INIT(0);
static atomic64_t log_bytes = ATOMIC64_INIT(0); /* what the records take, slab rounding included */
static bool extend_failed;

static const char *const tpl_names[] = {
	[VIGIL_TPL_IMA_NG] = VIGIL_TEMPLATE_IMA_NG,
	[VIGIL_TPL_VIGIL_NG] = VIGIL_TEMPLATE_VIGIL_NG,
	[VIGIL_TPL_IMA_BUF] = "ima-buf",
};

static void add_bank(u16 alg_id, int algo)
{
	struct log_bank *b = &banks[nr_banks++];

	b->alg_id = alg_id;
	b->algo = algo;
	b->size = algo >= 0 ? hash_digest_size[algo] : SHA1_DIGEST_SIZE;
	if (algo >= 0)
		strscpy(b->name, hash_algo_name[algo], sizeof(b->name));
	else
		snprintf(b->name, sizeof(b->name), "tpm_alg_%04x", alg_id);
}

static void init_banks(void)
{
	int i;

	if (!vigil_tpm_present()) {
		add_bank(TPM_ALG_SHA1, HASH_ALGO_SHA1);
		add_bank(0, vigil_hash_algo);
		return;
	}
	for (i = 0; i < vigil_tpm_nr_banks() && i < ARRAY_SIZE(banks); i++) {
		const struct tpm_bank_info *t = vigil_tpm_bank(i);

		add_bank(t->alg_id, t->crypto_id < HASH_ALGO__LAST ? t->crypto_id : -1);
	}
}

static void put_le32(u8 *p, u32 v)
{
	__le32 x = cpu_to_le32(v);

	memcpy(p, &x, sizeof(x));
}

static u32 get_le32(const u8 *p)
{
	__le32 x;

	memcpy(&x, p, sizeof(x));
	return le32_to_cpu(x);
}

static u8 *put_field(u8 *p, const void *data, u32 len)
{
	put_le32(p, len);
	memcpy(p + 4, data, len);
	return p + 4 + len;
}

/* d-ng: "<alg>:\0" then the digest. */
static u8 *put_dng(u8 *p, int algo, const u8 *digest)
{
	size_t alen = strlen(hash_algo_name[algo]), dsize = hash_digest_size[algo];

	put_le32(p, alen + 2 + dsize);
	memcpy(p + 4, hash_algo_name[algo], alen);
	p[4 + alen] = ':';
	p[5 + alen] = '\0';
	if (digest)
		memcpy(p + 6 + alen, digest, dsize);
	else
		memset(p + 6 + alen, 0, dsize);
	return p + 6 + alen + dsize;
}

static size_t data_len(const struct vigil_record_desc *d)
{
	size_t n = 4 + strlen(hash_algo_name[d->algo]) + 2 + hash_digest_size[d->algo];

	n += 4 + strlen(d->name) + 1;
	if (d->tpl == VIGIL_TPL_VIGIL_NG)
		n += 4 + sizeof(struct vigil_ctx);
	else if (d->tpl == VIGIL_TPL_IMA_BUF)
		n += 4 + d->buf_len;
	return n;
}

static struct vigil_entry *entry_alloc(const struct vigil_record_desc *d)
{
	size_t len = data_len(d);
	struct vigil_entry *e;
	u8 *p;

	if (len > U32_MAX)
		return NULL;
	e = kzalloc(sizeof(*e) + len, GFP_KERNEL);
	if (!e)
		return NULL;
	e->data_len = len;
	e->tpl = d->tpl;
	e->violation = d->violation;
	p = put_dng(e->data, d->algo, d->violation ? NULL : d->digest);
	p = put_field(p, d->name, strlen(d->name) + 1);
	if (d->tpl == VIGIL_TPL_VIGIL_NG)
		put_field(p, &d->ctx, sizeof(d->ctx));
	else if (d->tpl == VIGIL_TPL_IMA_BUF)
		put_field(p, d->buf, d->buf_len);
	return e;
}

/*
 * The template digest of a bank: that bank's hash of the template data, or the SHA-1 digest
 * zero-padded when the kernel cannot hash it; all zeros for a violation.
 */
static void bank_digest(const struct vigil_entry *e, int bank, u8 *digest)
{
	memset(digest, 0, banks[bank].size);
	if (e->violation)
		return;
	if (banks[bank].algo == HASH_ALGO_SHA1 ||
	    vigil_hash_buffer(banks[bank].algo, e->data, e->data_len, digest))
		memcpy(digest, e->sha1, SHA1_DIGEST_SIZE);
}

static int extend(struct vigil_entry *e)
{
	struct tpm_digest d[TPM2_MAX_PCR_BANKS];
	int i;

	if (!vigil_tpm_present())
		return 0;
	for (i = 0; i < nr_banks; i++) {
		d[i].alg_id = banks[i].alg_id;
		if (e->violation)
			memset(d[i].digest, 0xff, banks[i].size);
		else
			bank_digest(e, i, d[i].digest);
	}
	return vigil_tpm_extend(d);
}

/**
 * vigil_log_append() - append a record and extend the PCR with it
 * @d: what to record; d->ctx.seq is set here
 *
 * Return: 0, or a negative errno when the record could not be created. A failed PCR extend keeps
 * the record (the log then no longer replays to the PCR, which a verifier detects) and is
 * reported once in dmesg and in the status file.
 */
int vigil_log_append(struct vigil_record_desc *d)
{
	struct vigil_entry *e = entry_alloc(d);
	int err;

	if (!e)
		return -ENOMEM;
	mutex_lock(&log_mutex);
	d->ctx.seq = cpu_to_le64(nr_entries);
	if (d->tpl == VIGIL_TPL_VIGIL_NG)
		memcpy(e->data + e->data_len - sizeof(d->ctx), &d->ctx, sizeof(d->ctx));
	err = e->violation ? 0 : vigil_hash_buffer(HASH_ALGO_SHA1, e->data, e->data_len, e->sha1);
	if (!err)
		err = xa_err(xa_store(&entries, nr_entries, e, GFP_KERNEL));
	if (err) {
		mutex_unlock(&log_mutex);
		kfree(e);
		return err;
	}
	smp_store_release(&nr_entries, nr_entries + 1); /* pairs with log_start() */
	atomic64_add(ksize(e), &log_bytes);
	if (e->violation)
		atomic64_inc(&nr_violations);
	err = extend(e);
	if (err && !extend_failed) {
		extend_failed = true;
		pr_err("PCR %u extend failed (%d): the log no longer replays\n", vigil_pcr, err);
	}
	mutex_unlock(&log_mutex);
	return 0;
}

u64 vigil_log_count(void)
{
	return READ_ONCE(nr_entries);
}

u64 vigil_log_violations(void)
{
	return atomic64_read(&nr_violations);
}

/**
 * vigil_log_bytes() - kernel memory the records take (as allocated, slab rounding included)
 *
 * Return: bytes.
 */
u64 vigil_log_bytes(void)
{
	return atomic64_read(&log_bytes);
}

/*
 * boot_aggregate as IMA computes it: the hash of PCR 0-7 (0-9 for a non-SHA-1 bank) of the
 * bank matching the file hash, else of the SHA-1 bank; all zeros without a TPM.
 */
static int boot_aggregate(u8 *digest, int *algo)
{
	u8 pcrs[10 * TPM2_MAX_DIGEST_SIZE];
	int i, n, bank = -1, size;

	*algo = vigil_hash_algo;
	memset(digest, 0, hash_digest_size[vigil_hash_algo]);
	for (i = 0; vigil_tpm_present() && i < nr_banks; i++)
		if (banks[i].algo == vigil_hash_algo ||
		    (bank < 0 && banks[i].algo == HASH_ALGO_SHA1))
			bank = i;
	if (bank < 0)
		return 0;
	*algo = banks[bank].algo;
	size = banks[bank].size;
	n = *algo == HASH_ALGO_SHA1 ? 8 : 10;
	for (i = 0; i < n; i++) {
		int err = vigil_tpm_pcr_read(i, bank, pcrs + i * size);

		if (err)
			return err;
	}
	return vigil_hash_buffer(*algo, pcrs, n * size, digest);
}

/**
 * vigil_log_init() - set up the banks and write the boot_aggregate record
 *
 * Return: 0 or a negative errno.
 */
int vigil_log_init(void)
{
	u8 digest[HASH_MAX_DIGESTSIZE];
	struct vigil_record_desc d = { .tpl = VIGIL_TPL_IMA_NG,
				       .digest = digest,
				       .name = VIGIL_BOOT_AGGREGATE_NAME };
	int err;

	init_banks();
	err = boot_aggregate(digest, &d.algo);
	if (err) {
		pr_err("cannot read PCRs 0-9 for boot_aggregate (%d)\n", err);
		return err;
	}
	d.ctx.reason = cpu_to_le32(VIGIL_REASON_BOOT_AGGREGATE);
	return vigil_log_append(&d);
}

/**
 * vigil_log_exit() - free every record; nothing may append or read any more
 */
void vigil_log_exit(void)
{
	struct vigil_entry *e;
	unsigned long i;

	xa_for_each(&entries, i, e)
		kfree(e);
	xa_destroy(&entries);
	nr_entries = 0;
}

/*
 * The files' seq_file walk: record *pos, found through the index; records are never freed
 * while the files exist.
 */
static void *log_start(struct seq_file *m, loff_t *pos)
{
	/* Acquire pairs with the release in vigil_log_append(): counted means stored. */
	return *pos < smp_load_acquire(&nr_entries) ? xa_load(&entries, *pos) : NULL;
}

static void *log_next(struct seq_file *m, void *v, loff_t *pos)
{
	(*pos)++;
	return log_start(m, pos);
}

static void log_stop(struct seq_file *m, void *v)
{
}

/* m->private: the bank whose template digest the file carries, or -1 for SHA-1 (legacy). */
static int binary_show(struct seq_file *m, void *v)
{
	struct vigil_entry *e = v;
	long bank = (long)m->private;
	const char *name = tpl_names[e->tpl];
	__le32 pcr = cpu_to_le32(vigil_pcr), nlen = cpu_to_le32(strlen(name));
	__le32 dlen = cpu_to_le32(e->data_len);
	u8 digest[HASH_MAX_DIGESTSIZE];

	seq_write(m, &pcr, sizeof(pcr));
	if (bank < 0) {
		seq_write(m, e->sha1, SHA1_DIGEST_SIZE);
	} else {
		bank_digest(e, bank, digest);
		seq_write(m, digest, banks[bank].size);
	}
	seq_write(m, &nlen, sizeof(nlen));
	seq_write(m, name, strlen(name));
	seq_write(m, &dlen, sizeof(dlen));
	seq_write(m, e->data, e->data_len);
	return 0;
}

static void seq_hex(struct seq_file *m, const u8 *p, size_t len)
{
	while (len) {
		size_t n = min_t(size_t, len, 64);

		seq_printf(m, "%*phN", (int)n, p);
		p += n;
		len -= n;
	}
}

/*
 * IMA's ascii layout: "%2d <sha1 template digest> <template> <alg>:<digest> <name>", then for
 * vigil-ng the context and for ima-buf the buffer, each in hex. Fields are as this file wrote them.
 */
static int ascii_show(struct seq_file *m, void *v)
{
	struct vigil_entry *e = v;
	const u8 *p = e->data, *end = e->data + e->data_len;
	u32 flen = get_le32(p);
	size_t alen = strnlen(p + 4, flen);

	seq_printf(m, "%2u ", vigil_pcr);
	seq_hex(m, e->sha1, SHA1_DIGEST_SIZE);
	seq_printf(m, " %s %.*s", tpl_names[e->tpl], (int)alen, p + 4);
	seq_hex(m, p + 4 + alen + 1, flen - alen - 1);
	p += 4 + flen;
	flen = get_le32(p);
	seq_printf(m, " %.*s", (int)flen, p + 4);
	p += 4 + flen;
	if (p < end) {
		seq_putc(m, ' ');
		seq_hex(m, p + 4, get_le32(p));
	}
	seq_putc(m, '\n');
	return 0;
}

static const struct seq_operations binary_seqops = {
	.start = log_start,
	.next = log_next,
	.stop = log_stop,
	.show = binary_show,
};

static const struct seq_operations ascii_seqops = {
	.start = log_start,
	.next = log_next,
	.stop = log_stop,
	.show = ascii_show,
};

static int binary_open(struct inode *inode, struct file *file)
{
	int err = seq_open(file, &binary_seqops);

	if (!err)
		((struct seq_file *)file->private_data)->private = inode->i_private;
	return err;
}

static int ascii_open(struct inode *inode, struct file *file)
{
	return seq_open(file, &ascii_seqops);
}

static const struct file_operations binary_fops = {
	.owner = THIS_MODULE,
	.open = binary_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = seq_release,
};

static const struct file_operations ascii_fops = {
	.owner = THIS_MODULE,
	.open = ascii_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = seq_release,
};

static int counter_show(struct seq_file *m, void *v)
{
	u64 n = m->private ? vigil_log_violations() : vigil_log_count();

	seq_printf(m, "%llu\n", n);
	return 0;
}

static int counter_open(struct inode *inode, struct file *file)
{
	return single_open(file, counter_show, inode->i_private);
}

static const struct file_operations counter_fops = {
	.owner = THIS_MODULE,
	.open = counter_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

static struct dentry *create(const char *name, struct dentry *dir, void *data,
			     const struct file_operations *fops)
{
	return vigil_fs_file(name, 0440, dir, data, fops);
}

/**
 * vigil_log_fs_init() - create the log files in @dir (removed with it, see fs.c)
 * @dir: /sys/kernel/security/vigil
 *
 * Return: 0 or a negative errno.
 */
int vigil_log_fs_init(struct dentry *dir)
{
	char name[64];
	struct dentry *d;
	long i;

	d = create(VIGIL_FS_BINARY, dir, (void *)-1L, &binary_fops);
	if (!IS_ERR(d))
		d = create(VIGIL_FS_ASCII, dir, NULL, &ascii_fops);
	if (!IS_ERR(d))
		d = create(VIGIL_FS_COUNT, dir, NULL, &counter_fops);
	if (!IS_ERR(d))
		d = create(VIGIL_FS_VIOLATIONS, dir, (void *)1L, &counter_fops);
	for (i = 0; !IS_ERR(d) && i < nr_banks; i++) {
		snprintf(name, sizeof(name), "%s_%s", VIGIL_FS_BINARY, banks[i].name);
		d = create(name, dir, (void *)i, &binary_fops);
	}
	return PTR_ERR_OR_ZERO(d);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * vigil.ko: hashing files and buffers, the cache of measured files, and violations.
 *
 * Invariants:
 *  - every hash transform is allocated at load, never in a hook (allocation can request_module(),
 *    i.e. exec modprobe, i.e. re-enter our exec hook);
 *  - files are read without the caller's permission checks (execute-only binaries, O_DIRECT
 *    opens get a private read-only instance), as IMA reads them;
 *  - a file is identified by (device, inode, generation) of its real inode (overlayfs: the
 *    backing one), never by a struct inode pointer; its change stamp (i_version when the
 *    filesystem keeps one, else ctime, mtime and size) is taken before hashing, so a change
 *    during hashing is seen by the next measurement;
 *  - measurements of one file are serialised by a lock bit in its cache entry (a bit lock: a
 *    mutex would cost 32 bytes per measured file; a lock shared by several files could deadlock
 *    when reading one file waits on a process, e.g. a FUSE server, that opens another):
 *    parallel first executions produce one record;
 *  - a record is written whenever the content differs from the last one logged for that file, so
 *    A -> B -> A gives three records (IMA's digest de-duplication logs two);
 *  - an open for write marks the file's entry dirty, so the next use re-hashes it even when its
 *    timestamps did not move.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/iversion.h>
#include <linux/kdev_t.h>
#include <linux/wait_bit.h>
#include <linux/sched/signal.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/random.h>
#include <linux/uio.h>
#include <crypto/hash.h>
#include "compat.h"
#include "vigil.h"

#define READ_CHUNK (64 * 1024)

static struct crypto_shash *tfms[HASH_ALGO__LAST];

/*
 * Enough to tell one content from another: a file whose new content shares the first 128 bits
 * of the last logged digest would go unrecorded, and finding one is a 2^128 second preimage.
 */
#define CACHE_DIGEST 16

/*
 * A file's change stamp (i_version, ctime, mtime, size) is kept as its SipHash under a key
 * drawn at load: 8 bytes instead of 32, and nobody without the key can pick timestamps that
 * collide. Cache entries are what vigil keeps per measured file, so their size counts.
 */
typedef u64 stamp_t;

struct cache_entry {
	struct hlist_node node;
	dev_t dev;
	u32 generation;
	unsigned long ino;
	stamp_t stamp;
	u8 digest[CACHE_DIGEST];
	unsigned long flags; /* ENTRY_* bits */
};

enum {
	ENTRY_LOCK, /* a measurement of this file is in progress */
	ENTRY_VALID, /* digest and stamp describe the last record logged */
	ENTRY_DIRTY, /* opened for write since: re-hash whatever the stamp says */
};

static siphash_key_t stamp_key;

static DEFINE_HASHTABLE(cache, 12);
static DEFINE_SPINLOCK(cache_lock);
static struct kmem_cache *cache_slab;
static atomic64_t cache_bytes = ATOMIC64_INIT(0);

/**
 * vigil_hash_buffer() - hash a buffer with one of the transforms allocated at load
 * @algo: enum hash_algo
 * @buf: data
 * @len: its length
 * @digest: out, hash_digest_size[algo] bytes
 *
 * Return: 0, -ENOENT when that algorithm is not available, or the crypto error.
 */
int vigil_hash_buffer(int algo, const void *buf, size_t len, u8 *digest)
{
	if (algo < 0 || algo >= HASH_ALGO__LAST || !tfms[algo])
		return -ENOENT;
	return crypto_shash_tfm_digest(tfms[algo], buf, len, digest);
}

/* The inode that holds the data: under overlayfs, the backing file's. */
static struct inode *real_inode(struct file *file)
{
	return d_real_inode(file_dentry(file));
}

static stamp_t take_stamp(struct inode *inode)
{
	struct timespec64 ctime = vigil_inode_ctime(inode), mtime = vigil_inode_mtime(inode);
	u64 iversion = IS_I_VERSION(inode) ? inode_query_iversion(inode) : 0;

	return siphash_4u64(iversion, timespec64_to_ns(&ctime), timespec64_to_ns(&mtime),
			    i_size_read(inode), &stamp_key);
}

static u32 cache_hash(dev_t dev, unsigned long ino)
{
	return hash_64((u64)dev << 32 ^ ino, 12);
}

static struct cache_entry *cache_lookup(struct inode *inode)
{
	struct cache_entry *e;
	u32 h = cache_hash(inode->i_sb->s_dev, inode->i_ino);

	hash_for_each_possible_rcu(cache, e, node, h)
		if (e->dev == inode->i_sb->s_dev && e->ino == inode->i_ino &&
		    e->generation == inode->i_generation)
			return e;
	return NULL;
}

/* Entries live until unload, like IMA's per-inode cache: a lookup needs only RCU. */
static struct cache_entry *cache_get(struct inode *inode)
{
	struct cache_entry *e, *n;

	rcu_read_lock();
	e = cache_lookup(inode);
	rcu_read_unlock();
	if (e)
		return e;
	n = kmem_cache_zalloc(cache_slab, GFP_KERNEL);
	if (!n)
		return NULL;
	n->dev = inode->i_sb->s_dev;
	n->ino = inode->i_ino;
	n->generation = inode->i_generation;
	spin_lock(&cache_lock);
	rcu_read_lock(); /* the lookup walks an RCU list; the spinlock keeps inserts out */
	e = cache_lookup(inode);
	rcu_read_unlock();
	if (!e) {
		hash_add_rcu(cache, &n->node, cache_hash(n->dev, n->ino));
		atomic64_add(kmem_cache_size(cache_slab), &cache_bytes);
		e = n;
		n = NULL;
	}
	spin_unlock(&cache_lock);
	if (n)
		kmem_cache_free(cache_slab, n);
	return e;
}

/* Read like __kernel_read(): no LSM read permission, no fanotify event for the current task. */
static ssize_t read_chunk(struct file *f, void *buf, size_t n, loff_t *pos)
{
	struct kvec iov = { .iov_base = buf, .iov_len = n };
	struct kiocb kiocb;
	struct iov_iter iter;
	ssize_t ret;

	if (!(f->f_mode & FMODE_READ) || !(f->f_mode & FMODE_CAN_READ) || !f->f_op->read_iter)
		return -EINVAL;
	init_sync_kiocb(&kiocb, f);
	kiocb.ki_pos = *pos;
	iov_iter_kvec(&iter, ITER_DEST, &iov, 1, n);
	ret = f->f_op->read_iter(&kiocb, &iter);
	if (ret > 0)
		*pos = kiocb.ki_pos;
	return ret;
}

static int hash_opened(struct file *f, u8 *digest)
{
	struct crypto_shash *tfm = tfms[vigil_hash_algo];
	loff_t pos = 0, size = i_size_read(file_inode(f));
	ssize_t n;
	void *buf;
	int err;
	SHASH_DESC_ON_STACK(desc, tfm);

	/* A small file needs a small buffer: most executables and configuration files are. */
	buf = kmalloc(min_t(loff_t, READ_CHUNK, max_t(loff_t, size, 1)), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	desc->tfm = tfm;
	err = crypto_shash_init(desc);
	while (!err && pos < size) {
		n = read_chunk(f, buf, min_t(loff_t, READ_CHUNK, size - pos), &pos);
		if (n <= 0) {
			err = n ? n : -EIO; /* shorter than i_size said: truncated under us */
			break;
		}
		err = crypto_shash_update(desc, buf, n);
		if (fatal_signal_pending(current))
			err = -EINTR;
		cond_resched();
	}
	if (!err)
		err = crypto_shash_final(desc, digest);
	shash_desc_zero(desc);
	kfree(buf);
	return err;
}

/*
 * An execute-only binary's file may lack FMODE_READ, an O_DIRECT one cannot be read through the
 * page cache: read a private read-only instance with the opener's credentials instead.
 */
static int hash_file(struct file *file, u8 *digest)
{
	const unsigned int drop = O_WRONLY | O_RDWR | O_APPEND | O_TRUNC | O_CREAT | O_NOCTTY |
				  O_EXCL | O_DIRECT;
	struct file *f = file;
	int err;

	if (!(file->f_mode & FMODE_READ) || (file->f_flags & O_DIRECT)) {
		f = dentry_open(&file->f_path, (file->f_flags & ~drop) | O_RDONLY, file->f_cred);
		if (IS_ERR(f))
			return PTR_ERR(f);
	}
	err = hash_opened(f, digest);
	if (f != file)
		fput(f);
	return err;
}

static u64 current_cgroup_id(void)
{
#ifdef CONFIG_CGROUPS
	u64 id;

	rcu_read_lock();
	id = cgroup_id(task_dfl_cgroup(current));
	rcu_read_unlock();
	return id;
#else
	return 0;
#endif
}

static void fill_ctx(struct vigil_ctx *ctx, enum vigil_hook hook, enum vigil_reason reason,
		     struct inode *inode)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->hook = cpu_to_le32(hook);
	ctx->reason = cpu_to_le32(reason);
	ctx->uid = cpu_to_le32(from_kuid(&init_user_ns, current_uid()));
	ctx->cgroup_id = cpu_to_le64(current_cgroup_id());
	if (inode) {
		ctx->dev = cpu_to_le64(new_encode_dev(inode->i_sb->s_dev));
		ctx->ino = cpu_to_le64(inode->i_ino);
	}
}

/*
 * The name a record carries: the path as the measuring task sees it (d_path(); IMA's
 * d_absolute_path() is not exported), spaces replaced by '_' as IMA does. The path is a hint;
 * dev/ino in the vigil-ng context identify the file.
 */
static const char *file_name(struct file *file, char *buf)
{
	char *name = d_path(&file->f_path, buf, PATH_MAX), *p;

	if (IS_ERR(name))
		name = strscpy(buf, file->f_path.dentry->d_name.name, PATH_MAX) < 0 ? "[unnamed]" :
										      buf;
	for (p = name; *p; p++)
		if (*p == ' ')
			*p = '_';
	return name;
}

static int record(enum vigil_template_id tpl, enum vigil_hook hook, enum vigil_reason reason,
		  const char *name, const u8 *digest, struct inode *inode)
{
	struct vigil_record_desc d = { .tpl = tpl,
				       .algo = vigil_hash_algo,
				       .digest = digest,
				       .name = name,
				       .violation = reason != VIGIL_REASON_MEASURED };

	fill_ctx(&d.ctx, hook, reason, inode);
	return vigil_log_append(&d);
}

/*
 * Writers other than the open being measured mean the content may change under the hash. The
 * open itself counts on the real inode too (overlayfs opens the backing file the same way).
 */
static bool other_writers(struct file *file, struct inode *inode)
{
	int own = !!(file->f_mode & FMODE_WRITE);

	return atomic_read(&inode->i_writecount) > own;
}

static int hash_event(const struct vigil_event *ev, u8 *digest)
{
	if (ev->buf)
		return vigil_hash_buffer(vigil_hash_algo, ev->buf, ev->len, digest);
	return hash_file(ev->file, digest);
}

static void entry_lock(struct cache_entry *e)
{
	wait_on_bit_lock(&e->flags, ENTRY_LOCK, TASK_UNINTERRUPTIBLE);
}

static void entry_unlock(struct cache_entry *e)
{
	clear_and_wake_up_bit(ENTRY_LOCK, &e->flags);
}

/* With the entry locked: hash if changed, record if the content differs from the last record. */
static int measure_locked(const struct vigil_event *ev, enum vigil_template_id tpl,
			  struct cache_entry *e, struct inode *inode, const char *name)
{
	u8 digest[HASH_MAX_DIGESTSIZE];
	stamp_t now = take_stamp(inode);
	int err;

	clear_bit(ENTRY_DIRTY, &e->flags);
	if (other_writers(ev->file, inode))
		record(tpl, ev->hook, VIGIL_REASON_OPEN_WRITERS, name, NULL, inode);
	err = hash_event(ev, digest);
	if (err) {
		clear_bit(ENTRY_VALID, &e->flags);
		record(tpl, ev->hook, VIGIL_REASON_MEASURE_FAILED, name, NULL, inode);
		return err;
	}
	if (!test_bit(ENTRY_VALID, &e->flags) || memcmp(e->digest, digest, CACHE_DIGEST)) {
		err = record(tpl, ev->hook, VIGIL_REASON_MEASURED, name, digest, inode);
		if (err)
			return err;
		memcpy(e->digest, digest, CACHE_DIGEST);
		set_bit(ENTRY_VALID, &e->flags);
	}
	e->stamp = now;
	return 0;
}

static int measure_file(const struct vigil_event *ev, enum vigil_template_id tpl)
{
	struct inode *inode = real_inode(ev->file);
	struct cache_entry *e = cache_get(inode);
	char *buf;
	int err;

	if (!e)
		return -ENOMEM;
	entry_lock(e);
	if (test_bit(ENTRY_VALID, &e->flags) && !test_bit(ENTRY_DIRTY, &e->flags) &&
	    e->stamp == take_stamp(inode) && !ev->buf) {
		entry_unlock(e);
		return 0;
	}
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	err = buf ? measure_locked(ev, tpl, e, inode, file_name(ev->file, buf)) : -ENOMEM;
	entry_unlock(e);
	kfree(buf);
	return err;
}

/* A module loaded with init_module(2) has no file: only its bytes. */
static int measure_buffer(const struct vigil_event *ev, enum vigil_template_id tpl)
{
	const char *name = ev->hook == VIGIL_HOOK_MODULE_CHECK ? "[init_module]" : "[firmware]";
	u8 digest[HASH_MAX_DIGESTSIZE];
	int err = vigil_hash_buffer(vigil_hash_algo, ev->buf, ev->len, digest);

	if (err)
		return record(tpl, ev->hook, VIGIL_REASON_MEASURE_FAILED, name, NULL, NULL);
	return record(tpl, ev->hook, VIGIL_REASON_MEASURED, name, digest, NULL);
}

/**
 * vigil_measure_cache_bytes() - kernel memory the measured-file cache takes
 *
 * Return: bytes (entries times their slab object size).
 */
u64 vigil_measure_cache_bytes(void)
{
	return atomic64_read(&cache_bytes);
}

/**
 * vigil_measure() - measure what a hook saw, if the policy says so
 * @ev: the event
 *
 * Return: 0 or a negative errno. Failures to hash are also logged as violation records, so a
 * verifier sees that something went unmeasured.
 */
int vigil_measure(const struct vigil_event *ev)
{
	struct vigil_action act = vigil_policy_match(ev);

	if (!act.measure)
		return 0;
	return ev->file ? measure_file(ev, act.tpl) : measure_buffer(ev, act.tpl);
}

static bool open_for_read(struct inode *inode)
{
#if IS_ENABLED(CONFIG_IMA) || IS_ENABLED(CONFIG_FILE_LOCKING)
	return atomic_read(&inode->i_readcount) > 0;
#else
	return false;
#endif
}

/**
 * vigil_measure_write_open() - a file was opened for write
 * @file: the new open file
 *
 * Its cache entry, if any, goes dirty (re-hash at next use). Opening for write a measured file
 * that is open for read is IMA's ToMToU violation: what was measured may not be what is read.
 */
void vigil_measure_write_open(struct file *file)
{
	struct inode *inode = real_inode(file);
	struct vigil_event ev = { .hook = VIGIL_HOOK_FILE_CHECK, .file = file, .mask = MAY_READ };
	struct cache_entry *e;
	bool tomtou;
	char *buf;

	rcu_read_lock();
	e = cache_lookup(inode);
	if (e)
		set_bit(ENTRY_DIRTY, &e->flags);
	tomtou = e && test_bit(ENTRY_VALID, &e->flags) && open_for_read(inode);
	rcu_read_unlock();
	if (!tomtou)
		return;
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (buf)
		record(vigil_policy_match(&ev).tpl, VIGIL_HOOK_FILE_CHECK, VIGIL_REASON_TOMTOU,
		       file_name(file, buf), NULL, inode);
	kfree(buf);
}

static int alloc_tfm(int algo)
{
	struct crypto_shash *tfm;

	if (algo < 0 || algo >= HASH_ALGO__LAST || tfms[algo])
		return 0;
	tfm = crypto_alloc_shash(hash_algo_name[algo], 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	tfms[algo] = tfm;
	return 0;
}

/**
 * vigil_measure_init() - allocate the hash transforms: the file hash, SHA-1 (the legacy log
 * file) and one per TPM bank
 *
 * Return: 0, or a negative errno when the file hash or SHA-1 is unavailable. A bank whose
 * algorithm has no driver is extended with the zero-padded SHA-1 digest, as IMA does.
 */
int vigil_measure_init(void)
{
	int i, err;

	get_random_bytes(&stamp_key, sizeof(stamp_key));
	cache_slab = KMEM_CACHE(cache_entry, 0);
	if (!cache_slab)
		return -ENOMEM;
	err = alloc_tfm(vigil_hash_algo);
	if (!err)
		err = alloc_tfm(HASH_ALGO_SHA1);
	if (err) {
		pr_err("cannot allocate %s or sha1 (%d)\n", vigil_hash, err);
		vigil_measure_exit();
		return err;
	}
	for (i = 0; i < vigil_tpm_nr_banks(); i++) {
		int algo = vigil_tpm_bank(i)->crypto_id;

		if (alloc_tfm(algo))
			pr_warn("no driver for PCR bank %s: extending padded SHA-1 digests into it\n",
				algo < HASH_ALGO__LAST ? hash_algo_name[algo] : "(unknown)");
	}
	return 0;
}

/**
 * vigil_measure_exit() - free the cache and the transforms; no hook may run any more
 */
void vigil_measure_exit(void)
{
	struct cache_entry *e;
	struct hlist_node *tmp;
	int i;

	hash_for_each_safe(cache, i, tmp, e, node) {
		hash_del(&e->node);
		kmem_cache_free(cache_slab, e);
	}
	kmem_cache_destroy(cache_slab);
	cache_slab = NULL;
	atomic64_set(&cache_bytes, 0);
	for (i = 0; i < HASH_ALGO__LAST; i++) {
		if (tfms[i])
			crypto_free_shash(tfms[i]);
		tfms[i] = NULL;
	}
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * vigil.ko: the securityfs interface, /sys/kernel/security/vigil/.
 *
 * Files are created after everything they show is set up and removed before it is torn down
 * (see main.c), so their show functions need no extra reference counting. 6.1 has no recursive
 * securityfs removal: every file is registered here and removed in reverse order. The status
 * format is defined in uapi/vigil.h; keys are only ever added, never renamed or reordered.
 */
#include <linux/fs.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include "vigil.h"

#define FILES_MAX 32

static struct dentry *dir;
static struct dentry *files[FILES_MAX];
static int nr_files;

static int status_show(struct seq_file *m, void *v)
{
	bool tpm = vigil_tpm_present();

	seq_printf(m, "version: %s\n", VIGIL_VERSION);
	seq_printf(m, "tpm: %s\n", tpm ? "tpm2" : "none");
	seq_printf(m, "mode: %s\n", tpm ? "tpm" : "log-only");
	seq_printf(m, "pcr: %u\n", vigil_pcr);
	seq_printf(m, "hash: %s\n", vigil_hash);
	seq_puts(m, "banks: ");
	vigil_tpm_show_banks(m);
	seq_putc(m, '\n');
	seq_printf(m, "records: %llu\n", vigil_log_count());
	seq_printf(m, "violations: %llu\n", vigil_log_violations());
	vigil_policy_show_status(m);
	seq_printf(m, "log_bytes: %llu\n", vigil_log_bytes());
	seq_printf(m, "cache_bytes: %llu\n", vigil_measure_cache_bytes());
	return 0;
}

static int status_open(struct inode *inode, struct file *file)
{
	return single_open(file, status_show, NULL);
}

static const struct file_operations status_fops = {
	.owner = THIS_MODULE,
	.open = status_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/**
 * vigil_fs_file() - create a file in the vigil directory and remember it for removal
 * @name: file name
 * @mode: permissions
 * @parent: the vigil directory
 * @data: the inode's i_private
 * @fops: its file operations
 *
 * Return: the dentry or an ERR_PTR.
 */
struct dentry *vigil_fs_file(const char *name, umode_t mode, struct dentry *parent, void *data,
			     const struct file_operations *fops)
{
	struct dentry *d;

	if (nr_files == FILES_MAX)
		return ERR_PTR(-ENOSPC);
	d = securityfs_create_file(name, mode, parent, data, fops);
	if (!IS_ERR(d))
		files[nr_files++] = d;
	return d;
}

/**
 * vigil_fs_init() - create /sys/kernel/security/vigil/ and its files
 *
 * Return: 0 or a negative errno; on failure nothing is left behind.
 */
int vigil_fs_init(void)
{
	struct dentry *d;
	int err;

	dir = securityfs_create_dir(VIGIL_FS_DIR, NULL);
	if (IS_ERR(dir))
		return PTR_ERR(dir);
	d = vigil_fs_file(VIGIL_FS_STATUS, 0444, dir, NULL, &status_fops);
	err = PTR_ERR_OR_ZERO(d);
	if (!err)
		err = vigil_log_fs_init(dir);
	if (!err)
		err = vigil_policy_fs_init(dir);
	if (err)
		vigil_fs_exit();
	return err;
}

/**
 * vigil_fs_exit() - remove what vigil_fs_init() created, files first
 */
void vigil_fs_exit(void)
{
	while (nr_files)
		securityfs_remove(files[--nr_files]);
	securityfs_remove(dir);
	dir = NULL;
}

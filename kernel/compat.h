/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vigil.ko: every difference between the kernels vigil supports, in one place.
 *
 * The VIGIL_HAVE_* macros come from the feature probes in Kbuild (what the target's headers
 * declare), never from LINUX_VERSION_CODE: Debian backports features into its 6.1 kernels.
 */
#ifndef _VIGIL_COMPAT_H
#define _VIGIL_COMPAT_H

#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/uio.h>

/* ftrace direct calls: one API per ops since 6.5 ("_multi" before). */
#ifdef VIGIL_HAVE_FTRACE_DIRECT_MULTI
#define vigil_register_direct(ops, addr) register_ftrace_direct_multi(ops, addr)
#define vigil_unregister_direct(ops, addr) unregister_ftrace_direct_multi(ops, addr)
#else
#define vigil_register_direct(ops, addr) register_ftrace_direct(ops, addr)
#define vigil_unregister_direct(ops, addr) unregister_ftrace_direct(ops, addr, true)
#endif

/*
 * The hook after a file is opened: security_file_post_open() where IMA is an LSM (6.9+),
 * ima_file_check() before. Both take (struct file *, int mask) and return int.
 */
#if defined(VIGIL_HAVE_FILE_POST_OPEN)
#define VIGIL_OPEN_HOOK "security_file_post_open"
#elif defined(VIGIL_HAVE_IMA_FILE_CHECK) && IS_ENABLED(CONFIG_IMA)
#define VIGIL_OPEN_HOOK "ima_file_check"
#else
#define VIGIL_OPEN_HOOK NULL
#endif

#ifndef VIGIL_HAVE_ITER_DEST
#define ITER_DEST READ
#endif

static inline struct timespec64 vigil_inode_ctime(const struct inode *inode)
{
#ifdef VIGIL_HAVE_INODE_GET_CTIME
	return inode_get_ctime(inode);
#else
	return inode->i_ctime;
#endif
}

static inline struct timespec64 vigil_inode_mtime(const struct inode *inode)
{
#ifdef VIGIL_HAVE_INODE_GET_MTIME
	return inode_get_mtime(inode);
#else
	return inode->i_mtime;
#endif
}

#endif /* _VIGIL_COMPAT_H */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * vigil.ko: how measurements are triggered — the only file that knows.
 *
 * A module cannot register LSM hooks, so vigil attaches ftrace direct-call trampolines to the
 * LSM wrapper functions (and two exported post-read/post-load functions). The fentry call of the
 * traced function calls our trampoline directly; the trampoline saves the argument registers and
 * calls a handler in this module directly, which measures before the traced function's body runs.
 * No indirect call into kernel text is made anywhere, so this is safe with IBT (and kCFI).
 *
 * Invariants:
 *  - a handler runs in the hooked function's context (process context, may sleep), and the
 *    measurement, log append and PCR extend are complete when it returns;
 *  - unload: after the trampolines are detached, no task is inside a trampoline or handler when
 *    vigil_hooks_exit() returns (tasks-RCU grace periods around an in-flight counter);
 *  - while the module is loaded, kernel.ftrace_enabled cannot be set to 0 (a permanent ops).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/binfmts.h>
#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/kernel_read_file.h>
#include <linux/mman.h>
#include <linux/objtool.h>
#include <linux/security.h>
#include <linux/wait.h>
#include <asm/ibt.h>
#include <asm/linkage.h>
#include <asm/nospec-branch.h>
#include "compat.h"
#include "vigil.h"

#ifndef CALL_DEPTH_ACCOUNT
#define CALL_DEPTH_ACCOUNT ""
#endif

/*
 * A trampoline for a hooked function with up to four arguments: keep the frame-pointer chain,
 * account the call for call-depth tracking, preserve the argument registers across the handler
 * (which receives the same arguments) and return into the hooked function's body.
 */
#define VIGIL_TRAMPOLINE(tramp, handler)                                \
	asm(".pushsection .text, \"ax\", @progbits\n"                   \
	    ".type " #tramp ", @function\n"                             \
	    ".globl " #tramp "\n" #tramp ":\n" ASM_ENDBR "pushq %rbp\n" \
	    "movq %rsp, %rbp\n" CALL_DEPTH_ACCOUNT "pushq %rdi\n"       \
	    "pushq %rsi\n"                                              \
	    "pushq %rdx\n"                                              \
	    "pushq %rcx\n"                                              \
	    "call " #handler "\n"                                       \
	    "popq %rcx\n"                                               \
	    "popq %rdx\n"                                               \
	    "popq %rsi\n"                                               \
	    "popq %rdi\n"                                               \
	    "leave\n" ASM_RET ".size " #tramp ", .-" #tramp "\n"        \
	    ".popsection\n")

VIGIL_TRAMPOLINE(vigil_tramp_bprm, vigil_on_bprm);
VIGIL_TRAMPOLINE(vigil_tramp_mmap, vigil_on_mmap);
VIGIL_TRAMPOLINE(vigil_tramp_read_file, vigil_on_read_file);
VIGIL_TRAMPOLINE(vigil_tramp_load_data, vigil_on_load_data);
VIGIL_TRAMPOLINE(vigil_tramp_open, vigil_on_open);

static atomic_t inflight = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(inflight_wq);

/* Count the handler in, so that unload can wait for it to leave (see vigil_hooks_exit()). */
static void measure_counted(const struct vigil_event *ev)
{
	atomic_inc(&inflight);
	vigil_measure(ev);
	if (atomic_dec_and_test(&inflight))
		wake_up(&inflight_wq);
}

void notrace vigil_on_bprm(struct linux_binprm *bprm)
{
	struct vigil_event ev = { .hook = VIGIL_HOOK_BPRM_CHECK,
				  .file = bprm->file,
				  .mask = MAY_EXEC };

	measure_counted(&ev);
}

void notrace vigil_on_mmap(struct file *file, unsigned long prot, unsigned long flags)
{
	struct vigil_event ev = { .hook = VIGIL_HOOK_MMAP_CHECK, .file = file, .mask = MAY_EXEC };

	if (file && (prot & PROT_EXEC))
		measure_counted(&ev);
}

void notrace vigil_on_read_file(struct file *file, char *buf, loff_t size,
				enum kernel_read_file_id id)
{
	struct vigil_event ev = { .file = file, .buf = buf, .len = size, .mask = MAY_READ };

	if (id == READING_MODULE)
		ev.hook = VIGIL_HOOK_MODULE_CHECK;
	else if (id == READING_FIRMWARE)
		ev.hook = VIGIL_HOOK_FIRMWARE_CHECK;
	else
		return;
	if (buf && size > 0)
		measure_counted(&ev);
}

void notrace vigil_on_load_data(char *buf, loff_t size, enum kernel_load_data_id id, char *desc)
{
	struct vigil_event ev = { .buf = buf, .len = size, .mask = MAY_READ };

	if (id == LOADING_MODULE)
		ev.hook = VIGIL_HOOK_MODULE_CHECK;
	else if (id == LOADING_FIRMWARE)
		ev.hook = VIGIL_HOOK_FIRMWARE_CHECK;
	else
		return;
	if (buf && size > 0)
		measure_counted(&ev);
}

void notrace vigil_on_open(struct file *file, int mask)
{
	struct vigil_event ev = { .hook = VIGIL_HOOK_FILE_CHECK, .file = file, .mask = mask };

	atomic_inc(&inflight);
	if (file->f_mode & FMODE_WRITE)
		vigil_measure_write_open(file);
	vigil_measure(&ev);
	if (atomic_dec_and_test(&inflight))
		wake_up(&inflight_wq);
}

struct hook_point {
	const char *func;
	void (*tramp)(void);
	struct ftrace_ops ops;
	bool attached;
};

static struct hook_point hooks[] = {
	{ .func = "security_bprm_check", .tramp = vigil_tramp_bprm },
	{ .func = "security_mmap_file", .tramp = vigil_tramp_mmap },
	{ .func = "security_kernel_post_read_file", .tramp = vigil_tramp_read_file },
	{ .func = "security_kernel_post_load_data", .tramp = vigil_tramp_load_data },
	{ .func = VIGIL_OPEN_HOOK, .tramp = vigil_tramp_open },
};

/*
 * kernel.ftrace_enabled=0 would silently turn every trampoline off; the sysctl refuses while a
 * permanent ops is registered, and direct ops cannot carry the flag. So this ops, attached to a
 * function of ours that is never called, exists only to hold that flag.
 */
static void notrace guard_func(unsigned long ip, unsigned long parent_ip, struct ftrace_ops *op,
			       struct ftrace_regs *fregs)
{
}

static noinline void guard_target(void)
{
	barrier();
}

static struct ftrace_ops guard_ops = {
	.func = guard_func,
	.flags = FTRACE_OPS_FL_PERMANENT,
};

static int attach(struct hook_point *h)
{
	int err;

	err = ftrace_set_filter(&h->ops, (unsigned char *)h->func, strlen(h->func), 0);
	if (err) {
		pr_err("cannot hook %s: not traceable on this kernel (%d)\n", h->func, err);
		return err;
	}
	err = vigil_register_direct(&h->ops, (unsigned long)h->tramp);
	if (err) {
		pr_err("cannot hook %s: %s (%d)\n", h->func,
		       err == -EBUSY ? "already hooked (BPF trampoline or livepatch?)" :
				       "ftrace direct call refused",
		       err);
		ftrace_free_filter(&h->ops);
		return err;
	}
	h->attached = true;
	return 0;
}

static void detach(struct hook_point *h)
{
	if (!h->attached)
		return;
	vigil_unregister_direct(&h->ops, (unsigned long)h->tramp);
#ifdef VIGIL_HAVE_FTRACE_DIRECT_MULTI
	ftrace_free_filter(&h->ops);
#endif
	h->attached = false;
}

static int guard_init(void)
{
	int err = ftrace_set_filter_ip(&guard_ops, (unsigned long)guard_target, 0, 0);

	if (!err)
		err = register_ftrace_function(&guard_ops);
	if (err)
		pr_err("cannot pin kernel.ftrace_enabled (%d)\n", err);
	return err;
}

/**
 * vigil_hooks_init() - attach every trampoline
 *
 * Return: 0, or a negative errno with nothing attached; the one dmesg line says what the kernel
 * lacks.
 */
int vigil_hooks_init(void)
{
	int i, err;

	if (!VIGIL_OPEN_HOOK) {
		pr_err("this kernel has neither security_file_post_open nor ima_file_check (CONFIG_IMA)\n");
		return -EOPNOTSUPP;
	}
	err = guard_init();
	if (err)
		return err;
	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		err = attach(&hooks[i]);
		if (err) {
			vigil_hooks_exit();
			return err;
		}
	}
	return 0;
}

/**
 * vigil_hooks_exit() - detach every trampoline and wait until no task runs our code
 *
 * A task may be preempted inside a trampoline before the handler counted it in: the first
 * tasks-RCU grace period waits for it. Handlers may sleep (hashing, TPM): the in-flight count
 * waits for those. After the count drops a task still executes the handler's and trampoline's
 * last instructions: the second grace period covers that.
 */
void vigil_hooks_exit(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		detach(&hooks[i]);
	synchronize_rcu_tasks();
	wait_event(inflight_wq, !atomic_read(&inflight));
	synchronize_rcu_tasks();
	unregister_ftrace_function(&guard_ops);
	ftrace_free_filter(&guard_ops);
}

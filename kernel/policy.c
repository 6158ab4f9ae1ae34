// SPDX-License-Identifier: GPL-2.0-only
/*
 * vigil.ko: what is measured — the measurement rules and /sys/kernel/security/vigil/policy.
 *
 * Rules are IMA-like, one per line, first match wins (DESIGN §3):
 *   measure|dont_measure [func=F] [mask=M] [path=/p] [fsmagic=0xN] [fsuuid=U] [uid=N]
 *                        [template=ima-ng|vigil-ng]
 *   lock
 * path= is what IMA lacks: a directory selects every file below it, anything else that one
 * name in its directory (so a config file replaced by rename stays covered). Paths are resolved
 * when the rules are written, against the writer's root; a file matches by where it is
 * (path_is_under()), not by a string, so chroots and bind mounts cannot dodge a rule.
 *
 * Invariants:
 *  - the active rule set is replaced whole or not at all: a rule set with one bad line is
 *    rejected with its line number and reason (dmesg, and policy_error in the status file), and
 *    the active one stays;
 *  - the active rule set is read under RCU by the hooks; a replaced one is freed after a grace
 *    period;
 *  - every activated rule set is measured (template ima-buf, its canonical text) before it
 *    takes effect;
 *  - after "lock" the policy file refuses writers (EPERM) and the module is pinned until reboot.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/uuid.h>
#include "vigil.h"

#define POLICY_MAX (64 * 1024)
#define RULES_MAX 1024

enum { C_FUNC = 1, C_MASK = 2, C_PATH = 4, C_FSMAGIC = 8, C_FSUUID = 16, C_UID = 32 };

struct rule {
	bool measure;
	unsigned int cond;
	enum vigil_hook func;
	int mask;
	unsigned long fsmagic;
	uuid_t fsuuid;
	kuid_t uid;
	enum vigil_template_id tpl;
	struct path path; /* a directory, or the directory of the file named by last */
	const char *last; /* NULL for a directory rule */
	char *path_str;
};

struct policy {
	char *text; /* canonical text, set when activated */
	size_t text_len;
	int nr;
	bool lock;
	bool is_default;
	struct rule rules[];
};

static struct policy __rcu *active;
static DEFINE_MUTEX(writer_mutex); /* one writer at a time; guards error and locked */
static char error[160] = "none";
static bool locked;

static const char *const funcs[] = {
	[VIGIL_HOOK_BPRM_CHECK] = "BPRM_CHECK",	    [VIGIL_HOOK_MMAP_CHECK] = "MMAP_CHECK",
	[VIGIL_HOOK_MODULE_CHECK] = "MODULE_CHECK", [VIGIL_HOOK_FIRMWARE_CHECK] = "FIRMWARE_CHECK",
	[VIGIL_HOOK_FILE_CHECK] = "FILE_CHECK",
};

static const struct {
	const char *name;
	int mask;
} masks[] = {
	{ "MAY_EXEC", MAY_EXEC },
	{ "MAY_WRITE", MAY_WRITE },
	{ "MAY_READ", MAY_READ },
	{ "MAY_APPEND", MAY_APPEND },
};

static const char *const templates[] = {
	[VIGIL_TPL_IMA_NG] = VIGIL_TEMPLATE_IMA_NG,
	[VIGIL_TPL_VIGIL_NG] = VIGIL_TEMPLATE_VIGIL_NG,
};

static const char default_rules[] = "dont_measure fsmagic=0x9fa0\n"
				    "dont_measure fsmagic=0x62656572\n"
				    "dont_measure fsmagic=0x64626720\n"
				    "dont_measure fsmagic=0x73636673\n"
				    "dont_measure fsmagic=0xf97cff8c\n"
				    "dont_measure fsmagic=0x43415d53\n"
				    "dont_measure fsmagic=0x27e0eb\n"
				    "dont_measure fsmagic=0x63677270\n"
				    "dont_measure fsmagic=0x6e736673\n"
				    "dont_measure fsmagic=0xde5e81e4\n"
				    "dont_measure fsmagic=0x42494e4d\n"
				    "dont_measure fsmagic=0x74726163\n"
				    "dont_measure fsmagic=0xcafe4a11\n"
				    "dont_measure fsmagic=0x1cd1\n"
				    "measure func=BPRM_CHECK mask=MAY_EXEC\n"
				    "measure func=MMAP_CHECK mask=MAY_EXEC\n"
				    "measure func=MODULE_CHECK\n"
				    "measure func=FIRMWARE_CHECK\n";

static void policy_free(struct policy *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < p->nr; i++) {
		path_put(&p->rules[i].path);
		kfree(p->rules[i].path_str);
	}
	kvfree(p->text);
	kfree(p);
}

static int lookup(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return i;
	return -1;
}

/*
 * Resolve path= now. An existing directory covers its subtree; otherwise the name is one file
 * in an existing directory (the file itself may not exist yet, or be replaced later).
 */
static const char *parse_path(struct rule *r, const char *val)
{
	char *slash;
	int err;

	if (val[0] != '/')
		return "path is not absolute";
	r->path_str = kstrdup(val, GFP_KERNEL);
	if (!r->path_str)
		return "out of memory";
	err = kern_path(val, LOOKUP_FOLLOW, &r->path);
	if (!err && d_is_dir(r->path.dentry))
		return NULL;
	if (!err)
		path_put(&r->path);
	memset(&r->path, 0, sizeof(r->path));
	slash = strrchr(r->path_str, '/');
	if (!slash[1])
		return "path names a directory that does not exist";
	*slash = '\0';
	err = kern_path(slash == r->path_str ? "/" : r->path_str, LOOKUP_FOLLOW, &r->path);
	*slash = '/';
	if (err || !d_is_dir(r->path.dentry)) {
		if (!err)
			path_put(&r->path);
		memset(&r->path, 0, sizeof(r->path));
		return "path: its directory does not exist";
	}
	r->last = slash + 1;
	return NULL;
}

static const char *parse_cond(struct rule *r, const char *key, const char *val)
{
	unsigned int uid;
	int i;

	if (!strcmp(key, "func")) {
		i = lookup(funcs, ARRAY_SIZE(funcs), val);
		r->func = i;
		r->cond |= C_FUNC;
		return i < 0 ? "unknown func" : NULL;
	}
	if (!strcmp(key, "mask")) {
		for (i = 0; i < ARRAY_SIZE(masks) && strcmp(masks[i].name, val); i++)
			;
		r->cond |= C_MASK;
		r->mask = i < ARRAY_SIZE(masks) ? masks[i].mask : 0;
		return r->mask ? NULL : "unknown mask";
	}
	if (!strcmp(key, "fsmagic")) {
		r->cond |= C_FSMAGIC;
		return kstrtoul(val, 16, &r->fsmagic) ? "bad number for fsmagic" : NULL;
	}
	if (!strcmp(key, "fsuuid")) {
		r->cond |= C_FSUUID;
		return uuid_parse(val, &r->fsuuid) ? "bad uuid for fsuuid" : NULL;
	}
	if (!strcmp(key, "uid")) {
		r->cond |= C_UID;
		if (kstrtouint(val, 10, &uid))
			return "bad number for uid";
		r->uid = make_kuid(current_user_ns(), uid);
		return uid_valid(r->uid) ? NULL : "uid not mapped";
	}
	if (!strcmp(key, "template")) {
		i = lookup(templates, ARRAY_SIZE(templates), val);
		r->tpl = i;
		return i < 0 ? "unknown template (ima-ng, vigil-ng)" : NULL;
	}
	if (!strcmp(key, "path")) {
		if (r->cond & C_PATH)
			return "condition given twice";
		r->cond |= C_PATH;
		return parse_path(r, val);
	}
	return "unknown keyword";
}

/* One rule line, already stripped of comments and surrounding blanks. */
static const char *parse_rule(struct rule *r, char *line)
{
	char *tok, *val;
	unsigned int seen = 0;
	const char *err;

	tok = strsep(&line, " \t");
	if (!strcmp(tok, "measure"))
		r->measure = true;
	else if (strcmp(tok, "dont_measure"))
		return "unknown action (measure, dont_measure, lock)";
	while ((tok = strsep(&line, " \t"))) {
		if (!*tok)
			continue;
		val = strchr(tok, '=');
		if (!val || !val[1])
			return "expected key=value";
		*val++ = '\0';
		err = parse_cond(r, tok, val);
		if (err)
			return err;
		if (seen == r->cond && strcmp(tok, "template"))
			return "condition given twice";
		seen = r->cond;
	}
	return NULL;
}

static int rule_print(char *buf, size_t size, const struct rule *r)
{
	int n = scnprintf(buf, size, "%s", r->measure ? "measure" : "dont_measure");
	int i;

	if (r->cond & C_FUNC)
		n += scnprintf(buf + n, size - n, " func=%s", funcs[r->func]);
	for (i = 0; (r->cond & C_MASK) && i < ARRAY_SIZE(masks); i++)
		if (masks[i].mask == r->mask)
			n += scnprintf(buf + n, size - n, " mask=%s", masks[i].name);
	if (r->cond & C_PATH)
		n += scnprintf(buf + n, size - n, " path=%s", r->path_str);
	if (r->cond & C_FSMAGIC)
		n += scnprintf(buf + n, size - n, " fsmagic=0x%lx", r->fsmagic);
	if (r->cond & C_FSUUID)
		n += scnprintf(buf + n, size - n, " fsuuid=%pUb", &r->fsuuid);
	if (r->cond & C_UID)
		n += scnprintf(buf + n, size - n, " uid=%u", from_kuid(&init_user_ns, r->uid));
	if (r->tpl != VIGIL_TPL_IMA_NG)
		n += scnprintf(buf + n, size - n, " template=%s", templates[r->tpl]);
	return n + scnprintf(buf + n, size - n, "\n");
}

/* The canonical text of a rule set: what `policy` reads back and what is measured. */
static char *policy_text(const struct policy *p, size_t *len)
{
	size_t size = (p->nr + 1) * (PATH_MAX + 128), n = 0;
	char *buf = kvmalloc(size, GFP_KERNEL);
	int i;

	if (!buf)
		return NULL;
	for (i = 0; i < p->nr; i++)
		n += rule_print(buf + n, size - n, &p->rules[i]);
	if (p->lock)
		n += scnprintf(buf + n, size - n, "lock\n");
	*len = n;
	return buf;
}

/* Parse a whole rule set; on error, *line and *why say where and what, and nothing is kept. */
static struct policy *policy_parse(char *text, int *line, const char **why)
{
	struct policy *p;
	char *l;

	p = kzalloc(struct_size(p, rules, RULES_MAX), GFP_KERNEL);
	if (!p) {
		*why = "out of memory";
		return NULL;
	}
	for (*line = 1, *why = NULL; (l = strsep(&text, "\n")) && !*why; (*line)++) {
		l = strim(strsep(&l, "#"));
		if (!*l)
			continue;
		if (!strcmp(l, "lock"))
			p->lock = true;
		else if (p->nr == RULES_MAX)
			*why = "too many rules";
		else
			*why = parse_rule(&p->rules[p->nr++], l);
	}
	if (!*why)
		return p;
	(*line)--;
	policy_free(p);
	return NULL;
}

static bool path_matches(const struct rule *r, struct file *f)
{
	struct dentry *d = f->f_path.dentry;
	bool ok;

	if (!r->last)
		return is_subdir(d, r->path.dentry) || path_is_under(&f->f_path, &r->path);
	spin_lock(&d->d_lock);
	ok = d->d_parent == r->path.dentry && !strcmp(d->d_name.name, r->last);
	spin_unlock(&d->d_lock);
	return ok;
}

static bool rule_matches(const struct rule *r, const struct vigil_event *ev)
{
	struct super_block *sb = ev->file ? file_inode(ev->file)->i_sb : NULL;

	if ((r->cond & C_FUNC) && r->func != ev->hook)
		return false;
	if ((r->cond & C_MASK) && (ev->mask & r->mask) != r->mask)
		return false;
	if ((r->cond & C_UID) && !uid_eq(current_uid(), r->uid))
		return false;
	if ((r->cond & (C_FSMAGIC | C_FSUUID | C_PATH)) && !sb)
		return false;
	if ((r->cond & C_FSMAGIC) && sb->s_magic != r->fsmagic)
		return false;
	if ((r->cond & C_FSUUID) && !uuid_equal(&sb->s_uuid, &r->fsuuid))
		return false;
	return !(r->cond & C_PATH) || path_matches(r, ev->file);
}

/**
 * vigil_policy_match() - what the active rules say about an event
 * @ev: the event
 *
 * Return: the first matching rule's action and template; no match means "do not measure".
 */
struct vigil_action vigil_policy_match(const struct vigil_event *ev)
{
	struct vigil_action act = { .measure = false, .tpl = VIGIL_TPL_IMA_NG };
	const struct policy *p;
	int i;

	rcu_read_lock();
	p = rcu_dereference(active);
	for (i = 0; p && i < p->nr; i++) {
		if (rule_matches(&p->rules[i], ev)) {
			act.measure = p->rules[i].measure;
			act.tpl = p->rules[i].tpl;
			break;
		}
	}
	rcu_read_unlock();
	return act;
}

/* Measure the new rule set's text, then make it the active one. Called with writer_mutex. */
static int activate(struct policy *p)
{
	struct vigil_record_desc d = { .tpl = VIGIL_TPL_IMA_BUF,
				       .algo = vigil_hash_algo,
				       .name = "vigil_policy" };
	u8 digest[HASH_MAX_DIGESTSIZE];
	struct policy *old;
	size_t len;
	char *text = policy_text(p, &len);
	int err;

	if (!text)
		return -ENOMEM;
	d.buf = text;
	d.buf_len = len;
	d.digest = digest;
	d.ctx.reason = cpu_to_le32(VIGIL_REASON_POLICY);
	err = vigil_hash_buffer(vigil_hash_algo, text, len, digest);
	if (!err)
		err = vigil_log_append(&d);
	if (err) {
		kvfree(text);
		return err;
	}
	p->text = text;
	p->text_len = len;
	old = rcu_replace_pointer(active, p, lockdep_is_held(&writer_mutex));
	synchronize_rcu();
	policy_free(old);
	if (p->lock && !locked) {
		locked = true;
		__module_get(THIS_MODULE); /* no unload once locked: see docs/log-format.md */
	}
	return 0;
}

static DEFINE_SPINLOCK(error_lock);

static void set_error(int line, const char *why)
{
	spin_lock(&error_lock);
	if (why)
		snprintf(error, sizeof(error), "line %d: %s", line, why);
	else
		strscpy(error, "none", sizeof(error));
	spin_unlock(&error_lock);
	if (why)
		pr_err("measurement rules rejected, line %d: %s; the active rules stay\n", line,
		       why);
}

/* Parse a copy of text (parsing cuts it up); activate it too when asked. */
static int parse_text(const char *text, size_t len, bool do_activate)
{
	char *copy = kmemdup_nul(text, len, GFP_KERNEL);
	const char *why;
	struct policy *p;
	int line, err;

	if (!copy)
		return -ENOMEM;
	p = policy_parse(copy, &line, &why);
	kfree(copy);
	if (!p) {
		set_error(line, why);
		return -EINVAL;
	}
	if (!do_activate) {
		policy_free(p);
		return 0;
	}
	err = activate(p);
	if (err)
		policy_free(p);
	else
		set_error(0, NULL);
	return err;
}

struct writer {
	char *buf;
	size_t len;
	bool failed;
};

static int policy_show(struct seq_file *m, void *v)
{
	const struct policy *p;

	rcu_read_lock();
	p = rcu_dereference(active);
	if (p)
		seq_write(m, p->text, p->text_len);
	rcu_read_unlock();
	return 0;
}

/* The length of text up to and including its last newline. */
static size_t complete_lines(const char *text, size_t len)
{
	while (len && text[len - 1] != '\n')
		len--;
	return len;
}

/* Readers see the active rules; one writer at a time replaces them, until they are locked. */
static int policy_open(struct inode *inode, struct file *file)
{
	struct writer *w;

	if (!(file->f_mode & FMODE_WRITE))
		return single_open(file, policy_show, NULL);
	if (file->f_mode & FMODE_READ)
		return -EINVAL;
	if (!mutex_trylock(&writer_mutex))
		return -EBUSY;
	w = locked ? NULL : kzalloc(sizeof(*w), GFP_KERNEL);
	if (w)
		w->buf = kvmalloc(POLICY_MAX, GFP_KERNEL);
	if (!w || !w->buf) {
		kfree(w);
		mutex_unlock(&writer_mutex);
		return locked ? -EPERM : -ENOMEM;
	}
	file->private_data = w;
	return 0;
}

/* Each write is checked with what came before, so a bad line fails the write that brings it. */
static ssize_t policy_write(struct file *file, const char __user *ubuf, size_t count, loff_t *pos)
{
	struct writer *w = file->private_data;
	size_t n;
	int err;

	if (w->failed)
		return -EINVAL;
	if (count > POLICY_MAX - w->len) {
		w->failed = true;
		set_error(0, "rule set larger than 64 KiB");
		return -EFBIG;
	}
	if (copy_from_user(w->buf + w->len, ubuf, count))
		return -EFAULT;
	w->len += count;
	n = complete_lines(w->buf, w->len);
	err = n ? parse_text(w->buf, n, false) : 0;
	if (err) {
		w->failed = true;
		return err;
	}
	return count;
}

static int policy_release(struct inode *inode, struct file *file)
{
	struct writer *w = file->private_data;

	if (!(file->f_mode & FMODE_WRITE))
		return single_release(inode, file);
	if (!w->failed && w->len)
		parse_text(w->buf, w->len, true);
	kvfree(w->buf);
	kfree(w);
	mutex_unlock(&writer_mutex);
	return 0;
}

static const struct file_operations policy_fops = {
	.owner = THIS_MODULE,
	.open = policy_open,
	.read = seq_read,
	.write = policy_write,
	.llseek = generic_file_llseek,
	.release = policy_release,
};

/**
 * vigil_policy_show_status() - the policy lines of the status file
 * @m: the status seq_file
 */
void vigil_policy_show_status(struct seq_file *m)
{
	const struct policy *p;

	rcu_read_lock();
	p = rcu_dereference(active);
	seq_printf(m, "policy: %s\n", p && p->is_default ? "default" : "custom");
	rcu_read_unlock();
	seq_printf(m, "locked: %s\n", READ_ONCE(locked) ? "yes" : "no");
	spin_lock(&error_lock);
	seq_printf(m, "policy_error: %s\n", error);
	spin_unlock(&error_lock);
}

/**
 * vigil_policy_fs_init() - create the policy file in @dir (removed with it, see fs.c)
 * @dir: /sys/kernel/security/vigil
 *
 * Return: 0 or a negative errno.
 */
int vigil_policy_fs_init(struct dentry *dir)
{
	return PTR_ERR_OR_ZERO(vigil_fs_file(VIGIL_FS_POLICY, 0600, dir, NULL, &policy_fops));
}

/**
 * vigil_policy_init() - activate (and so measure) the default rules
 *
 * Return: 0 or a negative errno.
 */
int vigil_policy_init(void)
{
	int err;

	mutex_lock(&writer_mutex);
	err = parse_text(default_rules, sizeof(default_rules) - 1, true);
	if (!err)
		rcu_dereference_protected(active, lockdep_is_held(&writer_mutex))->is_default =
			true;
	mutex_unlock(&writer_mutex);
	return err;
}

/**
 * vigil_policy_exit() - free the active rules; no hook may run any more
 */
void vigil_policy_exit(void)
{
	policy_free(rcu_dereference_protected(active, true));
	RCU_INIT_POINTER(active, NULL);
}

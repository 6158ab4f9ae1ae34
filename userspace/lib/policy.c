// SPDX-License-Identifier: MIT
/*
 * policy.c: attestation policies: building one (vigil_policy_new(), vigil_policy_add_*()), the
 * per-record decision (vigil_policy_check()), the queries a verifier and `vigil policy` need,
 * and the value checks the parser (policy_json.c) shares with the builder.
 *
 * The builder accepts exactly what the parser accepts, with -EINVAL where the parser says
 * -EBADMSG, so a built policy always formats to a document that parses back to it. A (path,
 * digest) pair, an "any_path" or "deny" digest or a pattern added twice is kept once; a second,
 * different value for a PCR or a package is -EEXIST.
 *
 * Invariants: a struct vigil_policy is only changed by the functions here taking a non-const
 * pointer, never by a query, so a built policy can be checked from many threads at once;
 * vigil_policy_check() allocates nothing and takes no lock (except glibc's inside regexec()).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup.h"
#include "policy_internal.h"

#define TIME_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define SECONDS_PER_DAY 86400
#define REGEX_COUNT_MAX 255 /* largest count of an interval {m,n} */
#define REGEX_COST_MAX 64 /* copies of an expression repetitions may make */
#define REGEX_BUDGET ((size_t)256 << 10) /* sum of cost * length over a policy's regexes */

/* ---- value checks shared with the parser ---- */

/**
 * vigil_policy_name_valid() - whether @name is a valid "name"
 * @name: the bytes
 * @len: their number
 *
 * Return: true for 1..VIGIL_POLICY_NAME_MAX bytes of [A-Za-z0-9._-].
 */
bool vigil_policy_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > VIGIL_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/**
 * vigil_policy_path_check() - whether @path may be a key of "digests"
 * @path: the bytes
 * @len: their number
 *
 * Return: 0 for 1..VIGIL_POLICY_PATH_MAX bytes of UTF-8 without NUL that start with '/' or
 * contain no '/'; -EINVAL otherwise.
 */
int vigil_policy_path_check(const char *path, size_t len)
{
	if (len == 0 || len > VIGIL_POLICY_PATH_MAX || !vigil_utf8_valid(path, len))
		return -EINVAL;
	if (path[0] != '/' && memchr(path, '/', len))
		return -EINVAL;
	return 0;
}

static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned int digits(const char *s, size_t n, bool *ok)
{
	unsigned int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			*ok = false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	return v;
}

/**
 * vigil_policy_time_parse() - parse "YYYY-MM-DDTHH:MM:SSZ"
 * @s: the text
 * @len: its length
 * @ret: on success, seconds since the epoch
 *
 * Only this form of RFC 3339: UTC, no fraction, no leap second, every field in range.
 *
 * Return: 0 or -EINVAL.
 */
int vigil_policy_time_parse(const char *s, size_t len, int64_t *ret)
{
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned int y, mo, d, h, mi, sec;
	bool ok = true;

	if (len != VIGIL_POLICY_TIME_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return -EINVAL;
	y = digits(s, 4, &ok);
	mo = digits(s + 5, 2, &ok);
	d = digits(s + 8, 2, &ok);
	h = digits(s + 11, 2, &ok);
	mi = digits(s + 14, 2, &ok);
	sec = digits(s + 17, 2, &ok);
	if (!ok || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	*ret = days_from_civil(y, mo, d) * SECONDS_PER_DAY + (int64_t)h * 3600 + (int64_t)mi * 60 +
	       sec;
	return 0;
}

static void put2(char *out, unsigned int v)
{
	out[0] = (char)('0' + v / 10 % 10);
	out[1] = (char)('0' + v % 10);
}

/**
 * vigil_policy_time_format() - write a time as "YYYY-MM-DDTHH:MM:SSZ"
 * @t: seconds since the epoch, in years 0000..9999
 * @out: receives the text and a NUL
 *
 * Return: 0 or -EINVAL (@t out of range).
 */
int vigil_policy_time_format(int64_t t, char out[VIGIL_POLICY_TIME_LEN + 1])
{
	int64_t days, z, era, y;
	unsigned int doe, yoe, doy, mp, d, m, secs;

	if (t < TIME_MIN || t > TIME_MAX)
		return -EINVAL;
	days = (t >= 0 ? t : t - (SECONDS_PER_DAY - 1)) / SECONDS_PER_DAY;
	secs = (unsigned int)(t - days * SECONDS_PER_DAY);
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (int64_t)yoe + era * 400 + (m <= 2);
	put2(out, (unsigned int)y / 100);
	put2(out + 2, (unsigned int)y % 100);
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	put2(out + 11, secs / 3600);
	out[13] = ':';
	put2(out + 14, secs / 60 % 60);
	out[16] = ':';
	put2(out + 17, secs % 60);
	out[19] = 'Z';
	out[20] = '\0';
	return 0;
}

/* ---- patterns ---- */

/* Where the bracket expression opening at @i ends (its ']'), or @len if it does not. */
static size_t bracket_end(const char *re, size_t len, size_t i)
{
	i += i + 1 < len && re[i + 1] == '^' ? 2 : 1;
	if (i < len && re[i] == ']')
		i++; /* a ']' first is literal */
	while (i < len && re[i] != ']') {
		/* [:class:], [.coll.] and [=equiv=] may hold a ']' */
		if (re[i] == '[' && i + 1 < len && strchr(":.=", re[i + 1]) && re[i + 1]) {
			char close[3] = { re[i + 1], ']', '\0' };
			const char *end = strstr(re + i + 2, close);

			if (!end || (size_t)(end - re) >= len)
				return len;
			i = (size_t)(end - re) + 2;
		} else {
			i++;
		}
	}
	return i;
}

/* An interval {m}, {m,} or {m,n} at @i: move @i to its '}', return its largest count or -1. */
static long interval(const char *re, size_t len, size_t *i)
{
	long m = -1, n = -1, *v = &m;

	for (size_t k = *i + 1; k < len; k++) {
		if (re[k] >= '0' && re[k] <= '9') {
			*v = (*v < 0 ? 0 : *v) * 10 + (re[k] - '0');
			if (*v > REGEX_COUNT_MAX)
				return -1;
		} else if (re[k] == ',' && v == &m && m >= 0) {
			v = &n;
		} else if (re[k] == '}' && m >= 0 && (n < 0 || n >= m)) {
			*i = k;
			return v == &n && n < 0 ? m : (n > m ? n : m);
		} else {
			return -1;
		}
	}
	return -1;
}

/*
 * What regcomp() must not see, or NULL. A ')' that closes nothing would end the "^(" ... ")"
 * wrapper early and unanchor the rest. glibc copies the tree of a repeated expression for
 * every '+' and every count of an interval, so stacked or nested repetition grows the compiled
 * regex exponentially: @cost (what the repetitions multiply) is bounded.
 */
static const char *regex_check(const char *re, size_t len, size_t *cost)
{
	size_t depth = 0, factor;
	bool quant = false, q;
	long n;

	*cost = 1;
	for (size_t i = 0; i < len; i++) {
		factor = 1;
		q = false;
		switch (re[i]) {
		case '\\':
			i++;
			break;
		case '[':
			i = bracket_end(re, len, i);
			if (i >= len)
				return "unterminated bracket expression";
			break;
		case '(':
			depth++;
			break;
		case ')':
			if (depth == 0)
				return "unbalanced ')'";
			depth--;
			break;
		case '{':
			n = interval(re, len, &i);
			if (n < 0)
				return "bad interval";
			factor = (size_t)n + 1;
			q = true;
			break;
		case '+':
			factor = 2;
			q = true;
			break;
		case '*':
		case '?':
			q = true;
			break;
		default:
			break;
		}
		if (q && quant)
			return "a repetition right after another";
		*cost *= factor;
		if (*cost > REGEX_COST_MAX)
			return "too much repetition";
		quant = q;
	}
	return NULL;
}

/*
 * The bytes every path a pattern matches starts with, its literal head, so that most patterns
 * are ruled out by a memcmp(): for a glob, up to the first of "*?[\\"; for a regex (after a
 * leading '^', which the wrapper makes redundant), up to its first special character, less the
 * last character if a quantifier follows; none if it has an alternative anywhere.
 */
static void pattern_prefix(struct vigil_policy_pattern *pat)
{
	const char *special = pat->regex ? ".[]()*+?{}|^$\\" : "*?[\\";
	const char *s = pat->text;
	size_t i, len = pat->len;

	pat->prefix_at = pat->regex && s[0] == '^' ? 1 : 0;
	pat->prefix = 0;
	if (pat->regex && memchr(s, '|', len))
		return;
	i = pat->prefix_at;
	while (i < len && !strchr(special, s[i]))
		i++;
	if (pat->regex && i < len && i > pat->prefix_at &&
	    (s[i] == '*' || s[i] == '?' || s[i] == '{')) {
		/* the quantified character may be a multibyte one */
		do
			i--;
		while (i > pat->prefix_at && ((unsigned char)s[i] & 0xc0) == 0x80);
	}
	pat->prefix = i - pat->prefix_at;
}

static int pattern_compile(struct vigil_policy *p, struct vigil_policy_pattern *pat, char *why,
			   size_t why_size)
{
	_cleanup_free_ char *wrapped = NULL;
	const char *bad;
	size_t cost;
	int rc;

	bad = regex_check(pat->text, pat->len, &cost);
	if (!bad && cost * pat->len > REGEX_BUDGET - p->regex_cost)
		bad = "the regexes are too complex together";
	if (bad) {
		snprintf(why, why_size, "%s", bad);
		return -EINVAL;
	}
	if (asprintf(&wrapped, "^(%s)", pat->text) < 0) {
		wrapped = NULL;
		return -ENOMEM;
	}
	rc = regcomp(&pat->re, wrapped, REG_EXTENDED | REG_NOSUB);
	if (rc == REG_ESPACE)
		return -ENOMEM;
	if (rc) {
		regerror(rc, NULL, why, why_size);
		return -EINVAL;
	}
	p->regex_cost += cost * pat->len;
	return 0;
}

/**
 * vigil_policy_add_pattern() - add an "excludes" glob or an "excludes_regex" regex
 * @p: the policy
 * @text: the pattern (not NUL-terminated)
 * @len: its length
 * @regex: a POSIX extended regex (else an fnmatch() glob)
 * @why: receives why a pattern is refused (-EINVAL)
 * @why_size: room in @why
 *
 * A pattern added twice is kept once.
 *
 * Return: 0; -EINVAL (empty, too long, not UTF-8, an invalid regex); -E2BIG (more than
 * VIGIL_POLICY_PATTERNS_MAX patterns); -ENOMEM.
 */
int vigil_policy_add_pattern(struct vigil_policy *p, const char *text, size_t len, bool regex,
			     char *why, size_t why_size)
{
	struct vigil_policy_pattern pat = { .len = len, .regex = regex };
	int r;

	if (len == 0 || len > VIGIL_POLICY_PATH_MAX || !vigil_utf8_valid(text, len)) {
		snprintf(why, why_size, len ? "not UTF-8 without NUL, or too long" : "empty");
		return -EINVAL;
	}
	for (size_t i = 0; i < p->npat; i++)
		if (p->pat[i].regex == regex && p->pat[i].len == len &&
		    !memcmp(p->pat[i].text, text, len))
			return 0;
	if (p->npat >= VIGIL_POLICY_PATTERNS_MAX) {
		snprintf(why, why_size, "more than %d patterns", VIGIL_POLICY_PATTERNS_MAX);
		return -E2BIG;
	}
	r = vigil_policy_grow(&p->pat, &p->pat_cap, p->npat + 1, sizeof(*p->pat));
	if (r < 0)
		return r;
	pat.text = strndup(text, len);
	if (!pat.text)
		return -ENOMEM;
	pattern_prefix(&pat);
	r = regex ? pattern_compile(p, &pat, why, why_size) : 0;
	if (r < 0) {
		free(pat.text);
		return r;
	}
	p->pat[p->npat++] = pat;
	if (regex)
		p->info.excludes_regex++;
	else
		p->info.excludes++;
	return 0;
}

/* ---- life cycle ---- */

/**
 * vigil_policy_alloc() - an empty policy with a fresh hash key
 * @ret: receives it
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_policy_alloc(struct vigil_policy **ret)
{
	struct vigil_policy *p = calloc(1, sizeof(*p));
	struct timespec ts;

	if (!p)
		return -ENOMEM;
	/* The key only has to be unpredictable to whoever chose the paths; without getrandom()
	 * (very early boot) the clock and ASLR still make it so. */
	if (getrandom(p->seed, sizeof(p->seed), GRND_NONBLOCK) != (ssize_t)sizeof(p->seed)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		p->seed[0] = (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)p;
		p->seed[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&ts;
	}
	p->seed[0] ^= 0xa0761d6478bd642full;
	p->seed[1] ^= 0xe7037ed1a0b428dbull;
	*ret = p;
	return 0;
}

static bool info_valid(const struct vigil_policy_info *info, size_t ds)
{
	size_t nl = strnlen(info->name, sizeof(info->name));
	size_t gl = strnlen(info->generator, sizeof(info->generator));

	return ds && vigil_policy_name_valid(info->name, nl) && nl < sizeof(info->name) &&
	       info->version <= VIGIL_POLICY_VERSION_MAX && info->valid_until >= TIME_MIN &&
	       info->valid_until <= TIME_MAX && info->created >= TIME_MIN &&
	       info->created <= TIME_MAX && gl < sizeof(info->generator) &&
	       vigil_utf8_valid(info->generator, gl) &&
	       (info->digest_size == 0 || info->digest_size == ds) &&
	       (unsigned int)info->violations <= VIGIL_POLICY_VIOLATIONS_IGNORE;
}

/**
 * vigil_policy_new() - start building a policy
 * @info: its scalar members: name, version, valid_until, hash_alg, violations, and optionally
 *	created (0: none), generator ("" none) and boot_aggregate; @info->digest_size may be 0;
 *	the counts are ignored
 * @ret: on success, an empty policy; release with vigil_policy_free()
 *
 * Return: 0; -EINVAL if a member is one the parser would reject; -ENOMEM.
 */
int vigil_policy_new(const struct vigil_policy_info *info, struct vigil_policy **ret)
{
	struct vigil_policy *p;
	size_t ds;
	int r;

	if (!info || !ret)
		return -EINVAL;
	ds = vigil_hash_size(info->hash_alg);
	if (!info_valid(info, ds))
		return -EINVAL;
	r = vigil_policy_alloc(&p);
	if (r < 0)
		return r;
	p->info = (struct vigil_policy_info){ .version = info->version,
					      .valid_until = info->valid_until,
					      .created = info->created,
					      .hash_alg = info->hash_alg,
					      .digest_size = (uint8_t)ds,
					      .violations = info->violations,
					      .has_boot_aggregate = info->has_boot_aggregate };
	memcpy(p->info.name, info->name, sizeof(p->info.name));
	memcpy(p->info.generator, info->generator, sizeof(p->info.generator));
	if (info->has_boot_aggregate)
		memcpy(p->info.boot_aggregate, info->boot_aggregate, ds);
	p->ds = ds;
	*ret = p;
	return 0;
}

/**
 * vigil_policy_free() - release a policy
 * @p: the policy, or NULL
 */
void vigil_policy_free(struct vigil_policy *p)
{
	if (!p)
		return;
	free(p->rec);
	free(p->bkt_mem);
	free(p->dchars);
	free(p->dirs);
	free(p->dslot);
	vigil_policy_dset_free(&p->any);
	vigil_policy_dset_free(&p->deny);
	vigil_policy_dset_free(&p->pkg);
	free(p->pkg_off);
	free(p->pchars);
	for (size_t i = 0; i < p->npat; i++) {
		if (p->pat[i].regex)
			regfree(&p->pat[i].re);
		free(p->pat[i].text);
	}
	free(p->pat);
	free(p->pcr);
	free(p);
}

/**
 * vigil_policy_freep() - vigil_policy_free() for _cleanup_()
 * @p: address of a policy pointer
 */
void vigil_policy_freep(struct vigil_policy **p)
{
	vigil_policy_free(*p);
}

/* ---- the builder ---- */

/**
 * vigil_policy_add_digest() - allow @digest at @path
 * @p: the policy
 * @path: an absolute path, or a record name without '/' (not NUL-terminated)
 * @path_len: its length, 1..VIGIL_POLICY_PATH_MAX
 * @digest: info->digest_size bytes
 *
 * Return: 0 (also when the pair is there already); -EINVAL (a path the parser would reject);
 * -EFBIG (the index is full); -ENOMEM.
 */
int vigil_policy_add_digest(struct vigil_policy *p, const char *path, size_t path_len,
			    const uint8_t *digest)
{
	if (!p || !path || !digest || vigil_policy_path_check(path, path_len) < 0)
		return -EINVAL;
	return vigil_policy_path_add(p, path, path_len, digest);
}

static int add_to_set(struct vigil_policy *p, struct vigil_policy_dset *s, size_t *count,
		      const uint8_t *digest)
{
	int r;

	if (!digest)
		return -EINVAL;
	r = vigil_policy_dset_add(s, p->seed, p->ds, digest, NULL);
	if (r < 0)
		return r;
	*count = s->n;
	return 0;
}

/**
 * vigil_policy_add_any() - allow @digest at any path
 * @p: the policy
 * @digest: info->digest_size bytes
 *
 * Return: 0 (also when it is there already), -EINVAL or -ENOMEM.
 */
int vigil_policy_add_any(struct vigil_policy *p, const uint8_t *digest)
{
	return p ? add_to_set(p, &p->any, &p->info.any_path, digest) : -EINVAL;
}

/**
 * vigil_policy_add_deny() - deny @digest at every path
 * @p: the policy
 * @digest: info->digest_size bytes
 *
 * Return: 0 (also when it is there already), -EINVAL or -ENOMEM.
 */
int vigil_policy_add_deny(struct vigil_policy *p, const uint8_t *digest)
{
	return p ? add_to_set(p, &p->deny, &p->info.deny, digest) : -EINVAL;
}

static int add_pattern_str(struct vigil_policy *p, const char *s, bool regex)
{
	char why[128];
	size_t len;

	if (!p || !s)
		return -EINVAL;
	len = strnlen(s, VIGIL_POLICY_PATH_MAX + 1);
	return vigil_policy_add_pattern(p, s, len, regex, why, sizeof(why));
}

/**
 * vigil_policy_add_exclude() - exclude the paths an fnmatch(3) glob matches (flags 0)
 * @p: the policy
 * @glob: the pattern, NUL-terminated, 1..VIGIL_POLICY_PATH_MAX bytes of UTF-8
 *
 * Return: 0 (also when it is there already), -EINVAL, -E2BIG or -ENOMEM.
 */
int vigil_policy_add_exclude(struct vigil_policy *p, const char *glob)
{
	return add_pattern_str(p, glob, false);
}

/**
 * vigil_policy_add_exclude_regex() - exclude the paths a POSIX extended regex matches
 * @p: the policy
 * @regex: the regex, NUL-terminated, 1..VIGIL_POLICY_PATH_MAX bytes; matched anchored at the
 *	start of the path ("^(" regex ")")
 *
 * Return: 0 (also when it is there already); -EINVAL (also: not a valid regex, or a ')' that
 * closes nothing); -E2BIG; -ENOMEM.
 */
int vigil_policy_add_exclude_regex(struct vigil_policy *p, const char *regex)
{
	return add_pattern_str(p, regex, true);
}

/**
 * vigil_policy_add_pcr() - add a golden PCR value
 * @p: the policy
 * @alg: the bank (TPM2_ALG_SHA256, ...)
 * @pcr: the PCR index, < 24
 * @digest: the value
 * @len: its length, vigil_hash_size(@alg)
 *
 * Return: 0 (also when the same value is there); -EEXIST (a different value for (@alg, @pcr));
 * -EINVAL; -ENOMEM.
 */
int vigil_policy_add_pcr(struct vigil_policy *p, uint16_t alg, uint32_t pcr, const uint8_t *digest,
			 size_t len)
{
	size_t size = vigil_hash_size(alg);

	if (!p || !digest || !size || len != size || pcr >= VIGIL_POLICY_PCR_COUNT)
		return -EINVAL;
	for (size_t i = 0; i < p->npcr; i++)
		if (p->pcr[i].alg == alg && p->pcr[i].pcr == pcr)
			return memcmp(p->pcr[i].digest, digest, size) != 0 ? -EEXIST : 0;
	if (!p->pcr) {
		p->pcr = calloc(VIGIL_POLICY_PCR_SLOTS, sizeof(*p->pcr));
		if (!p->pcr)
			return -ENOMEM;
	}
	p->pcr[p->npcr] =
		(struct vigil_pcr_value){ .alg = alg, .pcr = (uint8_t)pcr, .size = (uint8_t)size };
	memcpy(p->pcr[p->npcr].digest, digest, size);
	p->npcr++;
	p->info.pcrs = p->npcr;
	return 0;
}

/**
 * vigil_policy_add_package() - record which package @digest came from
 * @p: the policy
 * @digest: info->digest_size bytes
 * @package: "name version", NUL-terminated, 1..VIGIL_POLICY_PACKAGE_MAX bytes of UTF-8
 *
 * Return: 0 (also when the same package is there); -EEXIST (@digest has another package);
 * -EINVAL; -ENOMEM.
 */
int vigil_policy_add_package(struct vigil_policy *p, const uint8_t *digest, const char *package)
{
	size_t len, idx = 0;
	long found;
	int r;

	if (!p || !digest || !package)
		return -EINVAL;
	len = strnlen(package, VIGIL_POLICY_PACKAGE_MAX + 1);
	if (len == 0 || len > VIGIL_POLICY_PACKAGE_MAX || !vigil_utf8_valid(package, len))
		return -EINVAL;
	found = vigil_policy_dset_find(&p->pkg, p->seed, p->ds, digest);
	if (found >= 0)
		return strcmp(p->pchars + p->pkg_off[found], package) ? -EEXIST : 0;
	r = vigil_policy_grow(&p->pchars, &p->pchars_cap, p->pchars_len + len + 1, 1);
	if (r == 0)
		r = vigil_policy_grow(&p->pkg_off, &p->pkg_off_cap, p->pkg.n + 1,
				      sizeof(*p->pkg_off));
	if (r == 0)
		r = vigil_policy_dset_add(&p->pkg, p->seed, p->ds, digest, &idx);
	if (r < 0)
		return r;
	memcpy(p->pchars + p->pchars_len, package, len + 1);
	p->pkg_off[idx] = (uint32_t)p->pchars_len;
	p->pchars_len += len + 1;
	p->info.packages = p->pkg.n;
	return 0;
}

/**
 * vigil_policy_set_boot_aggregate() - set the golden boot_aggregate
 * @p: the policy
 * @digest: info->digest_size bytes
 *
 * Return: 0 or -EINVAL.
 */
int vigil_policy_set_boot_aggregate(struct vigil_policy *p, const uint8_t *digest)
{
	if (!p || !digest)
		return -EINVAL;
	memcpy(p->info.boot_aggregate, digest, p->ds);
	p->info.has_boot_aggregate = true;
	return 0;
}

/* ---- queries ---- */

/**
 * vigil_policy_info() - a policy's scalar members and counts
 * @p: the policy
 *
 * Return: a pointer valid as long as @p is not changed or freed.
 */
const struct vigil_policy_info *vigil_policy_info(const struct vigil_policy *p)
{
	return &p->info;
}

/* Paths too long for the policy, or with a NUL, match no pattern (and are then checked like
 * any other path, so they fail closed). */
static bool excluded(const struct vigil_policy *p, const char *path, size_t len)
{
	char buf[VIGIL_POLICY_PATH_MAX + 1];

	if (len > VIGIL_POLICY_PATH_MAX || memchr(path, '\0', len))
		return false;
	memcpy(buf, path, len);
	buf[len] = '\0';
	for (size_t i = 0; i < p->npat; i++) {
		const struct vigil_policy_pattern *pat = &p->pat[i];

		if (pat->prefix && (len < pat->prefix ||
				    memcmp(path, pat->text + pat->prefix_at, pat->prefix) != 0))
			continue;
		if (pat->regex ? !regexec(&pat->re, buf, 0, NULL, 0) : !fnmatch(pat->text, buf, 0))
			return true;
	}
	return false;
}

/**
 * vigil_policy_check() - decide one log record
 * @p: the policy
 * @path: the record's path (not NUL-terminated)
 * @path_len: its length
 * @digest: the record's file digest, info->digest_size bytes
 * @ret: on success, the decision (policy.h gives the order of the rules)
 *
 * Allocation-free and read-only: many threads may check against one policy. A path longer than
 * VIGIL_POLICY_PATH_MAX or with a NUL matches no pattern and no path (it fails closed: not in
 * the policy, unless its digest is in "deny" or "any_path").
 *
 * Return: 0, or -EINVAL for a NULL argument.
 */
int vigil_policy_check(const struct vigil_policy *p, const char *path, size_t path_len,
		       const uint8_t *digest, enum vigil_policy_result *ret)
{
	struct vigil_policy_rec r;
	uint32_t off;

	if (!p || (!path && path_len) || !digest || !ret)
		return -EINVAL;
	if (!path)
		path = "";
	if (p->deny.n && vigil_policy_dset_find(&p->deny, p->seed, p->ds, digest) >= 0) {
		*ret = VIGIL_POLICY_DENIED;
		return 0;
	}
	if (p->npat && excluded(p, path, path_len)) {
		*ret = VIGIL_POLICY_EXCLUDED;
		return 0;
	}
	off = path_len ? vigil_policy_rec_find(p, path, path_len) : 0;
	if (off) {
		vigil_policy_rec_decode(p, off, &r);
		if (vigil_policy_run_has(r.digests, r.count, p->ds, digest)) {
			*ret = VIGIL_POLICY_ALLOWED;
			return 0;
		}
	}
	if (p->any.n && vigil_policy_dset_find(&p->any, p->seed, p->ds, digest) >= 0)
		*ret = VIGIL_POLICY_ALLOWED;
	else
		*ret = off ? VIGIL_POLICY_DIGEST_MISMATCH : VIGIL_POLICY_NOT_IN_POLICY;
	return 0;
}

/**
 * vigil_policy_expected() - the digests "digests" allows at a path
 * @p: the policy
 * @path: the path (not NUL-terminated)
 * @path_len: its length
 * @ret_digests: receives the digests (contiguous, info->digest_size bytes each, sorted), valid
 *	as long as @p is not changed or freed; untouched when the path is unknown
 *
 * Return: their number, 0 if @path is not in "digests".
 */
size_t vigil_policy_expected(const struct vigil_policy *p, const char *path, size_t path_len,
			     const uint8_t **ret_digests)
{
	struct vigil_policy_rec r;
	uint32_t off;

	if (!p || !path || !ret_digests)
		return 0;
	off = vigil_policy_rec_find(p, path, path_len);
	if (!off)
		return 0;
	vigil_policy_rec_decode(p, off, &r);
	*ret_digests = r.digests;
	return r.count;
}

/**
 * vigil_policy_package() - the package a digest came from
 * @p: the policy
 * @digest: info->digest_size bytes
 *
 * Return: "name version" from "packages", or NULL.
 */
const char *vigil_policy_package(const struct vigil_policy *p, const uint8_t *digest)
{
	long i;

	if (!p || !digest)
		return NULL;
	i = vigil_policy_dset_find(&p->pkg, p->seed, p->ds, digest);
	return i < 0 ? NULL : p->pchars + p->pkg_off[i];
}

/**
 * vigil_policy_pcrs() - the golden PCR values of "pcrs"
 * @p: the policy
 * @ret: on success, the values (count 0 when the policy has none)
 *
 * Return: 0 or -EINVAL.
 */
int vigil_policy_pcrs(const struct vigil_policy *p, struct vigil_pcr_values *ret)
{
	if (!p || !ret)
		return -EINVAL;
	ret->count = 0;
	for (size_t i = 0; i < p->npcr; i++) {
		const struct vigil_pcr_value *v = &p->pcr[i];
		int r = vigil_pcr_values_add(ret, v->alg, v->pcr, v->digest, v->size);

		if (r < 0)
			return r;
	}
	return 0;
}

static size_t dset_memory(const struct vigil_policy_dset *s)
{
	return s->cap + s->nslots * sizeof(*s->slot);
}

/**
 * vigil_policy_memory() - bytes of heap a policy holds
 * @p: the policy
 *
 * Counts every allocation by its requested size, except what regcomp() allocates inside its
 * regex_t.
 *
 * Return: the number of bytes.
 */
size_t vigil_policy_memory(const struct vigil_policy *p)
{
	size_t n;

	if (!p)
		return 0;
	n = sizeof(*p) + p->rec_cap + p->nslots / VIGIL_POLICY_BUCKET * sizeof(*p->bkt) +
	    (p->bkt ? 64 : 0) + p->dchars_cap + p->dirs_cap * sizeof(*p->dirs) +
	    p->ndslots * sizeof(*p->dslot) + dset_memory(&p->any) + dset_memory(&p->deny) +
	    dset_memory(&p->pkg) + p->pkg_off_cap * sizeof(*p->pkg_off) + p->pchars_cap +
	    p->pat_cap * sizeof(*p->pat);
	for (size_t i = 0; i < p->npat; i++)
		n += p->pat[i].len + 1;
	if (p->pcr)
		n += VIGIL_POLICY_PCR_SLOTS * sizeof(*p->pcr);
	return n;
}

/**
 * vigil_policy_result_name() - the name of a decision
 * @r: the decision
 *
 * Return: "allowed", "excluded", "not_in_policy", "digest_mismatch", "denied", or "unknown".
 */
const char *vigil_policy_result_name(enum vigil_policy_result r)
{
	static const char *const names[] = {
		[VIGIL_POLICY_ALLOWED] = "allowed",
		[VIGIL_POLICY_EXCLUDED] = "excluded",
		[VIGIL_POLICY_NOT_IN_POLICY] = "not_in_policy",
		[VIGIL_POLICY_DIGEST_MISMATCH] = "digest_mismatch",
		[VIGIL_POLICY_DENIED] = "denied",
	};

	return (unsigned int)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

/**
 * vigil_policy_violations_name() - the name of a "violations" value
 * @v: the value
 *
 * Return: "fail", "warn", "ignore", or NULL for any other value.
 */
const char *vigil_policy_violations_name(enum vigil_policy_violations v)
{
	static const char *const names[] = {
		[VIGIL_POLICY_VIOLATIONS_FAIL] = "fail",
		[VIGIL_POLICY_VIOLATIONS_WARN] = "warn",
		[VIGIL_POLICY_VIOLATIONS_IGNORE] = "ignore",
	};

	return (unsigned int)v < sizeof(names) / sizeof(names[0]) ? names[v] : NULL;
}

/* ---- walks in canonical order ---- */

/**
 * vigil_policy_foreach_path() - call @fn for every path of "digests", sorted bytewise
 * @p: the policy
 * @fn: gets the path (NUL-terminated, too), its length and its sorted digests
 * @ctx: passed to @fn
 *
 * Return: 0, the first non-zero return of @fn, or -ENOMEM.
 */
int vigil_policy_foreach_path(const struct vigil_policy *p,
			      int (*fn)(void *ctx, const char *path, size_t path_len,
					const uint8_t *digests, size_t count),
			      void *ctx)
{
	_cleanup_free_ uint32_t *order = NULL;
	char buf[VIGIL_POLICY_PATH_MAX + 1];
	int r;

	if (!p || !fn)
		return -EINVAL;
	r = vigil_policy_paths_sorted(p, &order);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->info.paths; i++) {
		struct vigil_policy_rec rec;
		size_t len;

		vigil_policy_rec_decode(p, order[i], &rec);
		len = vigil_policy_rec_path(p, &rec, buf);
		r = fn(ctx, buf, len, rec.digests, rec.count);
		if (r)
			return r;
	}
	return 0;
}

static int foreach_set(const struct vigil_policy *p, const struct vigil_policy_dset *s,
		       int (*fn)(void *ctx, const uint8_t *digest), void *ctx)
{
	_cleanup_free_ uint8_t *sorted = NULL;
	int r;

	if (!fn)
		return -EINVAL;
	r = vigil_policy_dset_sorted(s, p->ds, &sorted);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n; i++) {
		r = fn(ctx, sorted + i * p->ds);
		if (r)
			return r;
	}
	return 0;
}

/**
 * vigil_policy_foreach_any() - call @fn for every "any_path" digest, sorted
 * @p: the policy
 * @fn: gets one digest
 * @ctx: passed to @fn
 *
 * Return: 0, the first non-zero return of @fn, or -ENOMEM.
 */
int vigil_policy_foreach_any(const struct vigil_policy *p,
			     int (*fn)(void *ctx, const uint8_t *digest), void *ctx)
{
	return p ? foreach_set(p, &p->any, fn, ctx) : -EINVAL;
}

/**
 * vigil_policy_foreach_deny() - call @fn for every "deny" digest, sorted
 * @p: the policy
 * @fn: gets one digest
 * @ctx: passed to @fn
 *
 * Return: 0, the first non-zero return of @fn, or -ENOMEM.
 */
int vigil_policy_foreach_deny(const struct vigil_policy *p,
			      int (*fn)(void *ctx, const uint8_t *digest), void *ctx)
{
	return p ? foreach_set(p, &p->deny, fn, ctx) : -EINVAL;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort_r()'s comparator */
static int cmp_pattern(const void *a, const void *b, void *arg)
{
	const struct vigil_policy_pattern *pat = arg;

	return strcmp(pat[*(const size_t *)a].text, pat[*(const size_t *)b].text);
}

/**
 * vigil_policy_foreach_exclude() - call @fn for every pattern of one kind, sorted bytewise
 * @p: the policy
 * @regex: the "excludes_regex" regexes (else the "excludes" globs)
 * @fn: gets one pattern, NUL-terminated
 * @ctx: passed to @fn
 *
 * Return: 0, the first non-zero return of @fn, or -ENOMEM.
 */
int vigil_policy_foreach_exclude(const struct vigil_policy *p, bool regex,
				 int (*fn)(void *ctx, const char *pattern), void *ctx)
{
	_cleanup_free_ size_t *v = NULL;
	size_t n = 0;
	int r;

	if (!p || !fn)
		return -EINVAL;
	v = malloc((p->npat + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->npat; i++)
		if (p->pat[i].regex == regex)
			v[n++] = i;
	qsort_r(v, n, sizeof(*v), cmp_pattern, p->pat);
	for (size_t i = 0; i < n; i++) {
		r = fn(ctx, p->pat[v[i]].text);
		if (r)
			return r;
	}
	return 0;
}

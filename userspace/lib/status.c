// SPDX-License-Identifier: MIT
/*
 * status.c: parse vigil.ko's status file (VIGIL_FS_STATUS, format in uapi/vigil.h).
 *
 * The text is "key: value" lines. The parser is strict about framing and lenient about content:
 * every key it does not know is kept, so an older vigil reads a newer module's status, but any
 * text that is not exactly a sequence of well-formed, newline-terminated lines is rejected as a
 * whole. Each rejection has its own errno (see vigil_status_parse()) and vigil_status_strerror()
 * names it for humans.
 *
 * Invariants: a returned struct vigil_status has 0..VIGIL_STATUS_LINES_MAX entries with unique,
 * non-empty [a-z0-9_] keys; its strings live in the same allocation; nothing is returned on error.
 */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "libvigil.h"
#include "uapi/vigil.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/*
 * Whole-text checks come first, so the framing errors (size, binary data, truncation) are
 * reported before anything about individual lines, and the line count sizes the allocation.
 */
static int check_text(const char *text, size_t len, size_t *ret_lines)
{
	size_t lines = 0;

	if (len > VIGIL_STATUS_MAX)
		return -EFBIG;
	if (len == 0) {
		*ret_lines = 0;
		return 0;
	}
	if (memchr(text, '\0', len))
		return -EILSEQ;
	if (text[len - 1] != '\n')
		return -EPROTO;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			lines++;
	if (lines > VIGIL_STATUS_LINES_MAX)
		return -E2BIG;
	*ret_lines = lines;
	return 0;
}

static int check_key(const char *key, size_t len)
{
	if (len == 0)
		return -ENOKEY;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return -EKEYREJECTED;
	}
	return 0;
}

/* Bytes of the caller's text, not yet copied: a line without its '\n', or a key. */
struct span {
	const char *start;
	size_t len;
};

/* @keys[0..n) are the keys of the lines before @line; @ret_key is @line's key on success. */
static int check_line(struct span line, const struct span *keys, size_t n, struct span *ret_key)
{
	const char *sep = memmem(line.start, line.len, ": ", 2);
	struct span key;
	int r;

	if (!sep)
		return -EBADMSG;
	key = (struct span){ line.start, (size_t)(sep - line.start) };
	r = check_key(key.start, key.len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (keys[i].len == key.len && !memcmp(keys[i].start, key.start, key.len))
			return -ENOTUNIQ;
	*ret_key = key;
	return 0;
}

/*
 * Validate every line before anything is allocated, so a rejection has nothing to undo. Runs
 * after check_text(), which bounds the lines by VIGIL_STATUS_LINES_MAX, the size of @keys.
 */
static int check_lines(const char *text, size_t len)
{
	struct span keys[VIGIL_STATUS_LINES_MAX];
	const char *p = text, *end = text + len;
	size_t n = 0;
	int r;

	while (p < end) {
		/* check_text() guarantees every line, including the last, ends in '\n' */
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct span line = { p, (size_t)(nl - p) };

		r = check_line(line, keys, n, &keys[n]);
		if (r < 0)
			return r;
		n++;
		p = nl + 1;
	}
	return 0;
}

/* Split the validated copy in place: ": " and '\n' become NULs. Cannot fail. */
static void split_lines(char *text, size_t len, struct vigil_status *st)
{
	char *p = text, *end = text + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *sep = memmem(p, (size_t)(nl - p), ": ", 2);

		*nl = '\0';
		*sep = '\0';
		st->entries[st->count].key = p;
		st->entries[st->count].value = sep + 2;
		st->count++;
		p = nl + 1;
	}
}

/**
 * vigil_status_parse() - parse the text of vigil.ko's status file
 * @text: the file's contents; need not be NUL-terminated
 * @len: length of @text in bytes
 * @ret: on success, the parsed status; free with vigil_status_free()
 *
 * Keys the parser does not know are kept. An empty text is valid and has no entries.
 *
 * Return: 0 on success, or a negative errno, checked in this order:
 * -EFBIG (@len > VIGIL_STATUS_MAX), -EILSEQ (a NUL byte), -EPROTO (last line has no newline),
 * -E2BIG (more than VIGIL_STATUS_LINES_MAX lines), then line by line: -EBADMSG (no ": "),
 * -ENOKEY (empty key), -EKEYREJECTED (key not [a-z0-9_]), -ENOTUNIQ (key seen before);
 * -ENOMEM if out of memory. @ret is written only on success.
 */
int vigil_status_parse(const char *text, size_t len, struct vigil_status **ret)
{
	struct vigil_status *st;
	char *copy;
	size_t lines;
	int r;

	r = check_text(text, len, &lines);
	if (r < 0)
		return r;
	r = check_lines(text, len);
	if (r < 0)
		return r;

	/* entries[lines] followed by a NUL-terminated copy of the text they point into */
	st = calloc(1, sizeof(*st) + lines * sizeof(st->entries[0]) + len + 1);
	if (!st)
		return -ENOMEM;
	copy = (char *)&st->entries[lines];
	if (len)
		memcpy(copy, text, len);
	split_lines(copy, len, st);
	*ret = st;
	return 0;
}

/**
 * vigil_status_read() - read and parse vigil.ko's status file
 * @path: the file, normally VIGIL_FS_MOUNT "/" VIGIL_FS_DIR "/" VIGIL_FS_STATUS
 * @ret: on success, the parsed status; free with vigil_status_free()
 *
 * Reads at most VIGIL_STATUS_MAX + 1 bytes, so an oversized or endless file is rejected without
 * being read to its end.
 *
 * Return: 0 on success; the negative errno of open() or read() (-ENOENT when the module is not
 * loaded); or an error of vigil_status_parse(). @ret is written only on success.
 */
int vigil_status_read(const char *path, struct vigil_status **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	/* vigil_file_read() takes "-" for standard input; here it is a file name like any other */
	r = vigil_file_read(strcmp(path, "-") ? path : "./-", VIGIL_STATUS_MAX, &buf, &len);
	if (r < 0)
		return r;
	return vigil_status_parse((const char *)buf, len, ret);
}

/**
 * vigil_status_get() - look up a key in a parsed status
 * @st: the status
 * @key: the key, e.g. "pcr"
 *
 * Return: the value (valid as long as @st is), or NULL if @st has no such key.
 */
const char *vigil_status_get(const struct vigil_status *st, const char *key)
{
	for (size_t i = 0; i < st->count; i++)
		if (!strcmp(st->entries[i].key, key))
			return st->entries[i].value;
	return NULL;
}

/**
 * vigil_status_strerror() - describe an error of vigil_status_parse() or vigil_status_read()
 * @err: the (negative) return value; a positive errno is accepted too
 *
 * The parser's rejections reuse errno values whose strerror() text would mislead ("Required key
 * not available"), so they get their own descriptions; everything else is strerror()'s.
 *
 * Return: a static, human-readable description; never NULL.
 */
const char *vigil_status_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case EFBIG:
		return "status text is larger than " STRINGIFY(VIGIL_STATUS_MAX) " bytes";
	case EILSEQ:
		return "status text contains a NUL byte";
	case EPROTO:
		return "last line is not terminated by a newline";
	case E2BIG:
		return "more than " STRINGIFY(VIGIL_STATUS_LINES_MAX) " lines";
	case EBADMSG:
		return "line is not of the form \"key: value\"";
	case ENOKEY:
		return "line has an empty key";
	case EKEYREJECTED:
		return "key has a character outside [a-z0-9_]";
	case ENOTUNIQ:
		return "duplicate key";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

/**
 * vigil_status_free() - release a status returned by vigil_status_parse() or vigil_status_read()
 * @st: the status, or NULL
 */
void vigil_status_free(struct vigil_status *st)
{
	free(st);
}

/**
 * vigil_status_freep() - vigil_status_free() for _cleanup_(vigil_status_freep) variables
 * @st: pointer to the variable; the status it holds, or NULL
 */
void vigil_status_freep(struct vigil_status **st)
{
	vigil_status_free(*st);
}

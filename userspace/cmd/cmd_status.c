// SPDX-License-Identifier: MIT
/*
 * cmd_status.c: `vigil status`: is vigil.ko loaded, and how does it measure?
 *
 * Reads <securityfs>/status through libvigil and prints every key the module reports, known or
 * not, in the module's order: aligned "key: value" lines for people, or with --json one object
 * of string values plus "loaded": true for machines. A missing status file means the module is
 * not loaded: exit 3, and with --json {"loaded": false} on stdout so scripts need not parse
 * stderr.
 *
 * Invariants: stdout carries only the report (nothing on a runtime error except the
 * not-loaded object); every error is one "vigil status: <what>: <why>" line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cmd.h"
#include "libvigil.h"
#include "uapi/vigil.h"

#define DEFAULT_SECURITYFS VIGIL_FS_MOUNT "/" VIGIL_FS_DIR

/* "loaded" is vigil's own field; a status key of that name would duplicate it in the output. */
#define LOADED_KEY "loaded"

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil status [--json] [--securityfs DIR]\n\n"
		"Show whether vigil.ko is loaded and how it measures.\n\n"
		"Options:\n"
		"  --json             print one JSON object instead of text\n"
		"  --securityfs DIR   read DIR/%s (default: %s)\n"
		"  -h, --help         show this help\n",
		VIGIL_FS_STATUS, DEFAULT_SECURITYFS);
}

/* The character after the backslash in JSON's two-character escape of @c, or 0 if it has none. */
static char short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	default:
		return 0;
	}
}

/* Write @str as a JSON string; invalid UTF-8 becomes U+FFFD rather than invalid JSON. */
static void print_json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *end = s + strlen(str);

	putchar('"');
	while (*s) {
		char esc = short_escape(*s);
		size_t n;

		if (esc) {
			printf("\\%c", esc);
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			printf("\\u%04x", *s++);
		} else if (*s < 0x80) {
			putchar(*s++);
		} else if ((n = vigil_utf8_seq(s, (size_t)(end - s))) > 0) {
			fwrite(s, 1, n, stdout);
			s += n;
		} else {
			fputs("\\ufffd", stdout);
			s++;
		}
	}
	putchar('"');
}

static void print_json(const struct vigil_status *st)
{
	fputs("{\"" LOADED_KEY "\": true", stdout);
	for (size_t i = 0; i < st->count; i++) {
		if (!strcmp(st->entries[i].key, LOADED_KEY))
			continue;
		fputs(", ", stdout);
		print_json_string(st->entries[i].key);
		fputs(": ", stdout);
		print_json_string(st->entries[i].value);
	}
	fputs("}\n", stdout);
}

static void print_text(const struct vigil_status *st)
{
	int width = (int)strlen(LOADED_KEY);

	for (size_t i = 0; i < st->count; i++) {
		int len = (int)strlen(st->entries[i].key);

		if (len > width)
			width = len;
	}
	/* keys are at most VIGIL_STATUS_MAX bytes, so the widths fit an int */
	printf("%s:%*s yes\n", LOADED_KEY, width - (int)strlen(LOADED_KEY), "");
	for (size_t i = 0; i < st->count; i++) {
		const struct vigil_status_entry *e = &st->entries[i];

		if (strcmp(e->key, LOADED_KEY) != 0)
			printf("%s:%*s %s\n", e->key, width - (int)strlen(e->key), "", e->value);
	}
}

static int show_status(const char *dir, bool json)
{
	_cleanup_(vigil_status_freep) struct vigil_status *st = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	if (asprintf(&path, "%s/%s", dir, VIGIL_FS_STATUS) < 0) {
		path = NULL;
		fprintf(stderr, "vigil status: %s\n", strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	r = vigil_status_read(path, &st);
	if (r == -ENOENT) {
		fprintf(stderr, "vigil status: vigil.ko is not loaded (%s: %s)\n", path,
			strerror(-r));
		if (json)
			puts("{\"" LOADED_KEY "\": false}");
		return VIGIL_EXIT_RUNTIME;
	}
	if (r < 0) {
		fprintf(stderr, "vigil status: %s: %s\n", path, vigil_status_strerror(r));
		return VIGIL_EXIT_RUNTIME;
	}
	if (json)
		print_json(st);
	else
		print_text(st);
	return VIGIL_EXIT_OK;
}

/* Report a bad command line the way every subcommand does, and say where help is. */
static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "vigil status: %s '%s'\n", what, arg);
	fprintf(stderr, "Try 'vigil status --help'.\n");
	return VIGIL_EXIT_USAGE;
}

/*
 * getopt_long() has just rejected an option. A long one is the whole argument it stopped at
 * (also "--json=x"); a short one may sit inside a cluster ("-hx"), so only optopt names it.
 */
static int option_error(char *argv[], bool missing)
{
	const char *what = missing ? "option needs an argument" : "invalid option";
	const char *arg = argv[optind - 1];
	char opt[3] = { '-', (char)optopt, '\0' };

	if (strncmp(arg, "--", 2) != 0 && optopt)
		arg = opt;
	return usage_error(what, arg);
}

/**
 * cmd_status() - the `vigil status` subcommand
 * @argc: argument count, including argv[0] ("status")
 * @argv: the arguments after "vigil"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_USAGE or VIGIL_EXIT_RUNTIME (also when not loaded).
 */
int cmd_status(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "securityfs", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = DEFAULT_SECURITYFS;
	bool json = false;
	int c;

	/* ':' first: report errors ourselves, in vigil's format, not getopt's */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			dir = optarg;
			break;
		case 'h':
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		case ':':
			return option_error(argv, true);
		default:
			return option_error(argv, false);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	return show_status(dir, json);
}

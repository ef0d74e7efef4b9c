/* opts.c - one declarative option table drives parsing and --help; numeric option values. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int ds_opts_index(const ds_cmdspec *spec, const char *name)
{
	int i;

	for (i = 0; spec->opts[i].name && i < DS_OPTS_MAX; i++)
		if (!strcmp(spec->opts[i].name, name))
			return i;
	return -1;
}

const char *ds_opts_get(const ds_optvals *v, const ds_cmdspec *spec, const char *name)
{
	int i = ds_opts_index(spec, name);
	return i < 0 ? NULL : v->value[i];
}

int ds_opts_has(const ds_optvals *v, const ds_cmdspec *spec, const char *name)
{
	int i = ds_opts_index(spec, name);
	return i < 0 ? 0 : v->count[i];
}

static int choice_ok(const char *choices, const char *value)
{
	size_t n = strlen(value);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && !memcmp(p, value, n))
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

static int set_value(ds_optvals *out, const ds_optspec *o, int i, const char *value, ds_error *err)
{
	if (o->choices && !choice_ok(o->choices, value))
		return ds_error_set(err, DS_EINVAL, _("invalid value '%s' for --%s (expected %s)"), value,
		                    o->name, o->choices);
	out->value[i] = value;
	out->count[i]++;
	return DS_OK;
}

static int is_opt_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int find_long(const ds_cmdspec *spec, const char *name, size_t n)
{
	int i;

	for (i = 0; spec->opts[i].name; i++)
		if (strlen(spec->opts[i].name) == n && !memcmp(spec->opts[i].name, name, n))
			return i;
	return -1;
}

static int find_short(const ds_cmdspec *spec, char c)
{
	int i;

	for (i = 0; spec->opts[i].name; i++)
		if (spec->opts[i].short_name == c)
			return i;
	return -1;
}

int ds_opts_parse(ds_optvals *out, const ds_cmdspec *spec, int argc, char **argv, ds_error *err)
{
	int a, i, only_args = 0;

	memset(out, 0, sizeof(*out));
	out->rest = calloc((size_t)argc + 1, sizeof(char *));
	if (!out->rest)
		return ds_error_set(err, DS_ENOMEM, _("out of memory"));
	for (a = 1; a < argc; a++) {
		char *arg = argv[a];
		/* "-", "-123", "--8123…": payloads, not options (options start with a letter) */
		if (!only_args && !strcmp(arg, "--")) {
			only_args = 1;
			continue;
		}
		if (only_args || arg[0] != '-' || !is_opt_start(arg[1] == '-' ? arg[2] : arg[1])) {
			out->rest[out->nrest++] = arg;
			continue;
		}
		if (arg[1] == '-') {
			const char *name = arg + 2, *eq = strchr(name, '=');
			size_t n = eq ? (size_t)(eq - name) : strlen(name);
			const ds_optspec *o;
			i = find_long(spec, name, n);
			if (i < 0)
				return ds_error_set(err, DS_EINVAL, _("unknown option '--%.*s'"), (int)n, name);
			o = &spec->opts[i];
			if (!o->arg) {
				if (eq)
					return ds_error_set(err, DS_EINVAL, _("option '--%s' takes no value"), o->name);
				out->count[i]++;
				continue;
			}
			if (eq) {
				if (set_value(out, o, i, eq + 1, err) < 0)
					return DS_EINVAL;
			} else if (a + 1 < argc) {
				if (set_value(out, o, i, argv[++a], err) < 0)
					return DS_EINVAL;
			} else {
				return ds_error_set(err, DS_EINVAL, _("option '--%s' needs a value (%s)"), o->name, o->arg);
			}
			continue;
		}
		/* short options, possibly bundled: -qj4 */
		for (arg++; *arg; arg++) {
			const ds_optspec *o;
			i = find_short(spec, *arg);
			if (i < 0)
				return ds_error_set(err, DS_EINVAL, _("unknown option '-%c'"), *arg);
			o = &spec->opts[i];
			if (!o->arg) {
				out->count[i]++;
				continue;
			}
			if (arg[1]) {
				if (set_value(out, o, i, arg + 1, err) < 0)
					return DS_EINVAL;
			} else if (a + 1 < argc) {
				if (set_value(out, o, i, argv[++a], err) < 0)
					return DS_EINVAL;
			} else {
				return ds_error_set(err, DS_EINVAL, _("option '-%c' needs a value (%s)"), o->short_name, o->arg);
			}
			break;
		}
	}
	return DS_OK;
}

void ds_opts_help(FILE *f, const char *prog, const ds_cmdspec *spec)
{
	int i;
	char pad[96];

	fprintf(f, _("usage: %s %s\n"), prog, _(spec->usage));
	fprintf(f, "\n%s\n", _(spec->description));
	if (spec->opts[0].name)
		fputs(_("\noptions:\n"), f);
	for (i = 0; spec->opts[i].name; i++) {
		const ds_optspec *o = &spec->opts[i];
		char left[64];
		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
			         o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %s %s", ds_pad(pad, sizeof(pad), left, 26), _(o->help));
		if (o->choices)
			fprintf(f, _(" (%s)"), o->choices);
		fputc('\n', f);
	}
	if (spec->epilog)
		fprintf(f, "\n%s", _(spec->epilog));
}

ds_lang ds_lang_from_env(void)
{
	return ds_i18n_env_zh() ? DS_LANG_ZH : DS_LANG_EN;
}

void ds_cli_lang(ds_cli *cli, ds_lang lang)
{
	cli->lang = lang;
	ds_i18n_use(lang == DS_LANG_ZH);
}

int ds_cli_usage_error(ds_cli *cli, const char *cmd, const char *message)
{
	fprintf(cli->err, _("%s %s: %s\n"), cli->prog, cmd, message);
	fprintf(cli->err, _("try '%s %s --help'\n"), cli->prog, cmd);
	return DS_EXIT_USAGE;
}

void ds_cli_note(void *ctx, const char *message)
{
	ds_cli *cli = ctx;

	fprintf(cli->err, "%s: %s\n", cli->prog, message);
}

int ds_cli_escape(ds_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;
	int rc = DS_OK;

	while (rc == DS_OK && i < len) {
		n = ds_utf8_decode(&cp, p + i, len - i);
		if (n == 0)
			rc = ds_buf_printf(out, "\\x%02x", p[i++]);
		else if (cp == 0x1D)
			rc = ds_buf_puts(out, "<GS>"), i++;
		else if (cp < 0x20 || cp == 0x7f)
			rc = ds_buf_printf(out, "\\x%02x", (unsigned)cp), i++;
		else if (cp >= 0x80 && cp < 0xa0)
			rc = ds_buf_printf(out, "\\u%04x", (unsigned)cp), i += n;
		else
			rc = ds_buf_put(out, p + i, n), i += n;
	}
	return rc;
}

int ds_cli_printable(const char *s, size_t min, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = s ? strlen(s) : 0, i = 0, n;
	uint32_t cp;

	if (!s || len < min || len > max)
		return 0;
	while (i < len) {
		n = ds_utf8_decode(&cp, p + i, len - i);
		if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
			return 0;
		i += n;
	}
	return 1;
}

int ds_cli_begin(ds_cli *cli, const ds_cmdspec *spec, const char *cmd, ds_optvals *v, int argc, char **argv)
{
	const char *lang;
	ds_error err;

	if (ds_opts_parse(v, spec, argc, argv, &err) < 0) {
		free(v->rest);
		v->rest = NULL;
		return ds_cli_usage_error(cli, cmd, err.message);
	}
	lang = ds_opts_get(v, spec, "lang");
	if (lang)
		ds_cli_lang(cli, strcmp(lang, "zh") ? DS_LANG_EN : DS_LANG_ZH);
	if (ds_opts_has(v, spec, "help")) {
		ds_opts_help(cli->out, cli->prog, spec);
		return DS_EXIT_OK;
	}
	return -1;
}

/* ---- numeric values ---- */

int ds_opt_long(long *out, const char *s, long lo, long hi)
{
	char *end;
	long v;

	if (!s)
		return DS_OK;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return DS_EINVAL;
	*out = v;
	return DS_OK;
}

int ds_opt_double(double *out, const char *s, double lo, double hi)
{
	char *end;
	double v;

	if (!s)
		return DS_OK;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || !(v >= lo && v <= hi))
		return DS_EINVAL;
	*out = v;
	return DS_OK;
}

int ds_opt_shard(long *k, long *n, const char *s, long max_n)
{
	char part[32];
	const char *slash = s ? strchr(s, '/') : NULL;
	long kk = 0, nn = 0;

	if (!s || !*s)
		return DS_OK;
	if (!slash || (size_t)(slash - s) >= sizeof(part) || s[0] == '-' || slash[1] == '-')
		return DS_EINVAL;
	memcpy(part, s, (size_t)(slash - s));
	part[slash - s] = '\0';
	if (ds_opt_long(&kk, part, 0, max_n - 1) < 0 || ds_opt_long(&nn, slash + 1, 1, max_n) < 0 || kk >= nn)
		return DS_EINVAL;
	*k = kk;
	*n = nn;
	return DS_OK;
}

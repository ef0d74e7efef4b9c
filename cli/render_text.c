/*
 * render_text.c - a short answer for the person holding the box.
 *
 *   81234567890123456789
 *     ✓ 20 位药品追溯码（码上放心格式）
 *       药品标识码 8123456 · 序列号 789012345 · 校验码 6789（无公开算法，未核验）
 *     ! 首位不是 8：…
 */
#include <string.h>

#include "cli.h"
#include "render.h"

typedef struct field_name {
	const char *name, *text;
} field_name;

static const field_name field_names[] = {
	{"product_code", N_("product code")},
	{"serial", N_("serial")},
	{"check", N_("check")},
	{"gtin", N_("GTIN")},
	{"batch", N_("batch")},
	{"expiry", N_("expiry")},
	{"prod_date", N_("production date")},
	{"valid_until", N_("valid until")},
	{"ean13", N_("EAN-13")},
	{"ean8", N_("EAN-8")},
	{"upca", N_("UPC-A")},
	{"di", N_("DI")},
	{"org_code", N_("organisation")},
	{"country", N_("country")},
	{"category", N_("category")},
	{"host", N_("host")},
	{"embedded_kind", N_("carries")},
};

static const char *field_label(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (!strcmp(field_names[i].name, name))
			return _(field_names[i].text);
	return name;
}

/* The ledger's actions and states, as people read them (ds_cli_word) */
static const char *const ledger_words[] = {
	N_("receive"), N_("sell"), N_("return"), N_("destroy"), N_("stocktake"), N_("undo"), N_("scan"),
	N_("unknown"), N_("in_stock"), N_("sold"), N_("returned"), N_("destroyed"),
};

const char *ds_cli_word(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(ledger_words) / sizeof(ledger_words[0]); i++)
		if (!strcmp(id, ledger_words[i]))
			return _(ledger_words[i]);
	return id;
}

/* The input with the issue's span marked »like this«, when it is short printable text. */
static void mark_span(FILE *out, const unsigned char *in, size_t len, const ds_issue *is)
{
	size_t i;

	if (len > 120 || is->pos >= len || is->len == 0 || is->len >= len)
		return;
	for (i = 0; i < len; i++)
		if (in[i] < 0x20 && in[i] != 0x1D)
			return;
	fputs("      ", out);
	for (i = 0; i < len; i++) {
		if (i == is->pos)
			fputs("\xc2\xbb", out);
		if (in[i] == 0x1D)
			fputs("<GS>", out);
		else
			fputc(in[i], out);
		if (i + 1 == is->pos + is->len)
			fputs("\xc2\xab", out);
	}
	fputc('\n', out);
}

static int derived_from_issue(const char *label_id)
{
	return !strcmp(label_id, "code.invalid") || !strcmp(label_id, "code.product_barcode") ||
	       !strcmp(label_id, "code.gs1_check_failed") || !strcmp(label_id, "code.bad_date");
}

static void drug_lines(FILE *out, const ds_drug *d)
{
	fprintf(out, "    %s", d->generic_name);
	if (d->brand_name[0]) /* TRANSLATORS: the brand name, after the generic name */
		fprintf(out, _(" (%s)"), d->brand_name);
	if (d->dosage_form[0])
		fprintf(out, " · %s", d->dosage_form);
	if (d->spec[0])
		fprintf(out, " · %s", d->spec);
	if (d->pack[0])
		fprintf(out, " · %s", d->pack);
	fputc('\n', out);
	fprintf(out, "    %s%s%s", d->manufacturer, d->approval_no[0] ? " · " : "", d->approval_no);
	if (strcmp(d->nhsa_code, d->list_key)) /* a list row has a key, not an NHSA code */
		fprintf(out, _(" · NHSA code %s"), d->nhsa_code);
	if (d->section[0])
		/* TRANSLATORS: " · " or nothing, then the list section, the row number and the row key */
		fprintf(out, _("%slist: %s %s (%s)"),
		        d->manufacturer[0] || d->approval_no[0] || strcmp(d->nhsa_code, d->list_key) ? " · " : "", d->section,
		        d->list_no, d->list_key);
	fputc('\n', out);
}

/* One or two words for the strongest alert, for the headline. */
static const char *alert_word(const ds_label *l)
{
	static const struct {
		const char *prefix, *text;
	} words[] = {
		{"trace.expired", N_("EXPIRED")},
		{"recall.", N_("RECALLED")},
		{"ledger.already_sold", N_("ALREADY SOLD")},
		{"ledger.destroyed", N_("DESTROYED")},
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strncmp(l->id, words[i].prefix, strlen(words[i].prefix)))
			return _(words[i].text);
	/* TRANSLATORS: the headline's "well-formed, but ALERT" */
	return _("ALERT");
}

/* The first line tells the truth: no plain ✓ over an alert, nor over a code
 * that names a product and not a box. */
static void headline(FILE *out, const ds_verdict *v, ds_lang lang)
{
	const ds_code *c = v->code;
	const ds_label *top = ds_verdict_top(v);

	if (!c->valid)
		fprintf(out, "  \xe2\x9c\x97 %s\n", ds_code_summary(c, lang));
	else if (top && top->level == DS_LEVEL_ALERT)
		fprintf(out, _("  \xe2\x9a\xa0 %s: well-formed, but %s\n"), ds_code_summary(c, lang), alert_word(top));
	else if (!ds_verdict_names_box(v))
		fprintf(out, _("  ! %s: no serial, so it names the product, not this box\n"), ds_code_summary(c, lang));
	else
		fprintf(out, "  \xe2\x9c\x93 %s\n", ds_code_summary(c, lang));
}

int ds_render_text(FILE *out, ds_lang lang, ds_buf *tmp, const void *input, size_t len, const ds_verdict *v)
{
	const ds_code *c = v->code;
	const ds_label *labels = v->labels;
	size_t nlabels = v->nlabels;
	char msg[256];
	size_t i, shown = 0;
	int marked = 0;

	ds_buf_clear(tmp);
	if (c->kind != DS_KIND_GS1 || !c->nelements || ds_gs1_format(tmp, c, 1) != DS_OK) {
		/* people read GS1 in its bracketed form; anything else as normalised */
		ds_buf_clear(tmp);
		for (i = 0; i < c->text_len; i++) {
			if ((unsigned char)c->text[i] == 0x1D)
				ds_buf_puts(tmp, "<GS>");
			else
				ds_buf_putc(tmp, c->text[i]);
		}
	}
	fprintf(out, "%s\n", tmp->len ? tmp->ptr : _("(unprintable input)"));
	headline(out, v, lang);
	if (c->nfields) {
		fputs("    ", out);
		for (i = 0; i < c->nfields; i++) {
			const char *name = c->fields[i].name;
			if (!strcmp(name, "url"))
				continue;
			fprintf(out, "%s%s %s", shown++ ? " · " : "", field_label(name), c->fields[i].value);
			if (!strcmp(name, "check") && c->kind != DS_KIND_MA)
				fputs(_(" (no public algorithm: not verified)"), out);
		}
		fputc('\n', out);
	}
	if (v->drug)
		drug_lines(out, v->drug);
	for (i = 0; i < c->nissues; i++) {
		const ds_issue *is = &c->issues[i];
		const char *mark = is->severity == DS_SEV_INFO ? "\xc2\xb7" : "!";
		fprintf(out, "  %s %s\n", mark, ds_issue_message(is, lang, msg, sizeof(msg)));
		if (is->severity == DS_SEV_ERROR && !marked) {
			mark_span(out, input, len, is);
			marked = 1;
		}
	}
	for (i = 0; i < nlabels; i++) {
		const char *tag;
		if (derived_from_issue(labels[i].id))
			continue;
		tag = labels[i].level == DS_LEVEL_ALERT ? _("[ALERT]") : labels[i].level == DS_LEVEL_WARN ? _("[warn]") : _("[info]");
		fprintf(out, "  %s %s\n", tag, labels[i].text);
	}
	return ferror(out) ? DS_EIO : DS_OK;
}

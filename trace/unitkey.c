/*
 * unitkey.c - the identity of one physical pack, whatever carrier brought it:
 * a 20-digit code (also inside a URL), GTIN + serial (GS1 element string,
 * DataMatrix, bracketed text, Digital Link) or MA DI + serial.
 */
#include <stdio.h>
#include <string.h>

#include "trace.h"

/* out->key = a b c; 0 when it does not fit (too long to be one pack's code) */
static int put(ds_unit_key *out, const char *product, const char *serial, const char *a, const char *b,
               const char *c, const char *d)
{
	int n = snprintf(out->key, sizeof(out->key), "%s%s%s%s", a, b, c, d);

	if (n < 0 || (size_t)n >= sizeof(out->key)) {
		out->key[0] = '\0';
		return 0;
	}
	out->product = product;
	out->serial = serial;
	return 1;
}

int ds_code_unit_key(const ds_code *c, ds_unit_key *out)
{
	const char *embedded = ds_code_field(c, "embedded_kind");
	const char *pc = ds_code_field(c, "product_code"), *sn = ds_code_field(c, "serial");
	const char *ck = ds_code_field(c, "check"), *gtin = ds_code_field(c, "gtin"), *di = ds_code_field(c, "di");

	memset(out, 0, sizeof(*out));
	if (!c->valid || !sn || !*sn)
		return 0; /* no serial: it names a product or a batch, not this box */
	if ((c->kind == DS_KIND_NMPA20 || (embedded && !strcmp(embedded, "nmpa20"))) && pc && ck)
		return put(out, pc, sn, pc, sn, ck, "");
	if (gtin && *gtin)
		return put(out, gtin, sn, "01", gtin, "21", sn);
	if (di && *di)
		return put(out, di, sn, di, ".S", sn, "");
	return 0;
}

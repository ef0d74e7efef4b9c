/*
 * gs1_ai.c - the GS1 Application Identifier table and its small linters.
 *
 * Lengths, character sets and associations follow the GS1 General
 * Specifications. "fixed" marks the pre-defined-length AIs that need no FNC1
 * after them (00-04, 11-20, 31-36, 41x); every other AI is followed by FNC1
 * unless it ends the message. Ranges such as 3100-3105 are one row.
 */
#include <string.h>

#include "internal.h"

typedef struct ai_row {
	const char *lo, *hi; /* inclusive range of AIs with the same length */
	ai_def def;
} ai_row;

#define N_(a, b, l) {AIC_N, a, b, l, 0}
#define X_(a, b) {AIC_X, a, b, LINT_NONE, 0}
#define XO(a, b) {AIC_X, a, b, LINT_NONE, 1}
#define NO(a, b) {AIC_N, a, b, LINT_NONE, 1}
#define NOL(a, b, l) {AIC_N, a, b, l, 1}
#define END {0, 0, 0, 0, 0}
#define ROW(lo, hi, fixed, c1, c2, c3, field, title, req) \
	{lo, hi, {lo, fixed, {c1, c2, c3}, field, title, req}}
#define REQ_ITEM "01,02,8006,8026"

static const ai_row ai_table[] = {
	ROW("00", "00", 1, N_(18, 18, LINT_CSUM), END, END, "sscc", "SSCC", NULL),
	ROW("01", "01", 1, N_(14, 14, LINT_CSUM), END, END, "gtin", "GTIN", NULL),
	ROW("02", "02", 1, N_(14, 14, LINT_CSUM), END, END, "content_gtin", "CONTENT", "37"),
	ROW("03", "03", 1, N_(14, 14, LINT_CSUM), END, END, "mto_gtin", "MTO GTIN", NULL),
	ROW("10", "10", 0, X_(1, 20), END, END, "batch", "BATCH/LOT", REQ_ITEM),
	ROW("11", "11", 1, N_(6, 6, LINT_YYMMD0), END, END, "prod_date", "PROD DATE", REQ_ITEM),
	ROW("12", "12", 1, N_(6, 6, LINT_YYMMD0), END, END, "due_date", "DUE DATE", NULL),
	ROW("13", "13", 1, N_(6, 6, LINT_YYMMD0), END, END, "pack_date", "PACK DATE", REQ_ITEM),
	ROW("15", "15", 1, N_(6, 6, LINT_YYMMD0), END, END, "best_before", "BEST BEFORE", REQ_ITEM),
	ROW("16", "16", 1, N_(6, 6, LINT_YYMMD0), END, END, "sell_by", "SELL BY", REQ_ITEM),
	ROW("17", "17", 1, N_(6, 6, LINT_YYMMD0), END, END, "expiry", "USE BY OR EXPIRY", "01,02,255,8006,8026"),
	ROW("20", "20", 1, N_(2, 2, LINT_NONE), END, END, "variant", "VARIANT", REQ_ITEM),
	ROW("21", "21", 0, X_(1, 20), END, END, "serial", "SERIAL", "01,8006"),
	ROW("22", "22", 0, X_(1, 20), END, END, "cpv", "CPV", "01"),
	ROW("235", "235", 0, X_(1, 28), END, END, "tpx", "TPX", "01"),
	ROW("240", "240", 0, X_(1, 30), END, END, "additional_id", "ADDITIONAL ID", REQ_ITEM),
	ROW("241", "241", 0, X_(1, 30), END, END, "customer_part_no", "CUST. PART No.", REQ_ITEM),
	ROW("242", "242", 0, N_(1, 6, LINT_NONE), END, END, "mto_variant", "MTO VARIANT", REQ_ITEM),
	ROW("243", "243", 0, X_(1, 20), END, END, "pcn", "PCN", "01"),
	ROW("250", "250", 0, X_(1, 30), END, END, "secondary_serial", "SECONDARY SERIAL", "01,8006;21"),
	ROW("251", "251", 0, X_(1, 30), END, END, "ref_to_source", "REF. TO SOURCE", "01,8006"),
	ROW("253", "253", 0, N_(13, 13, LINT_CSUM), XO(0, 17), END, "gdti", "GDTI", NULL),
	ROW("254", "254", 0, X_(1, 20), END, END, "gln_extension", "GLN EXTENSION COMPONENT", "414"),
	ROW("255", "255", 0, N_(13, 13, LINT_CSUM), NO(0, 12), END, "gcn", "GCN", NULL),
	ROW("30", "30", 0, N_(1, 8, LINT_NONE), END, END, "var_count", "VAR. COUNT", "01,02"),
	ROW("3100", "3105", 1, N_(6, 6, LINT_NONE), END, END, NULL, "NET WEIGHT (kg)", "01,02"),
	ROW("3110", "3695", 1, N_(6, 6, LINT_NONE), END, END, NULL, "MEASURE", "00,01,02"),
	ROW("37", "37", 0, N_(1, 8, LINT_NONE), END, END, "count", "COUNT", "00,02,8026"),
	ROW("3900", "3909", 0, N_(1, 15, LINT_NONE), END, END, NULL, "AMOUNT", NULL),
	ROW("3910", "3919", 0, N_(3, 3, LINT_NONE), N_(1, 15, LINT_NONE), END, NULL, "AMOUNT", NULL),
	ROW("3920", "3929", 0, N_(1, 15, LINT_NONE), END, END, NULL, "PRICE", NULL),
	ROW("3930", "3939", 0, N_(3, 3, LINT_NONE), N_(1, 15, LINT_NONE), END, NULL, "PRICE", NULL),
	ROW("3940", "3943", 0, N_(4, 4, LINT_NONE), END, END, NULL, "PRCNT OFF", NULL),
	ROW("3950", "3955", 0, N_(6, 6, LINT_NONE), END, END, NULL, "PRICE/UoM", NULL),
	ROW("400", "400", 0, X_(1, 30), END, END, "order_number", "ORDER NUMBER", NULL),
	ROW("401", "401", 0, X_(1, 30), END, END, "ginc", "GINC", NULL),
	ROW("402", "402", 0, N_(17, 17, LINT_CSUM), END, END, "gsin", "GSIN", NULL),
	ROW("403", "403", 0, X_(1, 30), END, END, "route", "ROUTE", NULL),
	ROW("410", "410", 1, N_(13, 13, LINT_CSUM), END, END, "ship_to_gln", "SHIP TO LOC", NULL),
	ROW("411", "411", 1, N_(13, 13, LINT_CSUM), END, END, "bill_to_gln", "BILL TO", NULL),
	ROW("412", "412", 1, N_(13, 13, LINT_CSUM), END, END, "purchased_from_gln", "PURCHASE FROM", NULL),
	ROW("413", "413", 1, N_(13, 13, LINT_CSUM), END, END, "ship_for_gln", "SHIP FOR LOC", NULL),
	ROW("414", "414", 1, N_(13, 13, LINT_CSUM), END, END, "gln", "LOC No.", NULL),
	ROW("415", "415", 1, N_(13, 13, LINT_CSUM), END, END, "pay_to_gln", "PAY TO", NULL),
	ROW("416", "416", 1, N_(13, 13, LINT_CSUM), END, END, "prod_serv_gln", "PROD/SERV LOC", NULL),
	ROW("417", "417", 1, N_(13, 13, LINT_CSUM), END, END, "party_gln", "PARTY", NULL),
	ROW("420", "420", 0, X_(1, 20), END, END, "ship_to_post", "SHIP TO POST", NULL),
	ROW("421", "421", 0, N_(3, 3, LINT_NONE), X_(1, 9), END, "ship_to_post_iso", "SHIP TO POST", NULL),
	ROW("422", "422", 0, N_(3, 3, LINT_NONE), END, END, "origin", "ORIGIN", REQ_ITEM),
	ROW("423", "423", 0, N_(3, 15, LINT_NONE), END, END, "country_initial_process", "COUNTRY - INITIAL PROCESS", "01,02"),
	ROW("424", "424", 0, N_(3, 3, LINT_NONE), END, END, "country_process", "COUNTRY - PROCESS", "01,02"),
	ROW("425", "425", 0, N_(3, 15, LINT_NONE), END, END, "country_disassembly", "COUNTRY - DISASSEMBLY", "01,02"),
	ROW("426", "426", 0, N_(3, 3, LINT_NONE), END, END, "country_full_process", "COUNTRY - FULL PROCESS", "01,02"),
	ROW("427", "427", 0, X_(1, 3), END, END, "origin_subdivision", "ORIGIN SUBDIVISION", "01,02"),
	ROW("4300", "4320", 0, X_(1, 70), END, END, NULL, "SHIP/RETURN TO", "00"),
	ROW("4321", "4323", 0, N_(1, 1, LINT_NONE), END, END, NULL, "DELIVERY FLAG", "00"),
	ROW("4324", "4325", 0, N_(6, 6, LINT_YYMMD0), N_(4, 4, LINT_HHMM), END, NULL, "DELIVERY DATE", "00"),
	ROW("4326", "4326", 0, N_(6, 6, LINT_YYMMDD), END, END, NULL, "REL DATE", "00"),
	ROW("4330", "4333", 0, N_(6, 6, LINT_NONE), XO(0, 1), END, NULL, "TEMPERATURE", "00"),
	ROW("7001", "7001", 0, N_(13, 13, LINT_NONE), END, END, "nsn", "NSN", REQ_ITEM),
	ROW("7003", "7003", 0, N_(6, 6, LINT_YYMMDD), N_(4, 4, LINT_HHMM), END, "expiry_time", "EXPIRY TIME", "01,02"),
	ROW("7004", "7004", 0, N_(1, 4, LINT_NONE), END, END, "active_potency", "ACTIVE POTENCY", "01;10"),
	ROW("7005", "7005", 0, X_(1, 12), END, END, "catch_area", "CATCH AREA", "01,02"),
	ROW("7006", "7006", 0, N_(6, 6, LINT_YYMMDD), END, END, "first_freeze_date", "FIRST FREEZE DATE", "01,02"),
	ROW("7007", "7007", 0, N_(6, 6, LINT_YYMMDD), NOL(6, 6, LINT_YYMMDD), END, "harvest_date", "HARVEST DATE", "01,02"),
	ROW("7008", "7008", 0, X_(1, 3), END, END, "aquatic_species", "AQUATIC SPECIES", "01,02"),
	ROW("7009", "7009", 0, X_(1, 10), END, END, "fishing_gear", "FISHING GEAR TYPE", "01,02"),
	ROW("7010", "7010", 0, X_(1, 2), END, END, "prod_method", "PROD METHOD", "01,02"),
	ROW("7011", "7011", 0, N_(6, 6, LINT_YYMMDD), NOL(4, 4, LINT_HHMM), END, "test_by_date", "TEST BY DATE", "01,02"),
	ROW("7020", "7020", 0, X_(1, 20), END, END, "refurb_lot", "REFURB LOT", "01,8006"),
	ROW("7021", "7021", 0, X_(1, 20), END, END, "func_stat", "FUNC STAT", "01,8006"),
	ROW("7022", "7022", 0, X_(1, 20), END, END, "rev_stat", "REV STAT", "7021"),
	ROW("7023", "7023", 0, X_(1, 30), END, END, "giai_assembly", "GIAI - ASSEMBLY", NULL),
	ROW("7030", "7039", 0, N_(3, 3, LINT_NONE), X_(1, 27), END, NULL, "PROCESSOR", "01,02"),
	ROW("7240", "7240", 0, X_(1, 20), END, END, "protocol", "PROTOCOL", "01,8006"),
	ROW("710", "710", 0, X_(1, 20), END, END, "nhrn_pzn", "NHRN PZN", "01"),
	ROW("711", "711", 0, X_(1, 20), END, END, "nhrn_cip", "NHRN CIP", "01"),
	ROW("712", "712", 0, X_(1, 20), END, END, "nhrn_cn", "NHRN CN", "01"),
	ROW("713", "713", 0, X_(1, 20), END, END, "nhrn_drn", "NHRN DRN", "01"),
	ROW("714", "714", 0, X_(1, 20), END, END, "nhrn_aim", "NHRN AIM", "01"),
	ROW("715", "715", 0, X_(1, 20), END, END, "nhrn_ndc", "NHRN NDC", "01"),
	ROW("716", "716", 0, X_(1, 20), END, END, "nhrn_aic", "NHRN AIC", "01"),
	ROW("717", "717", 0, X_(1, 20), END, END, "nhrn_717", "NHRN", "01"),
	ROW("8001", "8001", 0, N_(14, 14, LINT_NONE), END, END, "dimensions", "DIMENSIONS", "01"),
	ROW("8002", "8002", 0, X_(1, 20), END, END, "cmt_no", "CMT No.", NULL),
	ROW("8003", "8003", 0, N_(14, 14, LINT_CSUM), XO(0, 16), END, "grai", "GRAI", NULL),
	ROW("8004", "8004", 0, X_(1, 30), END, END, "giai", "GIAI", NULL),
	ROW("8005", "8005", 0, N_(6, 6, LINT_NONE), END, END, "price_per_unit", "PRICE PER UNIT", "01,02"),
	ROW("8006", "8006", 0, N_(14, 14, LINT_CSUM), N_(4, 4, LINT_NONE), END, "itip", "ITIP", NULL),
	ROW("8008", "8008", 0, N_(8, 8, LINT_NONE), NO(0, 4), END, "prod_time", "PROD TIME", "01,02"),
	ROW("8009", "8009", 0, X_(1, 50), END, END, "optsen", "OPTSEN", "00,01"),
	ROW("8012", "8012", 0, X_(1, 20), END, END, "version", "VERSION", "01,8006"),
	ROW("8013", "8013", 0, X_(1, 25), END, END, "gmn", "GMN", NULL),
	ROW("8017", "8018", 0, N_(18, 18, LINT_CSUM), END, END, NULL, "GSRN", NULL),
	ROW("8019", "8019", 0, N_(1, 10, LINT_NONE), END, END, "srin", "SRIN", "8017,8018"),
	ROW("8020", "8020", 0, X_(1, 25), END, END, "ref_no", "REF No.", "415"),
	ROW("8026", "8026", 0, N_(14, 14, LINT_CSUM), N_(4, 4, LINT_NONE), END, "itip_content", "ITIP CONTENT", "37"),
	ROW("8200", "8200", 0, X_(1, 70), END, END, "product_url", "PRODUCT URL", "01"),
	ROW("90", "90", 0, X_(1, 30), END, END, "internal_90", "INTERNAL", NULL),
	ROW("91", "99", 0, X_(1, 90), END, END, NULL, "INTERNAL", NULL),
};

#define AI_COUNT (sizeof(ai_table) / sizeof(ai_table[0]))

static int in_range(const ai_row *r, const char *s, size_t len)
{
	return memcmp(s, r->lo, len) >= 0 && memcmp(s, r->hi, len) <= 0;
}

const ai_def *gs1_ai_lookup(const char *s, size_t n, size_t *ai_len)
{
	size_t i, len;

	for (len = 2; len <= 4; len++) {
		if (n < len)
			return NULL;
		if (!tc_is_digits(s, len))
			return NULL;
		for (i = 0; i < AI_COUNT; i++) {
			const ai_row *r = &ai_table[i];
			if (strlen(r->lo) == len && in_range(r, s, len)) {
				*ai_len = len;
				return &r->def;
			}
		}
	}
	return NULL;
}

const ai_def *gs1_ai_find(const char *ai)
{
	size_t len = strlen(ai), got = 0;
	const ai_def *d = gs1_ai_lookup(ai, len, &got);

	return d && got == len ? d : NULL;
}

size_t gs1_ai_total_max(const ai_def *d)
{
	size_t i, total = 0;

	for (i = 0; i < 3 && d->comp[i].max; i++)
		total += d->comp[i].max;
	return total;
}

/* GS1 AI encodable character set 82. */
int gs1_cset82(unsigned char ch)
{
	if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
		return 1;
	return ch != 0 && strchr("!\"%&'()*+,-./:;<=>?_", ch) != NULL;
}

int ds_gs1_check_digit(const char *d, size_t n)
{
	size_t i;
	int sum = 0, w = 3;

	if (n == 0)
		return -1;
	for (i = n; i-- > 0;) { /* weights 3, 1, 3, ... from the right */
		if (d[i] < '0' || d[i] > '9')
			return -1;
		sum += (d[i] - '0') * w;
		w = w == 3 ? 1 : 3;
	}
	return (10 - sum % 10) % 10;
}

int gs1_csum_ok(const char *d, size_t n)
{
	int c = n >= 2 ? ds_gs1_check_digit(d, n - 1) : -1;

	return c >= 0 && c == d[n - 1] - '0';
}

int gs1_date(const char *s, int today_ymd, int allow_dd00, int *out_day00)
{
	int yy = (s[0] - '0') * 10 + (s[1] - '0');
	int mm = (s[2] - '0') * 10 + (s[3] - '0');
	int dd = (s[4] - '0') * 10 + (s[5] - '0');
	int cur = today_ymd ? today_ymd / 10000 : 2026;
	int century = cur / 100 * 100, diff, year, dim;

	if (out_day00)
		*out_day00 = 0;
	/* GS1 General Specifications 7.12: a date within -49/+50 years of now. */
	diff = yy - cur % 100;
	if (diff >= 51)
		year = century - 100 + yy;
	else if (diff <= -50)
		year = century + 100 + yy;
	else
		year = century + yy;
	dim = ds_days_in_month(year, mm);
	if (!dim)
		return 0;
	if (dd == 0) {
		if (!allow_dd00)
			return 0;
		if (out_day00)
			*out_day00 = 1;
		dd = dim;
	}
	if (dd > dim)
		return 0;
	return year * 10000 + mm * 100 + dd;
}

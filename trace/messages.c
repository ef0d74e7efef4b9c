/*
 * messages.c - what each issue and code-level label says, in Chinese and English.
 *
 * "{}" in a template is replaced by the issue's arg.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct msg {
	const char *id;
	const char *zh;
	const char *en;
} msg;

static const msg messages[] = {
	{"input.too_long", "输入过长（{} 字节，上限 8192）", "input too long ({} bytes, limit 8192)"},
	{"input.invalid_utf8", "输入不是有效的 UTF-8 文本", "input is not valid UTF-8 text"},
	{"input.control_char", "输入含控制字符 {}（二进制数据？）", "input contains control character {} (binary data?)"},
	{"input.empty", "输入为空", "empty input"},
	{"norm.gb18030", "输入为 GB18030/GBK 编码的全角字符，已转换", "input was GB18030/GBK full-width text; converted"},
	{"norm.fullwidth", "已将全角字符转换为半角", "full-width characters converted to ASCII"},
	{"norm.whitespace", "已去除{}空白", "{} whitespace removed"},
	{"norm.separators", "已去除数字之间的空格或连字符", "spaces or hyphens between digits removed"},
	{"norm.aim_prefix", "已去除扫码枪的符号标识前缀 {}", "scanner symbology prefix {} removed"},
	{"norm.caps_lock", "大写锁定（Caps Lock）使字母大小写颠倒，已纠正", "Caps Lock had inverted the letter case; corrected"},
	{"norm.gs_standin", "已将分隔符替代写法 {} 视为 FNC1（GS）", "FNC1 stand-in {} read as GS (0x1D)"},
	{"norm.spaces", "已去除 GS1 数据中的空格（GS1 数据不含空格）", "spaces removed (GS1 data never contains spaces)"},
	{"norm.bom", "已去除开头的字节顺序标记（BOM）", "byte order mark (BOM) removed"},
	{"norm.invisible", "已去除不可见的零宽字符", "invisible zero-width characters removed"},
	{"url.bad_percent", "网址中的 % 后应为两位十六进制数", "'%' in the web address is not followed by two hex digits"},
	{"gs1.expiry_before_production", "有效期早于生产日期", "expiry date is before the production date"},
	{"norm.extra_fnc1", "已去除多余的 FNC1 分隔符", "superfluous FNC1 separator removed"},
	{"nmpa.prefix", "首位不是 8：码上放心追溯码通常以 8 开头，请核对", "first digit is not 8: 码上放心 trace codes normally start with 8"},
	{"nmpa.length", "位数不对：{} 位，药品追溯码应为 20 位", "{} digits: a trace code has 20"},
	{"nmpa.non_digit", "20 位追溯码中有非数字字符“{}”", "non-digit '{}' in a 20-digit trace code"},
	{"ean.product_barcode", "这是商品条码（{}），不是药品追溯码：请扫描标有“药品追溯码”字样的条码（通常为 20 位数字）",
	 "this is a product barcode ({}), not a trace code: scan the code labelled 药品追溯码 (usually 20 digits)"},
	{"ean.check_digit", "商品条码校验位错误", "product barcode check digit is wrong"},
	{"code.unrecognised", "无法识别的编码格式", "not a recognised trace-code format"},
	{"code.standard_code", "这是药品本位码（14 位），不是药品追溯码", "this is a 药品本位码 (national drug standard code), not a trace code"},
	{"code.gtin_only", "只有商品 GTIN、没有序列号：请扫描盒上的二维码", "a bare GTIN with no serial: scan the 2D code on the box"},
	{"code.embedded_hint", "其中有 20 位数字 {}；如果它是追溯码，请只输入这 20 位", "contains the 20-digit number {}; if that is the trace code, enter only those digits"},
	{"gs1.unknown_ai", "未知的 GS1 应用标识符 ({})", "unknown GS1 application identifier ({})"},
	{"gs1.bad_ai", "此处应为 GS1 应用标识符", "expected a GS1 application identifier here"},
	{"gs1.too_short", "AI ({}) 的数据太短", "AI ({}) value is too short"},
	{"gs1.too_long", "AI ({}) 的数据太长", "AI ({}) value is too long"},
	{"gs1.missing_fnc1", "AI ({}) 的数据超长：可能丢失了 FNC1 分隔符", "AI ({}) value runs on: a FNC1 separator is probably missing"},
	{"gs1.non_digit", "AI ({}) 只能是数字", "AI ({}) must be numeric"},
	{"gs1.bad_char", "AI ({}) 含 GS1 不允许的字符", "AI ({}) contains a character GS1 does not allow"},
	{"gs1.check_digit", "AI ({}) 校验位错误（GS1 模 10）", "AI ({}) check digit is wrong (GS1 mod 10)"},
	{"gs1.bad_date", "AI ({}) 不是有效日期", "AI ({}) is not a valid date"},
	{"gs1.conflicting_ai", "AI ({}) 出现两次且值不同", "AI ({}) appears twice with different values"},
	{"gs1.repeated_ai", "AI ({}) 重复出现", "AI ({}) is repeated"},
	{"gs1.too_many", "GS1 数据元素过多", "too many GS1 elements"},
	{"gs1.oversized", "GS1 数据超过任何条码能容纳的长度（{} 个字符）", "longer than any real symbol can carry ({} characters)"},
	{"gs1.repeated_no_gtin", "没有 GTIN 却重复同一 AI：不是追溯码", "a repeated AI without a GTIN: not a trace code"},
	{"gs1.bracket", "括号格式错误，应为 (AI)数据", "malformed bracketed form: expected (AI)value"},
	{"gs1.empty", "没有 GS1 数据", "no GS1 data"},
	{"gs1.missing_required", "缺少必需的关联 AI（{}）", "an AI lacks its required companion ({})"},
	{"gs1.exclusive", "这两个 AI 不能同时出现：{}", "these AIs cannot appear together: {}"},
	{"gs1.no_gtin", "没有 GTIN (01)：这不是药品包装上的追溯码", "no GTIN (01): not a trade-item trace code"},
	{"gs1.no_serial", "没有序列号 (21)：只能识别品种或批次，不能识别这一盒", "no serial (21): identifies the product or batch, not this box"},
	{"ma.short", "MA 码不完整：应为 MA.156.类别.机构代码.产品代码", "incomplete MA code: expected MA.156.<category>.<organisation>.<product>"},
	{"ma.bad_country", "MA 码的国家代码应为 3 位数字", "the MA code's country must be 3 digits"},
	{"ma.foreign", "MA 码的国家代码是 {}，不是 156（中国）", "the MA code's country is {}, not 156 (China)"},
	{"ma.empty_segment", "MA 码中有空字段", "empty field in the MA code"},
	{"ma.bad_char", "MA 码含非法字符“{}”", "invalid character '{}' in the MA code"},
	{"ma.bad_date", "MA 码的日期字段 .{} 无效", "the MA code's date field .{} is not a valid date"},
	{"ma.unknown_field", "MA 码含未知字段 .{}（已保留在 ma_{} 字段中）", "unknown MA field .{} (kept as field ma_{})"},
	{"ma.no_serial", "MA 码没有序列号 (.S)：不能识别这一盒", "no serial (.S) in the MA code: it does not identify this box"},
	{"url.no_code", "这是一个网址，其中没有药品追溯码", "a web address with no trace code in it"},
	{"url.bad_char", "网址中含空格或非 ASCII 字符", "the web address contains spaces or non-ASCII characters"},
	{"url.gtin_padded", "网址中的 GTIN 已补零至 14 位", "the GTIN in the link was zero-padded to 14 digits"},
};

static const msg *find_msg(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
		if (!strcmp(messages[i].id, id))
			return &messages[i];
	return NULL;
}

static void fill(char *buf, size_t size, const char *tmpl, const char *arg)
{
	size_t n = 0;

	/* every "{}" becomes arg */
	while (*tmpl && n + 1 < size) {
		if (tmpl[0] == '{' && tmpl[1] == '}') {
			const char *a = arg;
			while (*a && n + 1 < size)
				buf[n++] = *a++;
			tmpl += 2;
		} else {
			buf[n++] = *tmpl++;
		}
	}
	buf[n] = '\0';
}

static const char *ws_arg(const char *arg, ds_lang lang)
{
	if (lang == DS_LANG_ZH)
		return !strcmp(arg, "leading") ? "开头的" : "末尾的";
	return !strcmp(arg, "leading") ? "leading" : "trailing";
}

const char *ds_issue_message(const ds_issue *issue, ds_lang lang, char *buf, size_t size)
{
	const msg *m = find_msg(issue->id);
	const char *arg = issue->arg;

	if (!size)
		return buf;
	if (!m) {
		snprintf(buf, size, "%s", issue->id);
		return buf;
	}
	if (!strcmp(issue->id, "norm.whitespace"))
		arg = ws_arg(arg, lang);
	fill(buf, size, lang == DS_LANG_ZH ? m->zh : m->en, arg);
	return buf;
}

const char *ds_code_summary(const ds_code *code, ds_lang lang)
{
	int zh = lang == DS_LANG_ZH;

	switch (code->kind) {
	case DS_KIND_NMPA20: return zh ? "20 位药品追溯码（码上放心格式）" : "20-digit drug trace code (码上放心)";
	case DS_KIND_GS1: return zh ? "GS1 追溯码" : "GS1 trace code";
	case DS_KIND_MA: return zh ? "MA 追溯码（IDcode）" : "MA trace code (IDcode)";
	case DS_KIND_URL: return zh ? "网址二维码" : "web address (URL)";
	case DS_KIND_PRODUCT_BARCODE: return zh ? "商品条码（不是追溯码）" : "product barcode (not a trace code)";
	case DS_KIND_UNKNOWN: break;
	}
	return zh ? "无法识别的编码" : "unrecognised code";
}

static ds_label *add_label(ds_label *out, size_t max, size_t *n, const char *id, ds_level level)
{
	if (*n >= max)
		return NULL;
	out[*n].id = id;
	out[*n].level = level;
	out[*n].text[0] = '\0';
	out[*n].ratio = 0;
	return &out[(*n)++];
}

static const ds_issue *first_error(const ds_code *code)
{
	size_t i;

	for (i = 0; i < code->nissues; i++)
		if (code->issues[i].severity == DS_SEV_ERROR)
			return &code->issues[i];
	return NULL;
}

size_t ds_trace_labels(ds_label *out, size_t max, const ds_code *code, const ds_trace_opts *opts,
                       ds_lang lang)
{
	size_t n = 0;
	int zh = lang == DS_LANG_ZH;
	ds_label *l;
	char msgbuf[200];

	if (code->kind == DS_KIND_PRODUCT_BARCODE) {
		if ((l = add_label(out, max, &n, "code.product_barcode", DS_LEVEL_WARN)))
			snprintf(l->text, sizeof(l->text), "%s",
			         zh ? "这是商品条码，不是药品追溯码：请扫描标有“药品追溯码”的条码"
			            : "product barcode, not the trace code: scan the code labelled 药品追溯码");
	} else if (!code->valid) {
		const ds_issue *e = first_error(code);
		if ((l = add_label(out, max, &n, "code.invalid", DS_LEVEL_WARN)))
			snprintf(l->text, sizeof(l->text), "%s%s",
			         zh ? "不是有效的药品追溯码：" : "not a valid trace code: ",
			         e ? ds_issue_message(e, lang, msgbuf, sizeof(msgbuf)) : "");
	}
	if (ds_code_has_issue(code, "gs1.check_digit") &&
	    (l = add_label(out, max, &n, "code.gs1_check_failed", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text), "%s", zh ? "GS1 校验位错误" : "GS1 check digit failed");
	if ((ds_code_has_issue(code, "gs1.bad_date") || ds_code_has_issue(code, "ma.bad_date")) &&
	    (l = add_label(out, max, &n, "code.bad_date", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text), "%s", zh ? "日期无效" : "invalid date");
	if (code->expiry_ymd && opts && opts->today_ymd) {
		int left = tc_days_between(opts->today_ymd, code->expiry_ymd);
		int y = code->expiry_ymd / 10000, m = code->expiry_ymd / 100 % 100, d = code->expiry_ymd % 100;
		if (left < 0) {
			if ((l = add_label(out, max, &n, "trace.expired", DS_LEVEL_ALERT)))
				snprintf(l->text, sizeof(l->text), zh ? "已过期（有效期至 %04d-%02d-%02d）" : "expired (use by %04d-%02d-%02d)", y, m, d);
		} else if (left <= opts->expiring_days) {
			if ((l = add_label(out, max, &n, "trace.expiring", DS_LEVEL_WARN)))
				snprintf(l->text, sizeof(l->text),
				         zh ? "近效期：%04d-%02d-%02d 到期，还剩 %d 天" : "expires %04d-%02d-%02d, in %d days", y, m, d, left);
		}
	}
	return n;
}

/*
 * html.c - report.html: one self-contained page (inline CSS, the
 * thumbnails as data: URIs, no script, nothing fetched) that opens offline.
 *
 * Summary counts and a bar per label come first, then the duplicates, then
 * the problem photos (duplicate, alert, invalid, unreadable, no code, only a
 * product barcode, warnings) each with its thumbnail, the decoded symbols
 * outlined and numbered, and their labels; the other photos follow as rows.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_THUMBS 2000    /* thumbnails embedded; the rest of the problems are rows */
#define MAX_OK_ROWS 5000   /* photos without problems listed */

typedef struct page {
	FILE *out;
	ds_lang lang;
	FILE *results;
	const char *dir;
	ds_buf tmp;
} page;

/* A format in the page's language (a macro, so the compiler checks both). */
#define TF(p, en, zh) ((p)->lang == DS_LANG_ZH ? (zh) : (en))

static const char *T(const page *p, const char *en, const char *zh)
{
	return p->lang == DS_LANG_ZH ? zh : en;
}

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		case 0x1D: fputs("<span class=gs>GS</span>", f); break;
		default:
			if ((unsigned char)*s < 0x20)
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

static json_t *read_line(page *p, const au_photo *ph)
{
	if (au_read_line(p->results, ph->offset, ph->len, &p->tmp) < 0)
		return NULL;
	return json_loadb(p->tmp.ptr, ph->len, 0, NULL);
}

static const struct problem {
	unsigned flag;
	const char *cls, *en, *zh;
} problems[] = {
	{AU_DUPLICATE, "alert", "duplicate code", "重复追溯码"},
	{AU_ALERT, "alert", "alert", "警示"},
	{AU_INVALID, "bad", "malformed code", "追溯码格式错误"},
	{AU_ERROR, "bad", "unreadable file", "无法读取"},
	{AU_NO_CODE, "bad", "no code found", "未找到条码"},
	{AU_NO_TRACE, "warn", "product barcode only", "仅有商品条码"},
	{AU_WARN, "warn", "needs a look", "需核对"},
};

#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

static size_t rank(unsigned flags)
{
	size_t k;

	for (k = 0; k < NPROBLEMS; k++)
		if (flags & problems[k].flag)
			return k;
	return NPROBLEMS;
}

static const char *style =
	"body{font:14px/1.45 system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:0;color:#1d232b;"
	"background:#f4f6f8}"
	"header{background:#17324d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}"
	"header p{margin:4px 0 0;opacity:.8}main{padding:8px 28px 40px}"
	"h2{font-size:18px;margin:26px 0 10px;border-bottom:2px solid #d5dde5;padding-bottom:4px}"
	".cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:16px}"
	".card{background:#fff;border-radius:8px;padding:10px 16px;min-width:120px;box-shadow:0 1px 2px #0002}"
	".card b{display:block;font-size:24px}.card.alert b{color:#b3261e}.card.bad b{color:#b35c00}"
	"table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0002}"
	"td,th{padding:6px 10px;border-bottom:1px solid #e3e8ee;text-align:left;vertical-align:top}"
	"th{background:#eef2f6;font-weight:600}"
	".bar{height:14px;border-radius:3px;background:#4a78a8;display:inline-block;vertical-align:middle}"
	".bar.alert{background:#c62828}.bar.warn{background:#e08a00}.barcell{width:45%}"
	".n{font-variant-numeric:tabular-nums;text-align:right}"
	".chip{display:inline-block;border-radius:10px;padding:0 8px;margin:1px 3px 1px 0;font-size:12px;"
	"background:#e4ecf4;color:#17324d}.chip.alert{background:#fbe1df;color:#8c1d18;font-weight:600}"
	".chip.bad{background:#fdebd3;color:#7a3e00;font-weight:600}.chip.warn{background:#fff2c6;color:#6b5000}"
	".file{font-family:ui-monospace,monospace;word-break:break-all;font-weight:600}"
	".code{font-family:ui-monospace,monospace;word-break:break-all}.gs{font-size:9px;border:1px solid #999;"
	"border-radius:2px;padding:0 1px;margin:0 1px}"
	".thumbcell{width:250px}.thumb{width:240px;height:auto;background:#ddd;border-radius:4px;display:block}"
	".thumb polygon{fill:none;stroke:#1b8a3a;stroke-width:3;vector-effect:non-scaling-stroke}"
	".thumb polygon.alert{stroke:#e02020}.thumb polygon.bad{stroke:#ff8c00}.thumb polygon.warn{stroke:#e0b000}"
	".thumb text{fill:#fff;stroke:#000;stroke-width:1px;paint-order:stroke;font-weight:700;"
	"vector-effect:non-scaling-stroke}"
	".nothumb{width:240px;height:60px;display:flex;align-items:center;justify-content:center;"
	"background:#e3e8ee;color:#667;border-radius:4px}"
	"ol.codes{margin:4px 0 0;padding-left:22px}ol.codes li{margin-bottom:4px}"
	".drug{color:#333}.muted{color:#667}.note{margin-top:30px;color:#556;font-size:13px}"
	".id{font-size:11px;font-family:ui-monospace,monospace}table.labels td:first-child{width:50%}"
	"a{color:#1f5c99}tr.problem:target{outline:3px solid #f2b600}"
	"header p.meta{font-size:12px;opacity:.75}"
	".banner{padding:14px 28px;font-size:15px}.banner b{font-size:17px}.banner p{margin:4px 0}"
	".banner.stop{background:#b3261e;color:#fff}"
	".banner.demo{background:#fff2c6;color:#4d3a00;border-bottom:2px solid #e0b000}"
	".banner pre{background:#00000033;color:inherit;padding:6px 10px;border-radius:4px;margin:6px 0;"
	"white-space:pre-wrap;word-break:break-all;font:13px/1.4 ui-monospace,monospace}";

static void card(page *p, const char *cls, size_t n, const char *en, const char *zh)
{
	fprintf(p->out, "<div class=\"card %s\"><b>%zu</b>%s</div>", cls, n, T(p, en, zh));
}

static const char *sev_class(const char *sev)
{
	return !strcmp(sev, "alert") ? "alert" : !strcmp(sev, "warn") ? "warn" : "info";
}

static void summary(page *p, const au *a, const au_run *run)
{
	size_t i, k, cnt[NPROBLEMS] = {0}, decoded = 0, max = 1;
	int r;

	for (i = 0; i < a->nphotos; i++)
		for (k = 0; k < NPROBLEMS; k++)
			if (a->photos[i].flags & problems[k].flag)
				cnt[k]++;
	for (i = 0; i < a->nstatus; i++)
		if (!strcmp(a->status[i].name, "decoded"))
			decoded = a->status[i].codes;
	fputs("<div class=cards>", p->out);
	card(p, "", a->nphotos, "photos", "张照片");
	card(p, "", decoded, "with a code", "读到条码");
	card(p, cnt[4] ? "bad" : "", cnt[4], "no code found", "未找到条码");
	card(p, cnt[3] ? "bad" : "", cnt[3], "unreadable", "无法读取");
	card(p, "", a->ncodes, "distinct codes", "个不同条码");
	card(p, a->nduplicates ? "alert" : "", a->nduplicates, "codes in 2+ photos", "重复追溯码");
	card(p, cnt[1] ? "alert" : "", cnt[1], "photos with an alert", "含警示的照片");
	card(p, cnt[2] ? "bad" : "", cnt[2], "malformed codes", "格式错误");
	fprintf(p->out, "<div class=card><b>%.1f</b>%s</div>",
	        run->elapsed_s > 0 ? (double)run->scanned / run->elapsed_s : 0.0, T(p, "photos/s", "张/秒"));
	fputs("</div>\n", p->out);

	fprintf(p->out, "<h2>%s</h2>\n", T(p, "Labels (photos carrying each)", "标签（含该标签的照片数）"));
	if (!a->ngroups) {
		fprintf(p->out, "<p class=muted>%s</p>\n", T(p, "No labels.", "没有标签。"));
		return;
	}
	for (i = 0; i < a->ngroups; i++)
		if (a->groups[i].photos > max)
			max = a->groups[i].photos;
	fprintf(p->out, "<table class=labels><tr><th>%s</th><th class=barcell></th><th class=n>%s</th></tr>\n",
	        T(p, "label", "标签"), T(p, "photos", "照片"));
	for (r = 0; r <= 3; r++) { /* one row per label and severity: alerts, then warnings, then the rest */
		for (i = 0; i < a->ngroups; i++) {
			const au_count *l = &a->groups[i];
			const char *cls = sev_class(l->severity);
			if (au_severity_rank(l->severity) != r)
				continue;
			fprintf(p->out, "<tr class=\"label %s\"><td><span class=\"chip %s\">", cls, cls);
			esc(p->out, l->text);
			fputs("</span> <span class=\"muted id\">", p->out);
			esc(p->out, l->name);
			fprintf(p->out, "</span></td><td class=barcell><span class=\"bar %s\" style=\"width:%.1f%%\"></span></td>"
			                "<td class=n>%zu</td></tr>\n",
			        cls, 100.0 * (double)l->photos / (double)max, l->photos);
		}
	}
	fputs("</table>\n", p->out);
}

static void duplicates(page *p, const au *a)
{
	size_t i, k;

	fprintf(p->out, "<h2>%s (%zu)</h2>\n", T(p, "The same code in different photos", "同一追溯码出现在不同照片中"),
	        a->nduplicates);
	if (!a->nduplicates) {
		fprintf(p->out, "<p class=muted>%s</p>\n", T(p, "None.", "无。"));
		return;
	}
	fprintf(p->out, "<p class=muted>%s</p>\n",
	        T(p, "Each trace code names one box. Seen in photos of different boxes, shelves or shops, it is evidence "
	             "of 串码 or 回流药; two photos of the same box also show here, so compare the thumbnails. Byte-identical "
	             "files are not counted twice.",
	          "每个追溯码只对应一盒药。出现在不同药盒、货架或门店的照片中，可能是串码或回流药；同一盒药拍了两次也会列在这里，请对照缩略图。"
	          "内容完全相同的文件不重复计算。"));
	fprintf(p->out, "<table class=dups><tr><th>%s</th><th>%s</th><th class=n>%s</th><th>%s</th></tr>\n",
	        T(p, "code", "追溯码"), T(p, "drug", "药品"), T(p, "files", "文件"), T(p, "photos", "照片"));
	for (i = 0; i < a->ncodes; i++) {
		const au_code *c = &a->codes[i];
		if (!c->duplicate)
			continue;
		fputs("<tr class=dup><td class=code>", p->out);
		esc(p->out, c->text);
		fputs("</td><td class=drug>", p->out);
		esc(p->out, *c->generic_name ? c->generic_name : "—");
		fprintf(p->out, "</td><td class=n>%zu</td><td>", c->files);
		for (k = 0; k < c->nphotos; k++) {
			const char *sha = a->photos[c->photos[k]].sha256;
			size_t j;
			fprintf(p->out, "%s<a class=file href=\"#p%zu\">", k ? "<br>" : "", c->photos[k]);
			esc(p->out, a->photos[c->photos[k]].file);
			fputs("</a>", p->out);
			for (j = 0; j < k; j++)
				if (*sha && !strcmp(sha, a->photos[c->photos[j]].sha256))
					break;
			if (j < k) {
				fprintf(p->out, " <span class=muted>(%s ", T(p, "the same file as", "与此文件完全相同："));
				esc(p->out, a->photos[c->photos[j]].file);
				fputs(")</span>", p->out);
			}
		}
		fputs("</td></tr>\n", p->out);
	}
	fputs("</table>\n", p->out);
}

static const char *code_class(json_t *c)
{
	json_t *labels = json_object_get(c, "labels"), *l;
	size_t k;
	const char *cls = json_is_true(json_object_get(c, "valid")) ? "ok" : "bad";

	if (!strcmp(au_jstr(c, "kind"), "product-barcode"))
		cls = "warn";
	json_array_foreach(labels, k, l)
		if (!strcmp(au_jstr(l, "severity"), "alert"))
			return "alert";
	return cls;
}

static int thumbnail(page *p, json_t *line)
{
	const char *rel = au_jstr(line, "thumbnail");
	json_t *img = json_object_get(line, "image"), *codes = json_object_get(line, "codes"), *c;
	double w = (double)json_integer_value(json_object_get(img, "width"));
	double h = (double)json_integer_value(json_object_get(img, "height"));
	char path[4096];
	uint8_t *data = NULL;
	unsigned char *b64;
	size_t len, i;
	int k;
	ds_error err;

	snprintf(path, sizeof(path), "%s/%s", p->dir, rel);
	if (!*rel || w <= 0 || h <= 0 || strstr(rel, "..") || ds_image_read_file(path, &data, &len, &err) < 0 ||
	    len > 4 * 1024 * 1024) {
		free(data);
		fprintf(p->out, "<div class=nothumb>%s</div>", T(p, "no thumbnail", "无缩略图"));
		return 0;
	}
	b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (!b64) {
		free(data);
		return 0;
	}
	EVP_EncodeBlock(b64, data, (int)len);
	free(data);
	fprintf(p->out, "<svg class=thumb xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"240\" "
	                "height=\"%.0f\"><image width=\"%.0f\" height=\"%.0f\" href=\"data:image/jpeg;base64,%s\"/>",
	        w, h, 240 * h / w, w, h, b64);
	free(b64);
	json_array_foreach(codes, i, c) {
		json_t *pos = json_object_get(c, "position");
		double cx = 0, cy = 0, fs = (w > h ? w : h) / 14;
		fprintf(p->out, "<polygon class=%s points=\"", code_class(c));
		for (k = 0; k < 4; k++) {
			double x = json_number_value(json_array_get(json_array_get(pos, (size_t)k), 0));
			double y = json_number_value(json_array_get(json_array_get(pos, (size_t)k), 1));
			fprintf(p->out, "%s%.0f,%.0f", k ? " " : "", x, y);
			cx += x / 4;
			cy += y / 4;
		}
		fprintf(p->out, "\"/><text x=\"%.0f\" y=\"%.0f\" font-size=\"%.0f\" text-anchor=\"middle\">%zu</text>", cx,
		        cy + fs / 3, fs, i + 1);
	}
	fputs("</svg>", p->out);
	return 1;
}

static void code_list(page *p, json_t *line, int with_labels)
{
	json_t *codes = json_object_get(line, "codes"), *c;
	size_t i, k;

	if (*au_jstr(line, "error")) {
		fputs("<div class=muted>", p->out);
		esc(p->out, au_jstr(line, "error"));
		fputs("</div>", p->out);
	}
	if (!json_array_size(codes))
		return;
	fputs("<ol class=codes>", p->out);
	json_array_foreach(codes, i, c) {
		json_t *drug = json_object_get(c, "drug"), *labels = json_object_get(c, "labels"), *l;
		fputs("<li><span class=code>", p->out);
		esc(p->out, au_jstr(c, "text"));
		fprintf(p->out, "</span> <span class=muted>%s · %s</span>", au_jstr(c, "kind"), au_jstr(c, "symbology"));
		if (json_is_object(drug)) {
			fputs(" <span class=drug>", p->out);
			esc(p->out, au_jstr(drug, "generic_name"));
			fputs(" ", p->out);
			esc(p->out, au_jstr(drug, "spec"));
			fputs("</span>", p->out);
		}
		if (with_labels) {
			fputs("<br>", p->out);
			json_array_foreach(labels, k, l) {
				fprintf(p->out, "<span class=\"chip %s\" title=\"%s\">", sev_class(au_jstr(l, "severity")),
				        au_jstr(l, "id"));
				esc(p->out, au_jstr(l, "text"));
				fputs("</span>", p->out);
			}
		}
		fputs("</li>", p->out);
	}
	fputs("</ol>", p->out);
}

static void problem_rows(page *p, const au *a, size_t *thumbs)
{
	size_t r, i, k;

	fprintf(p->out, "<h2>%s (%zu)</h2>\n", T(p, "Photos that need a look", "需要查看的照片"), a->problem_photos);
	if (!a->problem_photos) {
		fprintf(p->out, "<p class=muted>%s</p>\n", T(p, "None: every photo shows a well-formed trace code.",
		                                             "无：每张照片都有格式正确的追溯码。"));
		return;
	}
	fprintf(p->out, "<table class=photos><tr><th>%s</th><th>%s</th></tr>\n", T(p, "photo", "照片"),
	        T(p, "what was found", "识别结果"));
	for (r = 0; r < NPROBLEMS; r++) {
		for (i = 0; i < a->nphotos; i++) {
			const au_photo *ph = &a->photos[i];
			json_t *line;
			if (rank(ph->flags) != r)
				continue;
			line = read_line(p, ph);
			fprintf(p->out, "<tr class=\"photo problem\" id=\"p%zu\"><td class=thumbcell>", i);
			if (line && *thumbs < MAX_THUMBS)
				*thumbs += (size_t)thumbnail(p, line);
			else
				fprintf(p->out, "<div class=nothumb>%s</div>",
				        T(p, "thumbnail limit reached", "缩略图数量已达上限"));
			fputs("</td><td><div class=file>", p->out);
			esc(p->out, ph->file);
			fputs("</div>", p->out);
			for (k = 0; k < NPROBLEMS; k++)
				if (ph->flags & problems[k].flag)
					fprintf(p->out, "<span class=\"chip %s\">%s</span>", problems[k].cls,
					        T(p, problems[k].en, problems[k].zh));
			if (line)
				code_list(p, line, 1);
			else
				fprintf(p->out, "<div class=muted>%s</div>", T(p, "result unreadable", "结果无法读取"));
			fputs("</td></tr>\n", p->out);
			json_decref(line);
		}
	}
	fputs("</table>\n", p->out);
	if (*thumbs >= MAX_THUMBS)
		fprintf(p->out, "<p class=muted>%s %d</p>\n",
		        T(p, "Thumbnails are shown for the first problem photos only:", "仅显示前若干张问题照片的缩略图："),
		        MAX_THUMBS);
}

static void ok_rows(page *p, const au *a)
{
	size_t i, shown = 0, n = a->nphotos - a->problem_photos;

	fprintf(p->out, "<h2>%s (%zu)</h2>\n", T(p, "Other photos", "其他照片"), n);
	if (!n)
		return;
	fprintf(p->out, "<table class=photos><tr><th>%s</th><th>%s</th></tr>\n", T(p, "photo", "照片"),
	        T(p, "codes", "条码"));
	for (i = 0; i < a->nphotos && shown < MAX_OK_ROWS; i++) {
		json_t *line;
		if (a->photos[i].flags & AU_PROBLEM)
			continue;
		line = read_line(p, &a->photos[i]);
		fprintf(p->out, "<tr class=\"photo ok\" id=\"p%zu\"><td class=file>", i);
		esc(p->out, a->photos[i].file);
		fputs("</td><td>", p->out);
		if (line)
			code_list(p, line, 0);
		fputs("</td></tr>\n", p->out);
		json_decref(line);
		shown++;
	}
	fputs("</table>\n", p->out);
	if (shown < n)
		fprintf(p->out, "<p class=muted>%s %zu.</p>\n",
		        T(p, "The rest are in results.jsonl; rows shown:", "其余见 results.jsonl；此处显示："), shown);
}

/* When, by which drugscan, with which catalog. */
static void stamp(page *p, const au_run *run)
{
	const ds_catalog_info *c = run->catalog;
	const char *date = run->date ? run->date : "";

	fputs("<p class=meta>", p->out);
	fprintf(p->out, "%s %.10s %.8s%s · drugscan %s · ", T(p, "made", "生成于"), date,
	        strlen(date) > 11 ? date + 11 : "", strlen(date) > 19 ? date + 19 : "", au_version());
	if (c) {
		fputs(T(p, "catalog: ", "目录："), p->out);
		esc(p->out, *c->source ? c->source : "?");
		fprintf(p->out, ", %s ", T(p, "version", "版本"));
		esc(p->out, *c->version ? c->version : "?");
		if (*c->imported_at) {
			fprintf(p->out, " (%s ", T(p, "imported", "导入于"));
			esc(p->out, c->imported_at);
			fputs(")", p->out);
		}
	} else {
		fputs(run->catalog_error ? T(p, "no catalog", "未使用目录") : T(p, "catalog not known", "目录未知"), p->out);
	}
	fputs("</p>", p->out);
}

/* What an incomplete report lacks, each as a paragraph. */
static void what_is_missing(page *p, const au *a, const au_run *run)
{
	json_t *v, *sh;
	size_t i;

	if (!run->missing_shards && !run->shards && run->total_known)
		fprintf(p->out, TF(p, "<p>The audit stopped after %zu of %zu photos: %zu are not in this report.</p>",
		                  "<p>稽核在 %zu / %zu 张照片后停止：%zu 张不在本报告中。</p>"),
		        a->nphotos, run->total, run->total > a->nphotos ? run->total - a->nphotos : 0);
	else if (!run->missing_shards && !run->shards)
		fprintf(p->out, TF(p, "<p>The audit stopped after %zu photos.</p>", "<p>稽核在 %zu 张照片后停止。</p>"),
		        a->nphotos);
	json_array_foreach(run->missing_shards, i, v)
		fprintf(p->out, TF(p, "<p>shard %s missing: its photos are not in this report.</p>",
		                  "<p>分片 %s 缺失：其照片不在本报告中。</p>"),
		        json_string_value(v));
	json_array_foreach(run->shards, i, sh) {
		json_t *total = json_object_get(sh, "images_total");
		if (json_is_true(json_object_get(sh, "complete")))
			continue;
		fprintf(p->out, "<p>%s ", T(p, "shard folder", "分片文件夹"));
		esc(p->out, au_jstr(sh, "dir"));
		if (*au_jstr(sh, "shard"))
			fprintf(p->out, " (%s)", au_jstr(sh, "shard"));
		if (json_is_integer(total))
			fprintf(p->out, TF(p, " stopped after %lld of %lld photos.</p>", " 在 %lld / %lld 张照片后停止。</p>"),
			        (long long)json_integer_value(json_object_get(sh, "images")), (long long)json_integer_value(total));
		else
			fputs(T(p, " did not finish.</p>", " 未完成。</p>"), p->out);
	}
}

/* A red banner on an incomplete report, with the commands that finish it; a
 * yellow one when the codes were judged with the demo catalog or none. */
static void banners(page *p, const au *a, const au_run *run)
{
	json_t *cmd;
	size_t i;

	if (!run->complete) {
		fprintf(p->out, "<div class=\"banner stop\" id=incomplete role=alert><b>%s</b>",
		        T(p, "Incomplete report", "报告不完整"));
		what_is_missing(p, a, run);
		if (json_array_size(run->finish)) {
			fprintf(p->out, "<p>%s</p><pre class=finish>", T(p, "To finish it, run:", "完成稽核请运行："));
			json_array_foreach(run->finish, i, cmd) {
				esc(p->out, json_string_value(cmd));
				fputs("\n", p->out);
			}
			fputs("</pre>", p->out);
		}
		fputs("</div>\n", p->out);
	}
	if (run->catalog && run->catalog->synthetic)
		fprintf(p->out, "<div class=\"banner demo\" id=synthetic role=note><b>%s</b><p>%s</p></div>\n",
		        T(p, "Synthetic demo catalog", "合成演示目录"),
		        T(p, "The codes were judged with the demo catalog: apart from generic names, its drug codes, classes, "
		             "policies and recalls are made up. Do not rely on this report; import the national list "
		             "(drugscan catalog import) and run the audit again.",
		          "本报告使用合成演示目录判定：除通用名外，药品代码、甲乙类、政策和召回均为虚构，不可作为稽核依据；"
		          "请导入国家目录（drugscan catalog import）后重新稽核。"));
	if (!run->catalog && run->catalog_error) {
		fprintf(p->out, "<div class=\"banner demo\" id=nocatalog role=note><b>%s</b><p>",
		        T(p, "No catalog", "未使用目录"));
		fputs(T(p, "The codes were judged without the catalog: no drug names, labels or recalls. ",
		        "追溯码未经目录判定：没有药品名称、标签或召回信息。"), p->out);
		esc(p->out, run->catalog_error ? run->catalog_error : "");
		fputs("</p></div>\n", p->out);
	}
}

int au_write_html(const au *a, const au_run *run, FILE *results, const char *dir, ds_lang lang, FILE *out)
{
	page p;
	size_t thumbs = 0;

	memset(&p, 0, sizeof(p));
	p.out = out;
	p.lang = lang;
	p.results = results;
	p.dir = dir;
	fprintf(out, "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
	             "<meta name=viewport content=\"width=device-width,initial-scale=1\"><title>",
	        lang == DS_LANG_ZH ? "zh-CN" : "en");
	fprintf(out, "drugscan %s: %zu %s%s", T(&p, "audit", "稽核"), a->nphotos, T(&p, "photos", "张照片"),
	        run->complete ? "" : T(&p, " (incomplete)", "（不完整）"));
	fprintf(out, "</title><style>%s</style></head><body>\n<header><h1>%s</h1><p>", style,
	        T(&p, "Drug trace-code audit", "药品追溯码稽核报告"));
	esc(out, run->title ? run->title : "");
	if (run->shard[0])
		fprintf(out, " · %s %s", T(&p, "shard", "分片"), run->shard);
	fputs("</p>", out);
	stamp(&p, run);
	fputs("</header>\n", out);
	banners(&p, a, run);
	fputs("<main>\n", out);
	summary(&p, a, run);
	duplicates(&p, a);
	problem_rows(&p, a, &thumbs);
	ok_rows(&p, a);
	fputs("<p class=note>", out);
	esc(out, ds_note_text(lang));
	fputs("</p>\n</main></body></html>\n", out);
	ds_buf_free(&p.tmp);
	return ferror(out) ? DS_EIO : DS_OK;
}

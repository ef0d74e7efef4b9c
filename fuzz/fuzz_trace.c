/*
 * fuzz_trace.c - libFuzzer harness for the trace parser.
 *
 * The first byte may pick a decoder hint (code128, gs1-datamatrix, qr, ean13;
 * then the payload is parsed exactly, as from a decoder), the rest is the payload. Invariants checked, not only "no crash":
 * - the input buffer is not modified;
 * - every issue points inside the input; valid means no error issue;
 * - the normalised text is never longer than the input;
 * - a valid GS1 string survives parse -> format -> parse with the same
 *   elements, both as an element string and in bracketed form.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                  \
	do {                                                                             \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_trace: invariant failed: %s (%s:%d)\n", #cond,     \
			        __FILE__, __LINE__);                                             \
			abort();                                                                 \
		}                                                                            \
	} while (0)

static void same_elements(const ds_code *a, const ds_code *b)
{
	size_t i;

	CHECK(a->nelements == b->nelements);
	for (i = 0; i < a->nelements; i++) {
		CHECK(!strcmp(a->elements[i].ai, b->elements[i].ai));
		CHECK(!strcmp(a->elements[i].value, b->elements[i].value));
	}
}

static void roundtrip(const ds_code *code, const ds_trace_opts *opts, int bracketed)
{
	ds_buf b = DS_BUF_INIT;
	ds_code again;

	ds_code_init(&again);
	CHECK(ds_gs1_format(&b, code, bracketed) == DS_OK);
	CHECK(ds_trace_parse(&again, b.ptr, b.len, bracketed ? NULL : "gs1-128", NULL, opts) == DS_OK);
	CHECK(again.kind == DS_KIND_GS1);
	CHECK(again.valid);
	same_elements(code, &again);
	ds_code_free(&again);
	ds_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *hints[] = {NULL, "code128", "gs1-datamatrix", "qr", "ean13"};
	ds_trace_opts opts = {20260601, 90, 0};
	const uint8_t *payload = data;
	size_t len = size, i;
	const char *hint = NULL;
	uint8_t *copy;
	ds_code code;
	ds_label labels[16];
	char msg[256];

	if (size > 0 && data[0] < 5 * 8 && data[0] % 8 == 7) {
		hint = hints[data[0] / 8];
		opts.exact = hint != NULL; /* as a decoder would hand it over */
		payload++;
		len--;
	}
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);

	ds_code_init(&code);
	CHECK(ds_trace_parse(&code, payload, len, hint, NULL, &opts) == DS_OK);
	CHECK(memcmp(copy, data, size) == 0);
	CHECK(code.text_len <= len);
	CHECK(strlen(code.text) <= code.text_len);
	for (i = 0; i < code.nissues; i++) {
		CHECK(code.issues[i].pos <= len);
		CHECK(code.issues[i].pos + code.issues[i].len <= len);
		CHECK(code.issues[i].severity != DS_SEV_ERROR || !code.valid);
		CHECK(ds_issue_message(&code.issues[i], DS_LANG_ZH, msg, sizeof(msg)) == msg);
		CHECK(ds_issue_message(&code.issues[i], DS_LANG_EN, msg, sizeof(msg)) == msg);
	}
	CHECK(ds_trace_labels(labels, 16, &code, &opts, DS_LANG_ZH) <= 16);
	for (i = 0; i < code.nfields; i++)
		CHECK(code.fields[i].name && code.fields[i].value);
	if (code.kind == DS_KIND_GS1 && code.valid) {
		roundtrip(&code, &opts, 0);
		roundtrip(&code, &opts, 1);
	}
	ds_code_free(&code);
	free(copy);
	return 0;
}

/*
 * zxing.cpp - one zxing-cpp read of a greyscale plane, behind the C
 * interface of zxing.h. This is the scanner's only C++; it catches every
 * exception, so none crosses into C.
 *
 * zxing-cpp 1.4 (Debian's libzxing-dev) returns a result's content as raw
 * bytes (bytes()) and, where the symbol declares its character set with an
 * ECI, as text converted to UTF-8 (text()). The payload handed on is:
 *  - with an ECI that names a character set: that UTF-8 text;
 *  - with an ECI that names none (binary data): the bytes unchanged;
 *  - without an ECI: the bytes when they are valid UTF-8 (ASCII, as every
 *    trace code is), otherwise the bytes read as ISO-8859-1, the default
 *    character set of DataMatrix and Code 128, converted to UTF-8. A QR
 *    code's bytes are handed on as well (raw, and eci 0): the caller picks
 *    their character set by the rule ZBar's reads get (charset.c).
 */
#define ZX_USE_UTF8 1
#include <ReadBarcode.h>

#include <new>
#include <string>

#include "zxing.h"

namespace {

ZXing::BarcodeFormats formats_of(int f)
{
	ZXing::BarcodeFormats out;

	if (f & ZX_DATAMATRIX)
		out |= ZXing::BarcodeFormat::DataMatrix;
	if (f & ZX_QR)
		out |= ZXing::BarcodeFormat::QRCode;
	if (f & ZX_CODE128)
		out |= ZXing::BarcodeFormat::Code128;
	if (f & ZX_EAN13)
		out |= ZXing::BarcodeFormat::EAN13;
	if (f & ZX_DATABAR)
		out |= ZXing::BarcodeFormat::DataBar | ZXing::BarcodeFormat::DataBarExpanded;
	return out;
}

int flag_of(ZXing::BarcodeFormat f)
{
	switch (f) {
	case ZXing::BarcodeFormat::DataMatrix: return ZX_DATAMATRIX;
	case ZXing::BarcodeFormat::QRCode: return ZX_QR;
	case ZXing::BarcodeFormat::Code128: return ZX_CODE128;
	case ZXing::BarcodeFormat::EAN13: return ZX_EAN13;
	case ZXing::BarcodeFormat::DataBar:
	case ZXing::BarcodeFormat::DataBarExpanded: return ZX_DATABAR;
	default: return 0;
	}
}

/* drugscan's symbology name (scanner.h), from the format and the AIM modifier */
const char *name_of(ZXing::BarcodeFormat f, char modifier)
{
	switch (f) {
	case ZXing::BarcodeFormat::DataMatrix: return modifier == '2' || modifier == '5' ? "gs1-datamatrix" : "datamatrix";
	case ZXing::BarcodeFormat::QRCode: return modifier == '3' || modifier == '4' ? "gs1-qr" : "qr";
	case ZXing::BarcodeFormat::Code128: return modifier == '1' ? "gs1-128" : "code128";
	case ZXing::BarcodeFormat::EAN13: return "ean13";
	case ZXing::BarcodeFormat::EAN8: return "ean8";
	case ZXing::BarcodeFormat::UPCA: return "upca";
	case ZXing::BarcodeFormat::UPCE: return "upce";
	case ZXing::BarcodeFormat::DataBar: return "databar";
	case ZXing::BarcodeFormat::DataBarExpanded: return "databar-exp";
	default: return "other";
	}
}

bool valid_utf8(const ZXing::ByteArray &b)
{
	size_t i = 0, n = b.size();

	while (i < n) {
		unsigned c = b[i];
		size_t more = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 9;
		if (more == 9 || (more == 1 && c < 0xC2) || (c >= 0xF5) || i + more >= n)
			return false;
		for (size_t k = 1; k <= more; k++)
			if ((b[i + k] & 0xC0) != 0x80)
				return false;
		i += more + 1;
	}
	return true;
}

std::string latin1_to_utf8(const ZXing::ByteArray &b)
{
	std::string s;

	for (uint8_t c : b) {
		if (c < 0x80) {
			s += static_cast<char>(c);
		} else {
			s += static_cast<char>(0xC0 | (c >> 6));
			s += static_cast<char>(0x80 | (c & 0x3F));
		}
	}
	return s;
}

int hand_over(const ZXing::Result &r, zx_sink sink, void *ctx)
{
	zx_read out = {};
	std::string text;
	std::string aim = r.symbologyIdentifier();
	const ZXing::Position &p = r.position();

	out.format = flag_of(r.format());
	if (!out.format || aim.size() != 3)
		return 0;
	out.eci = r.hasECI() ? 1 : 0;
	if (r.hasECI())
		text = r.text();
	else if (!valid_utf8(r.bytes()))
		text = latin1_to_utf8(r.bytes());
	if (!text.empty()) {
		out.data = reinterpret_cast<const uint8_t *>(text.data());
		out.len = text.size();
	} else {
		out.data = r.bytes().data();
		out.len = r.bytes().size();
	}
	out.raw = r.bytes().data();
	out.raw_len = r.bytes().size();
	aim.copy(out.aim, 3);
	out.symbology = name_of(r.format(), aim[2]);
	out.aim[3] = '\0';
	out.lines = r.lineCount() > 0 ? r.lineCount() : 1;
	for (int k = 0; k < 4; k++) {
		out.pos[k][0] = p[k].x;
		out.pos[k][1] = p[k].y;
	}
	return sink(ctx, &out);
}

} // namespace

extern "C" int zx_scan(const uint8_t *px, int w, int h, int stride, int formats, int flags, zx_sink sink, void *ctx)
{
	int n = 0;

	if (!px || w < 1 || h < 1)
		return 0;
	try {
		ZXing::ImageView view(px, w, h, ZXing::ImageFormat::Lum, stride);
		ZXing::DecodeHints hints;
		hints.setFormats(formats_of(formats));
		hints.setTryHarder((flags & ZX_TRY_HARDER) != 0);
		hints.setTryRotate((flags & ZX_TRY_ROTATE) != 0);
		hints.setTryDownscale((flags & ZX_DOWNSCALE) != 0);
		hints.setIsPure((flags & ZX_PURE) != 0);
		for (const ZXing::Result &r : ZXing::ReadBarcodes(view, hints)) {
			int rc;
			if (!r.isValid())
				continue;
			rc = hand_over(r, sink, ctx);
			if (rc < 0)
				return rc;
			n++;
		}
	} catch (const std::bad_alloc &) {
		return -2;
	} catch (...) {
		return -1;
	}
	return n;
}

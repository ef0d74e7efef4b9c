#!/usr/bin/env python3
"""CLI tests for `drugscan scan`: real photos from fixtures/scan decoded by the real libraries.

usage: test_scan.py path/to/drugscan path/to/fixtures
$DRUGSCAN_WRAPPER, when set, prefixes every run (e.g. valgrind).
"""
import csv
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

BIN = None
FIX = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
HOME = tempfile.mkdtemp(prefix="drugscan-scan-")
ENV = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=HOME,
           DRUGSCAN_CATALOG_SEED="demo")  # the synthetic demo catalog, never the real list


def run(args, stdin=b"", cwd=None):
    p = subprocess.run(WRAP + [BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=ENV, timeout=600, cwd=cwd)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def jsonl(out):
    return [json.loads(line) for line in out.splitlines()]


def expected(path):
    with open(os.path.splitext(path)[0] + ".expect", "rb") as f:
        return [l.decode("utf-8") for l in f.read().split(b"\n") if l]


def scan_images():
    d = os.path.join(FIX, "scan")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jpg"))


class CloseUpDataMatrix(unittest.TestCase):
    """fixtures/datamatrix: curved, tilted and glossy GS1 DataMatrix close-ups (regrid.c)."""

    def test_uneven_grids_read_exactly(self):
        d = os.path.join(FIX, "datamatrix")
        images = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jpg"))
        self.assertGreaterEqual(len(images), 2)
        rc, out, err = run(["scan", "--format", "jsonl", "--jobs", "2"] + images)
        self.assertEqual(rc, 0, err)
        for img, o in zip(images, jsonl(out)):
            self.assertEqual(o["file"], img)
            self.assertEqual([(c["text"], c["symbology"]) for c in o["codes"]],
                             [(expected(img)[0], "gs1-datamatrix")], img)


class ScanFixtures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.images = scan_images()
        rc, out, err = run(["scan", "--format", "jsonl", "--jobs", "2"] + cls.images)
        cls.rc, cls.objs, cls.err = rc, jsonl(out), err

    def test_every_class_reads_its_exact_payload(self):
        self.assertEqual(len(self.objs), len(self.images))
        for img, o in zip(self.images, self.objs):
            self.assertEqual(o["file"], img)
            self.assertEqual(o["format_version"], 1)
            exp = expected(img)
            texts = [c["text"] for c in o["codes"]]
            if not exp:
                self.assertEqual(o["status"], "no_code", img)
                self.assertEqual(o["codes"], [], img)
                continue
            self.assertEqual(o["status"], "decoded", img)
            self.assertIn(exp[0], texts, img)
            for t in texts:  # nothing read that is not in the picture
                self.assertIn(t, exp, img)

    def test_codes_carry_trace_fields_and_position(self):
        for o in self.objs:
            for c in o["codes"]:
                for key in ("text", "symbology", "aim", "kind", "valid", "issues", "fields", "labels", "position"):
                    self.assertIn(key, c)
                self.assertEqual(len(c["position"]), 4)
                for x, y in c["position"]:
                    self.assertTrue(-5 <= x <= 1030 and -5 <= y <= 775, (o["file"], c["position"]))
                if c["text"].startswith("810") and len(c["text"]) == 20:
                    self.assertEqual(c["kind"], "nmpa20")
                    self.assertEqual(c["symbology"], "code128")
                    self.assertEqual(c["aim"], "]C0")
                    self.assertEqual(c["fields"]["product_code"], c["text"][:7])
                if c["symbology"] == "ean13":
                    self.assertEqual(c["kind"], "product-barcode")
                    self.assertEqual(c["labels"][0]["id"], "code.product_barcode")

    def test_gs1_datamatrix_has_aim_and_fields(self):
        dm = [c for o in self.objs for c in o["codes"] if c["symbology"] == "gs1-datamatrix"]
        self.assertGreaterEqual(len(dm), 2)
        for c in dm:
            self.assertEqual(c["aim"], "]d2")
            self.assertEqual(c["kind"], "gs1")
            self.assertIn("\x1d21", c["text"])
            self.assertTrue(c["valid"])
            self.assertEqual(len(c["fields"]["gtin"]), 14)

    def test_exit_codes(self):
        # rot0's trace code belongs to a drug with every batch recalled (demo catalog): an alert
        self.assertEqual(self.rc, 3)
        nocode = [p for p in self.images if "nocode" in p]
        rc, out, _ = run(["scan", "-f", "jsonl"] + nocode)
        self.assertEqual(rc, 4)
        rc, out, _ = run(["scan", "-f", "jsonl"] + [p for p in self.images if "jpeg50" in p])
        self.assertEqual(rc, 0)
        rc, out, _ = run(["scan", "-f", "jsonl"] + [p for p in self.images if "rot0" in p])
        self.assertEqual(rc, 3)
        labels = [l for c in jsonl(out)[0]["codes"] for l in c["labels"]]
        self.assertIn(("recall.batch", "alert"), [(l["id"], l["severity"]) for l in labels])

    def test_catalog_labels_on_photos(self):
        by_file = {os.path.basename(o["file"]): o for o in self.objs}
        c = [c for c in by_file["rot90-gs1dm.jpg"]["codes"] if c["kind"] == "gs1"][0]
        self.assertEqual(c["drug"]["matched_by"], "gtin")
        ids = [l["id"] for l in c["labels"]]
        self.assertIn("nrdl.new_2025", ids)
        self.assertIn("policy.outpatient_inpatient_level", ids)
        c = [c for c in by_file["rot270-code128.jpg"]["codes"] if c["kind"] == "nmpa20"][0]
        self.assertEqual([l["id"] for l in c["labels"]], ["nrdl.not_covered"])

    def test_output_order_is_input_order_with_any_jobs(self):
        imgs = self.images * 2
        outs = []
        for jobs in ("1", "2", "3"):
            rc, out, _ = run(["scan", "-f", "jsonl", "-j", jobs] + imgs)
            outs.append([(o["file"], [c["text"] for c in o["codes"]]) for o in jsonl(out)])
        self.assertEqual([f for f, _ in outs[0]], imgs)
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(outs[0], outs[2])


class Envelope(unittest.TestCase):
    """ISO/IEC 15434 envelopes (DataMatrix Macro 05/06): the data inside, never an empty code."""

    def test_envelope_is_unwrapped_and_never_an_empty_code(self):
        d = os.path.join(FIX, "envelope")
        names = ("macro05.png", "macro05-photo.jpg", "macro06.png", "macro05-empty.png")
        rc, out, err = run(["scan", "--format", "jsonl", "--jobs", "2"] + [os.path.join(d, n) for n in names])
        self.assertEqual(err, "")
        m05, photo, m06, empty = jsonl(out)
        for o in (m05, photo):
            self.assertEqual(o["status"], "decoded")
            self.assertEqual(len(o["codes"]), 1)
            c = o["codes"][0]
            self.assertEqual(c["text"], "01069012345678921727123110B2407\x1d21A1B2C3D4E5")
            self.assertEqual((c["symbology"], c["aim"], c["kind"], c["valid"]), ("gs1-datamatrix", "]d2", "gs1", True))
            self.assertEqual(c["fields"]["serial"], "A1B2C3D4E5")
        self.assertEqual([(c["text"], c["aim"]) for c in m06["codes"]], [("1P12345-A\x1dS9876543", "]d1")])
        self.assertEqual((empty["status"], empty["codes"]), ("no_code", []))
        self.assertEqual(rc, 4)


class ScanInputs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_directory_walk_is_recursive_and_sorted(self):
        src = scan_images()
        os.makedirs(os.path.join(self.tmp, "b", "sub"))
        os.makedirs(os.path.join(self.tmp, "a"))
        shutil.copy(src[0], os.path.join(self.tmp, "b", "sub", "z.jpg"))
        shutil.copy(src[1], os.path.join(self.tmp, "a", "y.JPG"))
        shutil.copy(src[2], os.path.join(self.tmp, "b", "x.jpeg"))
        with open(os.path.join(self.tmp, "b", "notes.txt"), "w") as f:
            f.write("not an image")
        open(os.path.join(self.tmp, ".hidden.jpg"), "w").close()
        rc, out, err = run(["scan", "-f", "jsonl", self.tmp])
        files = [os.path.relpath(o["file"], self.tmp) for o in jsonl(out)]
        self.assertEqual(files, ["a/y.JPG", "b/sub/z.jpg", "b/x.jpeg"])

    def test_corrupt_and_truncated_files_are_clean_errors(self):
        good = [p for p in scan_images() if "rot0" in p][0]
        with open(good, "rb") as f:
            data = f.read()
        trunc = os.path.join(self.tmp, "truncated.jpg")
        with open(trunc, "wb") as f:
            f.write(data[: len(data) // 2])
        junk = os.path.join(self.tmp, "junk.png")
        with open(junk, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
        text = os.path.join(self.tmp, "readme.jpg")
        with open(text, "w") as f:
            f.write("hello")
        empty = os.path.join(self.tmp, "empty.png")
        open(empty, "wb").close()
        missing = os.path.join(self.tmp, "missing.jpg")
        rc, out, err = run(["scan", "-f", "jsonl", trunc, junk, text, empty, missing, good])
        self.assertEqual(rc, 1)
        objs = jsonl(out)
        self.assertEqual([o["status"] for o in objs], ["error"] * 5 + ["decoded"])
        self.assertIn("truncated JPEG", objs[0]["error"])
        self.assertIn("corrupt PNG", objs[1]["error"])
        self.assertIn("not a PNG, JPEG, WebP or PNM image", objs[2]["error"])
        self.assertIn("empty file", objs[3]["error"])
        self.assertIn("cannot open", objs[4]["error"])
        for o in objs[:5]:
            self.assertNotIn("\n", o["error"])
            self.assertEqual(o["codes"], [])

    def test_cut_jpeg_with_end_marker_is_an_error_not_no_code(self):
        # a photo cut in half and given its end marker back decodes to a grey lower half:
        # that is a damaged file, not a photo without a code
        good = [p for p in scan_images() if "rot0" in p][0]
        with open(good, "rb") as f:
            data = f.read()
        cut = os.path.join(self.tmp, "cut.jpg")
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 2] + b"\xff\xd9")
        stray = os.path.join(self.tmp, "stray.jpg")  # stray bytes before EOI lose no pixel
        with open(stray, "wb") as f:
            f.write(data[:-2] + b"\0\0\0" + data[-2:])
        rc, out, err = run(["scan", "-f", "jsonl", cut, stray])
        self.assertEqual(rc, 1, err)
        objs = jsonl(out)
        self.assertEqual([o["status"] for o in objs], ["error", "decoded"])
        self.assertEqual(objs[0]["error"],
                         "'%s': corrupt or truncated image: JPEG data damaged (premature end of data segment)" % cut)
        self.assertEqual(objs[0]["codes"], [])
        self.assertIn("81000464033958964338", [c["text"] for c in objs[1]["codes"]])

    def test_decompression_bomb_is_refused(self):
        bomb = os.path.join(self.tmp, "huge.pgm")
        with open(bomb, "wb") as f:
            f.write(b"P5 20000 20000 255\n" + b"\x00" * 1000)
        rc, out, err = run(["scan", "-f", "jsonl", bomb])
        self.assertEqual(rc, 1)
        o = jsonl(out)[0]
        self.assertEqual(o["status"], "error")
        self.assertIn("20000x20000 (400 MP), over the 100 MP limit", o["error"])
        rc, out, _ = run(["scan", "-f", "jsonl", "--max-pixels", "1000", scan_images()[0]])
        self.assertIn("over the 1000-pixel limit", jsonl(out)[0]["error"])

    def test_text_and_csv(self):
        img = [p for p in scan_images() if "jpeg50" in p][0]
        rc, out, _ = run(["scan", img])
        self.assertEqual(rc, 0)
        self.assertIn("== " + img, out)
        self.assertIn("20-digit drug trace code", out)
        self.assertIn("a local check, not the national", out)
        nocode = [p for p in scan_images() if "nocode" in p][0]
        rc, out, _ = run(["scan", nocode, os.path.join(self.tmp, "missing.jpg")])
        self.assertEqual(rc, 1)
        self.assertNotIn("a local check", out)  # the note is about codes; with none, no note
        rc, out, _ = run(["scan", "-f", "csv", img])
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual({r["kind"] for r in rows}, {"nmpa20", "product-barcode"})
        self.assertEqual({r["file"] for r in rows}, {img})
        self.assertTrue([r for r in rows if r["kind"] == "nmpa20"][0]["nhsa_code"].startswith("XDEMO"))
        nocode = [p for p in scan_images() if "nocode" in p][0]
        rc, out, _ = run(["scan", "-f", "csv", nocode])
        table = list(csv.reader(io.StringIO(out)))
        self.assertEqual(len(table[1]), len(table[0]))  # a photo without a code still fills every column
        self.assertEqual(table[1][1], "no_code")

    def test_usage(self):
        rc, out, err = run(["scan"])
        self.assertEqual(rc, 2)
        self.assertIn("no image given", err)
        rc, out, err = run(["scan", "--jobs", "0", "x.jpg"])
        self.assertEqual(rc, 2)
        rc, out, err = run(["scan", "--effort", "extreme", "x.jpg"])
        self.assertEqual(rc, 2)
        for args, word in ((["--jobs", "2x"], "--jobs"), (["--max-pixels", "0"], "--max-pixels"),
                           (["--frames", "x", "--window", "nan"], "--window"),
                           (["--frames", "x", "--window", "1e999"], "--window"),
                           (["--frames", "x", "--fps", "5x"], "--fps"), (["--frames", "x", "--fps", "0"], "--fps")):
            rc, out, err = run(["scan"] + args + ([] if "--frames" in args else ["x.jpg"]))
            self.assertEqual(rc, 2, args)
            self.assertIn(word, err)
        rc, out, _ = run(["scan", "--help"])
        self.assertEqual(rc, 0)
        for opt in ("--jobs", "--effort", "--camera", "--frames", "--window", "--quiet", "--max-pixels"):
            self.assertIn(opt, out)


class NoCatalog(unittest.TestCase):
    """An unreadable catalog.db: scan and audit say the catalog is not used, judge the
    codes on their trace labels only, and create nothing outside the data directory."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.home = os.path.join(self.tmp, "data")
        os.makedirs(self.home)
        with open(os.path.join(self.home, "catalog.db"), "wb") as f:
            f.write(b"this is not an SQLite database\n" * 100)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_here(self, args):
        env = dict(ENV, DRUGSCAN_HOME=self.home)
        p = subprocess.run(WRAP + [BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=600, cwd=self.tmp)
        return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")

    def test_scan_and_audit_without_a_usable_catalog(self):
        if os.path.exists("/nonexistent"):
            self.skipTest("/nonexistent exists on this machine")
        img = [p for p in scan_images() if "rot0" in p][0]
        shutil.copy(img, os.path.join(self.tmp, "box.jpg"))
        before = sorted(os.listdir(self.home))
        rc, out, err = self.run_here(["scan", "-f", "jsonl", "--jobs", "2", "box.jpg"])
        self.assertEqual(rc, 1, err)
        self.assertIn("codes are decoded without the catalog", err)
        codes = jsonl(out)[0]["codes"]
        self.assertTrue(codes)
        for c in codes:
            self.assertIsNone(c["drug"])
            self.assertFalse([l for l in c["labels"] if l["id"].split(".")[0] in ("catalog", "nrdl", "policy")])
        rc, out, err = self.run_here(["audit", "--jobs", "2", "--out", "report", "box.jpg"])
        self.assertIn("without the catalog", err)
        with open(os.path.join(self.tmp, "report", "results.jsonl")) as f:
            self.assertIsNone(json.loads(f.readline())["codes"][0]["drug"])
        self.assertFalse(os.path.exists("/nonexistent"))
        self.assertEqual(sorted(os.listdir(self.home)), before)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["box.jpg", "data", "report"])


class LiveFrames(unittest.TestCase):
    """The camera loop, replayed from recorded frames."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        with open(os.path.join(FIX, "frames", "box-code128.pgm"), "rb") as f:
            data = f.read()
        # P5 header: magic, width, height, maxval, then pixels
        parts = data.split(b"\n", 3)
        w, h = (int(v) for v in parts[1].split())
        self.w, self.h, self.box = w, h, parts[3][: w * h]
        self.blank = bytes([200]) * (w * h)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def y4m(self, frames, fps=10):
        path = os.path.join(self.tmp, "rec.y4m")
        chroma = bytes([128]) * (2 * ((self.w + 1) // 2) * ((self.h + 1) // 2))
        with open(path, "wb") as f:
            f.write(b"YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n" % (self.w, self.h, fps))
            for fr in frames:
                f.write(b"FRAME\n" + fr + chroma)
        return path

    def test_box_held_in_view_is_reported_once(self):
        path = self.y4m([self.box] * 30)  # 3 s in view
        rc, out, err = run(["scan", "--frames", path, "-f", "jsonl"])
        objs = jsonl(out)
        self.assertEqual(rc, 3)  # the demo catalog has every batch of this drug recalled: an alert
        self.assertEqual(len(objs), 1)
        self.assertEqual(objs[0]["text"], "81000464033958964338")
        self.assertIn("recall.batch", [l["id"] for l in objs[0]["labels"]])
        self.assertEqual(objs[0]["frame"], 0)
        self.assertIn("\a", err)  # the bell
        self.assertIn("30 frames, 1 code reported", err)  # not "1 codes"

    def test_box_shown_again_after_the_window_is_reported_again(self):
        frames = [self.box] * 10 + [self.blank] * 25 + [self.box] * 10  # away 2.5 s
        rc, out, err = run(["scan", "--frames", self.y4m(frames), "-f", "jsonl", "--quiet"])
        objs = jsonl(out)
        self.assertEqual([o["frame"] for o in objs], [0, 35])
        self.assertNotIn("\a", err)

    def test_short_absence_is_not_a_new_scan(self):
        frames = [self.box] * 10 + [self.blank] * 10 + [self.box] * 10  # away 1 s < 2 s
        rc, out, _ = run(["scan", "--frames", self.y4m(frames), "-f", "jsonl", "-q"])
        self.assertEqual(len(jsonl(out)), 1)
        rc, out, _ = run(["scan", "--frames", self.y4m(frames), "-f", "jsonl", "-q", "--window", "0.5"])
        self.assertEqual(len(jsonl(out)), 2)

    def test_folder_of_frames(self):
        d = os.path.join(self.tmp, "frames")
        os.makedirs(d)
        for i in range(6):
            with open(os.path.join(d, "f%03d.pgm" % i), "wb") as f:
                f.write(b"P5 %d %d 255\n" % (self.w, self.h) + (self.box if i % 3 == 0 else self.blank))
        rc, out, _ = run(["scan", "--frames", d, "--fps", "1", "-f", "jsonl", "-q"])
        self.assertEqual([o["frame"] for o in jsonl(out)], [0, 3])

    def test_no_camera_is_a_clean_error(self):
        rc, out, err = run(["scan", "--camera", "/dev/video-none"])
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("no camera at '/dev/video-none'", err)
        self.assertEqual(len(err.strip().splitlines()), 1)

    def test_bad_recording(self):
        bad = os.path.join(self.tmp, "bad.y4m")
        with open(bad, "wb") as f:
            f.write(b"GIF89a")
        rc, out, err = run(["scan", "--frames", bad])
        self.assertEqual(rc, 1)
        self.assertIn("not a YUV4MPEG2", err)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FIX = os.path.abspath(sys.argv.pop(1))
    try:
        unittest.main(verbosity=1)
    finally:
        shutil.rmtree(HOME, ignore_errors=True)

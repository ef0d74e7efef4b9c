#!/usr/bin/env python3
"""CLI tests for `drugscan audit` and `drugscan audit merge`.

A small photo tree is built from fixtures/scan in a temporary folder (copies,
a byte-identical copy, the same box in a different file, a corrupt file, a
photo without a code) and audited with the real decoders and the demo catalog.

usage: test_audit.py path/to/drugscan path/to/fixtures [--regen]
--regen rewrites tests/cli/audit_expected/ from this run (review the diff).
$DRUGSCAN_WRAPPER, when set, prefixes every run (e.g. valgrind).
"""
import base64
import csv
import io
import json
import os
import pty
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BIN = None
FIX = None
REGEN = False
HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = os.path.join(HERE, "audit_expected")
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
HOME = tempfile.mkdtemp(prefix="drugscan-audit-home-")
ENV = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=HOME)
MTIME = 1767225600  # 2026-01-01T00:00:00Z: every fixture photo gets it, so results.jsonl is exact


def run(args, cwd=None, timeout=900):
    p = subprocess.run(WRAP + [BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                       timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def scan_photo(name):
    return os.path.join(FIX, "scan", name)


def with_comment(src, dst, text):
    """The same picture in a different file: a JPEG comment after SOI changes the bytes, not the pixels."""
    with open(src, "rb") as f:
        data = f.read()
    assert data[:2] == b"\xff\xd8"
    body = text.encode()
    com = b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body
    with open(dst, "wb") as f:
        f.write(data[:2] + com + data[2:])


def build_tree(root):
    """photos/ with 7 files; returns the relative paths in walk order."""
    os.makedirs(os.path.join(root, "photos", "shop-a"))
    os.makedirs(os.path.join(root, "photos", "shop-b", "shelf 2"))
    os.makedirs(os.path.join(root, "photos", "shop-c"))
    shutil.copy(scan_photo("rot0-code128.jpg"), os.path.join(root, "photos", "shop-a", "box1.jpg"))
    shutil.copy(scan_photo("nocode-0.jpg"), os.path.join(root, "photos", "shop-a", "wall.jpg"))
    shutil.copy(scan_photo("jpeg50-code128.jpg"), os.path.join(root, "photos", "shop-b", "box2.jpg"))
    # the same box (same 20-digit code) photographed again, in another shop: a duplicate
    with_comment(scan_photo("rot0-code128.jpg"), os.path.join(root, "photos", "shop-c", "box9.jpg"), "shop c")
    # the very same file copied into another folder: not a duplicate
    shutil.copy(scan_photo("rot0-code128.jpg"), os.path.join(root, "photos", "shop-b", "shelf 2", "box1-copy.jpg"))
    shutil.copy(scan_photo("rot180-qr-ma.jpg"), os.path.join(root, "photos", "shop-b", "shelf 2", "qr.jpg"))
    with open(os.path.join(root, "photos", "shop-c", "broken.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    with open(os.path.join(root, "photos", "shop-c", "notes.txt"), "w") as f:
        f.write("not an image: not audited\n")
    for dirpath, _, files in os.walk(os.path.join(root, "photos")):
        for f in files:
            os.utime(os.path.join(dirpath, f), (MTIME, MTIME))


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f]


def normal_results(path):
    out = []
    for o in lines(path):
        o["elapsed_ms"] = 0
        out.append(o)
    return out


def normal_summary(path):
    with open(path, encoding="utf-8") as f:
        s = json.load(f)
    run_ = s.pop("run")
    return s, run_


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def fnv1a(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


class AuditTree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="drugscan-audit-")
        build_tree(cls.tmp)
        cls.rc, cls.out, cls.err = run(["audit", "--jobs", "2", "--out", "report", "photos"], cwd=cls.tmp)
        cls.dir = os.path.join(cls.tmp, "report")
        if REGEN:
            os.makedirs(EXPECTED, exist_ok=True)
            with open(os.path.join(EXPECTED, "results.jsonl"), "w", encoding="utf-8") as f:
                for o in normal_results(os.path.join(cls.dir, "results.jsonl")):
                    f.write(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n")
            shutil.copy(os.path.join(cls.dir, "codes.csv"), os.path.join(EXPECTED, "codes.csv"))
            s, _ = normal_summary(os.path.join(cls.dir, "summary.json"))
            with open(os.path.join(EXPECTED, "summary.json"), "w", encoding="utf-8") as f:
                json.dump(s, f, ensure_ascii=False, indent=2, sort_keys=True)
                f.write("\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_exit_code_and_report_line_without_a_tty(self):
        # Changed on purpose (issue 12, case 20): without a terminal there is still no progress bar,
        # but the run ends with one line naming the report it wrote (stderr was empty before).
        self.assertEqual(self.rc, 3, self.err)  # a duplicate code is an alert
        self.assertEqual(self.out, "")
        self.assertEqual(self.err, "drugscan: report written to report/report.html "
                                   "(7 photos, 6 codes, 1 duplicate, 1 unreadable)\n")

    def test_results_jsonl_exact(self):
        got = normal_results(os.path.join(self.dir, "results.jsonl"))
        want = lines(os.path.join(EXPECTED, "results.jsonl"))
        self.assertEqual([o["file"] for o in got], [o["file"] for o in want])
        for g, w in zip(got, want):
            self.assertEqual(g, w, g["file"])
        self.assertEqual(len(got), 7)  # one line per image, the .txt is not an image

    def test_results_one_line_per_photo_in_walk_order(self):
        got = lines(os.path.join(self.dir, "results.jsonl"))
        self.assertEqual([o["file"] for o in got], [
            "photos/shop-a/box1.jpg", "photos/shop-a/wall.jpg", "photos/shop-b/box2.jpg",
            "photos/shop-b/shelf 2/box1-copy.jpg", "photos/shop-b/shelf 2/qr.jpg",
            "photos/shop-c/box9.jpg", "photos/shop-c/broken.jpg"])
        by = {o["file"]: o for o in got}
        self.assertEqual(by["photos/shop-a/wall.jpg"]["status"], "no_code")
        self.assertEqual(by["photos/shop-c/broken.jpg"]["status"], "error")
        self.assertIn("broken.jpg", by["photos/shop-c/broken.jpg"]["error"])
        self.assertEqual(by["photos/shop-a/box1.jpg"]["sha256"], by["photos/shop-b/shelf 2/box1-copy.jpg"]["sha256"])
        self.assertEqual(by["photos/shop-a/box1.jpg"]["mtime"], "2026-01-01T00:00:00.000000000Z")
        for o in got:
            self.assertEqual(o["format_version"], 1)
            if o["status"] != "error":
                self.assertTrue(os.path.isfile(os.path.join(self.dir, o["thumbnail"])), o["file"])
                self.assertEqual(o["bytes"], os.path.getsize(os.path.join(self.tmp, o["file"])))

    def test_codes_csv_exact(self):
        self.assertEqual(read(os.path.join(self.dir, "codes.csv")), read(os.path.join(EXPECTED, "codes.csv")))
        rows = list(csv.DictReader(io.StringIO(read(os.path.join(self.dir, "codes.csv")))))
        dup = [r for r in rows if r["duplicate"] == "true"]
        self.assertEqual(len(dup), 1)
        self.assertEqual(dup[0]["code"], "81000464033958964338")
        self.assertEqual(dup[0]["photo_files"],
                         "photos/shop-a/box1.jpg; photos/shop-b/shelf 2/box1-copy.jpg; photos/shop-c/box9.jpg")
        self.assertEqual(dup[0]["files"], "2")  # the copy is the same file

    def test_summary_json_exact(self):
        s, run_ = normal_summary(os.path.join(self.dir, "summary.json"))
        with open(os.path.join(EXPECTED, "summary.json"), encoding="utf-8") as f:
            self.assertEqual(s, json.load(f))
        self.assertEqual(s["images"], 7)
        self.assertEqual(s["status"], {"decoded": 5, "no_code": 1, "error": 1})
        self.assertEqual(s["duplicates"][0]["photos"], ["photos/shop-a/box1.jpg", "photos/shop-b/shelf 2/box1-copy.jpg",
                                                        "photos/shop-c/box9.jpg"])
        self.assertEqual(s["identical_files"], [["photos/shop-a/box1.jpg", "photos/shop-b/shelf 2/box1-copy.jpg"]])
        self.assertEqual(run_["scanned"], 7)
        self.assertEqual(run_["resumed"], 0)
        self.assertTrue(run_["complete"])
        self.assertGreater(run_["images_per_s"], 0)

    def test_identical_copy_alone_is_not_a_duplicate(self):
        d = tempfile.mkdtemp(prefix="drugscan-audit-copy-")
        try:
            os.makedirs(os.path.join(d, "p", "x"))
            shutil.copy(scan_photo("rot0-code128.jpg"), os.path.join(d, "p", "a.jpg"))
            shutil.copy(scan_photo("rot0-code128.jpg"), os.path.join(d, "p", "x", "a.jpg"))
            rc, _, err = run(["audit", "-o", "r", "p"], cwd=d)
            s, _ = normal_summary(os.path.join(d, "r", "summary.json"))
            self.assertEqual(s["duplicates"], [])
            self.assertEqual(s["codes"]["duplicate"], 0)
            self.assertEqual(len(s["identical_files"]), 1)
            self.assertEqual(rc, 3, err)  # the demo catalog recalls this drug: an alert, not a duplicate
            self.assertEqual(s["photos"]["duplicate"], 0)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_report_folder_inside_the_photos_is_not_audited(self):
        d = tempfile.mkdtemp(prefix="drugscan-audit-inside-")
        try:
            os.makedirs(os.path.join(d, "p"))
            shutil.copy(scan_photo("jpeg50-code128.jpg"), os.path.join(d, "p", "a.jpg"))
            for extra in ([], ["--resume"]):
                rc, _, err = run(["audit", "-o", "p/report"] + extra + ["p"], cwd=d)
                self.assertEqual(rc, 0, err)
                self.assertEqual([o["file"] for o in lines(os.path.join(d, "p", "report", "results.jsonl"))], ["p/a.jpg"])
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_refuses_to_overwrite_without_resume(self):
        rc, out, err = run(["audit", "--out", "report", "photos"], cwd=self.tmp)
        self.assertEqual(rc, 2)
        self.assertIn("--resume", err)
        self.assertEqual(err.count("\n"), 1)

    def test_usage_errors(self):
        for args, word in ((["audit"], "PATH"), (["audit", "--shard", "4/4", "x"], "--shard"),
                           (["audit", "--shard", "a/b", "x"], "--shard"), (["audit", "--jobs", "0", "x"], "--jobs"),
                           (["audit", "merge", "a"], "--out")):
            rc, _, err = run(args, cwd=self.tmp)
            self.assertEqual(rc, 2, args)
            self.assertIn(word, err)
        rc, out, _ = run(["audit", "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--shard K/N", out)
        rc, _, err = run(["audit", "-o", "r2", "no-such-folder"], cwd=self.tmp)
        self.assertEqual(rc, 1)
        self.assertIn("no-such-folder", err)

    def test_shards_and_merge_equal_one_run(self):
        # pick N so that the duplicate's two photos land in different shards
        h = [fnv1a(r) for r in ("shop-a/box1.jpg", "shop-b/shelf 2/box1-copy.jpg", "shop-c/box9.jpg")]
        n = next(n for n in range(2, 40) if h[2] % n not in (h[0] % n, h[1] % n))
        parts = []
        for k in range(n):
            rc, _, err = run(["audit", "--shard", "%d/%d" % (k, n), "-o", "part%d" % k, "photos"], cwd=self.tmp)
            self.assertIn(rc, (0, 3, 4), err)
            parts.append("part%d" % k)
        files = [set(o["file"] for o in lines(os.path.join(self.tmp, p, "results.jsonl"))) for p in parts]
        self.assertEqual(sum(len(f) for f in files), 7)  # each photo in exactly one shard
        for p in parts:  # no shard alone sees the duplicate
            s, _ = normal_summary(os.path.join(self.tmp, p, "summary.json"))
            self.assertEqual(s["duplicates"], [], p)
        rc, _, err = run(["audit", "merge"] + parts + ["--out", "merged"], cwd=self.tmp)
        self.assertEqual(rc, 3, err)
        m = os.path.join(self.tmp, "merged")
        self.assertEqual(normal_results(os.path.join(m, "results.jsonl")),
                         normal_results(os.path.join(self.dir, "results.jsonl")))
        self.assertEqual(read(os.path.join(m, "codes.csv")), read(os.path.join(self.dir, "codes.csv")))
        self.assertEqual(normal_summary(os.path.join(m, "summary.json"))[0],
                         normal_summary(os.path.join(self.dir, "summary.json"))[0])
        for o in lines(os.path.join(m, "results.jsonl")):
            if o["thumbnail"]:
                self.assertTrue(os.path.isfile(os.path.join(m, o["thumbnail"])))
        # a missing shard is said, not hidden: the merge is incomplete (exit 1) and says how to finish it
        rc, _, err = run(["audit", "merge"] + parts[1:] + ["--out", "merged2"], cwd=self.tmp)
        self.assertEqual(rc, 1, err)
        self.assertIn("shard 0/%d is missing" % n, err)
        finish = ["drugscan audit --shard 0/%d --out shard-0-of-%d photos" % (n, n),
                  "drugscan audit merge %s shard-0-of-%d --out merged2" % (" ".join(parts[1:]), n)]
        self.assertIn("the merged report is incomplete (1 shard missing, 0 interrupted); to finish it, run:\n"
                      + "".join("  %s\n" % c for c in finish), err)
        self.assertTrue(err.endswith("\n") and err.splitlines()[-1].startswith("drugscan: report written to merged2/"))
        _, r = normal_summary(os.path.join(self.tmp, "merged2", "summary.json"))
        self.assertIs(r["complete"], False)
        self.assertEqual(r["missing_shards"], ["0/%d" % n])
        self.assertEqual(r["finish"], finish)
        html = read(os.path.join(self.tmp, "merged2", "report.html"))
        self.assertIn("<p>shard 0/%d missing: its photos are not in this report.</p>" % n, html)
        # the commands, run as printed, make the whole report
        for c in finish:
            rc, _, err = run(shlex.split(c)[1:], cwd=self.tmp)
            self.assertIn(rc, (0, 3, 4), err)
        self.assertEqual(normal_summary(os.path.join(self.tmp, "merged2", "summary.json"))[0],
                         normal_summary(os.path.join(self.dir, "summary.json"))[0])
        _, r = normal_summary(os.path.join(self.tmp, "merged2", "summary.json"))
        self.assertIs(r["complete"], True)
        self.assertNotIn("id=incomplete", read(os.path.join(self.tmp, "merged2", "report.html")))

    def test_report_html_self_contained(self):
        html = read(os.path.join(self.dir, "report.html"))
        self.assertNotRegex(html, r'(src|href)="(https?:)?//')  # nothing fetched
        # 3 duplicate (and recalled in the demo catalog), 1 unmapped MA code, 1 no code, 1 unreadable
        self.assertEqual(html.count('<tr class="photo problem"'), 6)
        self.assertEqual(html.count('<tr class="photo ok"'), 1)
        thumbs = re.findall(r'href="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', html)
        self.assertEqual(len(thumbs), 5)  # the unreadable file has none
        for t in thumbs:
            self.assertEqual(base64.b64decode(t)[:2], b"\xff\xd8")
        self.assertEqual(html.count("<polygon"), 8)  # 4 photos x (trace code + product barcode)
        # duplicates first, then the rest by how bad they are
        order = re.findall(r'<tr class="photo problem" id="p\d+"><td class=thumbcell>.*?<div class=file>([^<]*)<', html)
        self.assertEqual(order, ["photos/shop-a/box1.jpg", "photos/shop-b/shelf 2/box1-copy.jpg", "photos/shop-c/box9.jpg",
                                 "photos/shop-c/broken.jpg", "photos/shop-a/wall.jpg", "photos/shop-b/shelf 2/qr.jpg"])


class HeadlessChromium(unittest.TestCase):
    """report.html opened in a real browser: rows and thumbnails rendered, and a screenshot to look at."""

    @classmethod
    def setUpClass(cls):
        cls.browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        cls.tmp = tempfile.mkdtemp(prefix="drugscan-audit-html-")
        build_tree(cls.tmp)
        run(["audit", "-o", "report", "photos"], cwd=cls.tmp)
        cls.page = "file://" + os.path.join(cls.tmp, "report", "report.html")

    def chromium(self, *args):
        if not self.browser:
            self.fail("chromium is not installed: run scripts/install-deps")
        p = subprocess.run([self.browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--user-data-dir=" + os.path.join(self.tmp, "profile")] + list(args) + [self.page],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return p

    def test_rendered_dom_has_rows_and_thumbnails(self):
        p = self.chromium("--dump-dom")
        dom = p.stdout.decode("utf-8")
        self.assertEqual(dom.count('class="photo problem"'), 6, p.stderr[-500:])
        self.assertEqual(dom.count('class="photo ok"'), 1)
        self.assertEqual(dom.count('<svg class="thumb"'), 5)
        s, _ = normal_summary(os.path.join(self.tmp, "report", "summary.json"))
        self.assertEqual(len(re.findall(r'<tr class="label (alert|warn|info)"', dom)), len(s["label_groups"]))
        self.assertIn("81000464033958964338", dom)

    def test_screenshot(self):
        shot = os.path.join(self.tmp, "report.png")
        p = self.chromium("--window-size=1280,2400", "--screenshot=" + shot)
        self.assertTrue(os.path.isfile(shot), p.stderr[-800:])
        with open(shot, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual((int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")), (1280, 2400))
        keep = os.environ.get("DRUGSCAN_KEEP_SCREENSHOT")
        if keep:
            shutil.copy(shot, keep)
        conv = shutil.which("convert")
        if conv:  # a blank page has no spread of grey levels; the report with photos has
            sd = subprocess.run([conv, shot, "-colorspace", "gray", "-format", "%[fx:standard_deviation]", "info:"],
                                stdout=subprocess.PIPE, timeout=120).stdout.decode()
            self.assertGreater(float(sd), 0.05)


class Resume(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="drugscan-audit-resume-")
        src = [scan_photo(n) for n in ("rot0-code128.jpg", "jpeg50-code128.jpg", "nocode-0.jpg", "rot270-code128.jpg",
                                       "rot180-qr-ma.jpg", "perspective-code128.jpg")]
        for i in range(48):
            d = os.path.join(self.tmp, "photos", "visit%02d" % (i // 8))
            os.makedirs(d, exist_ok=True)
            with_comment(src[i % len(src)], os.path.join(d, "p%03d.jpg" % i), "photo %d" % i)
        for dirpath, _, files in os.walk(os.path.join(self.tmp, "photos")):
            for f in files:
                os.utime(os.path.join(dirpath, f), (MTIME, MTIME))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def full_run(self):
        rc, _, err = run(["audit", "-j", "2", "-o", "full", "photos"], cwd=self.tmp)
        self.assertIn(rc, (3, 4), err)
        return os.path.join(self.tmp, "full")

    def test_sigkill_then_resume_loses_and_doubles_nothing(self):
        full = self.full_run()
        res = os.path.join(self.tmp, "killed", "results.jsonl")
        kills = 0
        for attempt in range(6):
            p = subprocess.Popen(WRAP + [BIN, "audit", "-j", "2", "-o", "killed"] + (["--resume"] if attempt else []) +
                                 ["photos"], cwd=self.tmp, env=ENV, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            start = count_lines(res)
            deadline = time.time() + 300
            while time.time() < deadline and p.poll() is None:
                if count_lines(res) >= start + 6:
                    break
                time.sleep(0.005)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
            if os.path.exists(os.path.join(self.tmp, "killed", "report.html")):
                break
        self.assertGreaterEqual(kills, 2)
        rc, _, err = run(["audit", "-j", "2", "-o", "killed", "--resume", "photos"], cwd=self.tmp)
        self.assertIn(rc, (3, 4), err)
        got = lines(res)
        names = [o["file"] for o in got]
        self.assertEqual(len(names), 48)
        self.assertEqual(len(set(names)), 48)  # nothing doubled
        self.assertEqual(normal_results(res), normal_results(os.path.join(full, "results.jsonl")))
        self.assertEqual(read(os.path.join(self.tmp, "killed", "codes.csv")), read(os.path.join(full, "codes.csv")))
        a, ra = normal_summary(os.path.join(self.tmp, "killed", "summary.json"))
        b, _ = normal_summary(os.path.join(full, "summary.json"))
        self.assertEqual(a, b)
        self.assertLess(ra["scanned"], 48)
        self.assertEqual(ra["scanned"] + ra["resumed"], 48)

    def test_cut_line_and_changed_photo(self):
        full = self.full_run()
        res = os.path.join(full, "results.jsonl")
        with open(res, "rb") as f:
            data = f.read()
        first = data.index(b"\n") + 1
        with open(res, "wb") as f:  # the last line cut in half, as a kill mid-write leaves it
            f.write(data[:len(data) - 300])
        changed = os.path.join(self.tmp, "photos", "visit00", "p000.jpg")
        os.utime(changed, (MTIME + 60, MTIME + 60))  # the first photo changed since
        rc, _, err = run(["audit", "-o", "full", "--resume", "photos"], cwd=self.tmp)
        self.assertIn(rc, (3, 4), err)
        self.assertIn("1 earlier results dropped", err)
        got = lines(res)
        self.assertEqual(len(got), 48)
        self.assertEqual([o["file"] for o in got], sorted(o["file"] for o in got))  # still in walk order
        self.assertEqual(got[0]["mtime"], "2026-01-01T00:01:00.000000000Z")
        _, r = normal_summary(os.path.join(full, "summary.json"))
        self.assertEqual(r["scanned"], 2)  # the changed photo and the cut one
        self.assertEqual(data[first:len(data) - 300].count(b"\n") + 2, 48)

    def test_progress_bar_on_a_terminal(self):
        master, slave = pty.openpty()
        p = subprocess.Popen(WRAP + [BIN, "audit", "-j", "2", "-o", "tty", "photos"], cwd=self.tmp, env=ENV,
                             stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        buf = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        p.wait()
        os.close(master)
        text = buf.decode("utf-8", "replace")
        self.assertIn("48/48", text)
        self.assertRegex(text, r"img/s")
        self.assertIn("ETA", text)


def main():
    global BIN, FIX, REGEN
    args = [a for a in sys.argv[1:] if a != "--regen"]
    REGEN = "--regen" in sys.argv
    BIN, FIX = os.path.abspath(args[0]), os.path.abspath(args[1])
    try:
        unittest.main(argv=[sys.argv[0], "-v"] if os.environ.get("VERBOSE") else [sys.argv[0]])
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


if __name__ == "__main__":
    main()

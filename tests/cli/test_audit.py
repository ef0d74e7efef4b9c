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
import datetime
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
ENV = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=HOME,
           DRUGSCAN_CATALOG_SEED="demo")  # the synthetic demo catalog, never the real list
MTIME = 1767225600  # 2026-01-01T00:00:00Z: every fixture photo gets it, so results.jsonl is exact


def run(args, cwd=None, timeout=900, env_home=None):
    env = dict(ENV, DRUGSCAN_HOME=env_home) if env_home else ENV
    p = subprocess.run(WRAP + [BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
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

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

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


# ---- issue 12: the reports tell the truth (cases 15-20) ----

def chromium(tmp, page, *args):
    """Run headless Chromium on page; None when it is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        return None
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--user-data-dir=" + os.path.join(tmp, "profile")] + list(args) + [page],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def red_share(png, height):
    """How much redder than green the top `height` pixels of a screenshot are (about 0: not at all)."""
    conv = shutil.which("convert")
    out = subprocess.run([conv, png, "-crop", "1280x%d+0+0" % height, "-format", "%[fx:mean.r-mean.g]", "info:"],
                         stdout=subprocess.PIPE, timeout=120).stdout.decode()
    return float(out)


class BrowserCheck(unittest.TestCase):
    def rendered(self, tmp, report_dir):
        """The DOM of report_dir/report.html as Chromium renders it, and how red the top of the page is."""
        page = "file://" + os.path.join(report_dir, "report.html")
        p = chromium(tmp, page, "--dump-dom")
        if p is None:
            self.fail("chromium is not installed: run scripts/install-deps")
        shot = os.path.join(tmp, "shot-%s.png" % os.path.basename(report_dir))
        q = chromium(tmp, page, "--window-size=1280,900", "--screenshot=" + shot)
        self.assertTrue(os.path.isfile(shot), q.stderr[-800:])
        return p.stdout.decode("utf-8"), red_share(shot, 400)


def make_photos(root, n=48):
    src = [scan_photo(x) for x in ("rot0-code128.jpg", "jpeg50-code128.jpg", "nocode-0.jpg", "rot270-code128.jpg",
                                   "rot180-qr-ma.jpg", "perspective-code128.jpg")]
    for i in range(n):
        d = os.path.join(root, "photos", "visit%02d" % (i // 8))
        os.makedirs(d, exist_ok=True)
        with_comment(src[i % len(src)], os.path.join(d, "p%03d.jpg" % i), "photo %d" % i)
    for dirpath, _, files in os.walk(os.path.join(root, "photos")):
        for f in files:
            os.utime(os.path.join(dirpath, f), (MTIME, MTIME))


class CtrlC(BrowserCheck):
    """Case 15: Ctrl-C during an audit leaves a report that says it stopped and how to finish it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="drugscan-audit-ctrlc-")
        make_photos(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_ctrl_c_then_the_printed_command(self):
        res = os.path.join(self.tmp, "stopped", "results.jsonl")
        p = subprocess.Popen(WRAP + [BIN, "audit", "-j", "1", "-o", "stopped", "photos"], cwd=self.tmp, env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 300
        while time.time() < deadline and p.poll() is None and count_lines(res) < 3:
            time.sleep(0.01)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=300)
        err = err.decode()
        self.assertEqual(p.returncode, 1, err)
        done = count_lines(res)
        self.assertLess(done, 48)
        lines_ = err.splitlines()
        self.assertEqual(lines_[0], "drugscan: audit interrupted after %d of 48 photos; the reports cover those. "
                                    "To finish it, run:" % done)
        self.assertEqual(lines_[1], "  drugscan audit --resume --out stopped photos")
        self.assertTrue(lines_[2].startswith("drugscan: report written to stopped/report.html (%d photos, " % done))
        self.assertEqual(len(lines_), 3)
        _, r = normal_summary(os.path.join(self.tmp, "stopped", "summary.json"))
        self.assertIs(r["complete"], False)
        self.assertEqual(r["images_total"], 48)
        self.assertEqual(r["images_missing"], 48 - done)
        self.assertEqual(r["finish"], ["drugscan audit --resume --out stopped photos"])
        dom, red = self.rendered(self.tmp, os.path.join(self.tmp, "stopped"))
        self.assertIn('id="incomplete"', dom)
        self.assertIn("The audit stopped after %d of 48 photos: %d are not in this report." % (done, 48 - done), dom)
        self.assertIn("drugscan audit --resume --out stopped photos", dom)
        self.assertGreater(red, 0.08)  # the banner is red, at the top (about 0.17; -0.02 without it)

        # the command it printed finishes the audit; the banner goes
        rc, _, err = run(shlex.split(lines_[1])[1:], cwd=self.tmp)
        self.assertIn(rc, (3, 4), err)
        self.assertEqual(count_lines(res), 48)
        _, r = normal_summary(os.path.join(self.tmp, "stopped", "summary.json"))
        self.assertIs(r["complete"], True)
        self.assertEqual(r["scanned"] + r["resumed"], 48)
        self.assertIsNone(r["finish"])
        dom, red = self.rendered(self.tmp, os.path.join(self.tmp, "stopped"))
        self.assertNotIn('id="incomplete"', dom)
        self.assertLess(red, 0.03)


class MissingShard(BrowserCheck):
    """Case 15: a merge short of a shard is complete:false, and the page names the shard."""

    def test_missing_shard_in_the_browser(self):
        tmp = tempfile.mkdtemp(prefix="drugscan-audit-shardless-")
        try:
            build_tree(tmp)
            for k in range(3):
                rc, _, err = run(["audit", "--shard", "%d/3" % k, "-o", "part%d" % k, "photos"], cwd=tmp)
                self.assertIn(rc, (0, 3, 4), err)
            rc, _, err = run(["audit", "merge", "part0", "part2", "--out", "merged"], cwd=tmp)
            self.assertEqual(rc, 1, err)
            _, r = normal_summary(os.path.join(tmp, "merged", "summary.json"))
            self.assertIs(r["complete"], False)
            dom, red = self.rendered(tmp, os.path.join(tmp, "merged"))
            self.assertIn("shard 1/3 missing: its photos are not in this report.", dom)
            self.assertIn("drugscan audit --shard 1/3 --out shard-1-of-3 photos", dom)
            self.assertIn("drugscan audit merge part0 part2 shard-1-of-3 --out merged", dom)
            self.assertGreater(red, 0.08)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class LabelGroups(BrowserCheck):
    """Case 16: six 'recalled, all batches' alerts and one batch-recall warning are two rows, the alert first."""

    def test_alert_row_first_and_red(self):
        zint = shutil.which("zint")
        if not zint:
            self.fail("zint is not installed: run scripts/install-deps")
        tmp = tempfile.mkdtemp(prefix="drugscan-audit-labels-")
        try:
            os.makedirs(os.path.join(tmp, "p"))
            # the warning first in walk order, so "the first one seen" would pick it
            subprocess.run([zint, "-b", "16", "--gs1", "-d", "[01]06901234567892[21]ABC123", "--scale=3",
                            "--whitesp=10", "--vwhitesp=10", "-o", os.path.join(tmp, "p", "a-batch.png")], check=True)
            for i in range(6):
                subprocess.run([zint, "-b", "20", "-d", "8100046000000000000%d" % i, "--scale=3", "--whitesp=10",
                                "--vwhitesp=10", "-o", os.path.join(tmp, "p", "b-box%d.png" % i)], check=True)
            rc, _, err = run(["audit", "-o", "r", "p"], cwd=tmp)
            self.assertEqual(rc, 3, err)
            with open(os.path.join(tmp, "r", "summary.json"), encoding="utf-8") as f:
                s = json.load(f)
            g = [(x["id"], x["severity"], x["photos"]) for x in s["label_groups"] if x["id"] == "recall.batch"]
            self.assertEqual(g, [("recall.batch", "alert", 6), ("recall.batch", "warn", 1)])
            self.assertEqual(s["label_groups"][0]["id"], "recall.batch")  # the strongest first
            self.assertEqual(s["labels"]["recall.batch"]["severity"], "alert")
            self.assertEqual(s["labels"]["recall.batch"]["photos"], 7)
            dom, _ = self.rendered(tmp, os.path.join(tmp, "r"))
            rows = re.findall(r'<tr class="label (\w+)"><td><span class="chip \w+">([^<]*)</span> '
                              r'<span class="muted id">([^<]*)</span>.*?<td class="n">(\d+)</td>', dom)
            self.assertEqual(rows[0][0], "alert")
            self.assertEqual((rows[0][2], rows[0][3]), ("recall.batch", "6"))
            self.assertIn(("warn", "recall.batch", "1"), [(r[0], r[2], r[3]) for r in rows])
            self.assertEqual(len(rows), len(s["label_groups"]))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def as_nobody():
    """preexec_fn that drops root to nobody (65534), or None when not root."""
    if os.geteuid() != 0:
        return None

    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    return drop


class UnreadablePaths(unittest.TestCase):
    """Cases 17 and 18: every path the walk meets and cannot read is an error row, never skipped or fatal."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="drugscan-audit-unreadable-")
        os.chmod(self.tmp, 0o777)
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        rc, _, err = run(["catalog", "info"], env_home=self.home)  # built here, then opened by nobody
        self.assertEqual(rc, 0, err)
        p = os.path.join(self.tmp, "p")
        os.makedirs(os.path.join(p, "locked"))
        shutil.copy(scan_photo("jpeg50-code128.jpg"), os.path.join(p, "good.jpg"))
        shutil.copy(scan_photo("rot0-code128.jpg"), os.path.join(p, "locked", "inside.jpg"))
        with open(scan_photo("rot0-code128.jpg"), "rb") as f:
            data = f.read()
        with open(os.path.join(p, "cut.jpg"), "wb") as f:  # cut in half, the end marker put back
            f.write(data[: len(data) // 2] + b"\xff\xd9")
        os.symlink("nowhere.jpg", os.path.join(p, "dangling.jpg"))
        os.symlink("loop.jpg", os.path.join(p, "loop.jpg"))
        os.makedirs(os.path.join(self.tmp, "locked-operand"))
        shutil.copy(scan_photo("rot0-code128.jpg"), os.path.join(self.tmp, "locked-operand", "x.jpg"))
        for dirpath, dirs, files in os.walk(self.tmp):
            for d in dirs:
                os.chmod(os.path.join(dirpath, d), 0o777)
            for f in files:
                if not os.path.islink(os.path.join(dirpath, f)):
                    os.chmod(os.path.join(dirpath, f), 0o666)
        os.chmod(os.path.join(p, "locked"), 0)
        os.chmod(os.path.join(self.tmp, "locked-operand"), 0)

    def tearDown(self):
        for d in ("p/locked", "locked-operand"):
            os.chmod(os.path.join(self.tmp, d), 0o755)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def audit(self, args):
        env = dict(ENV, DRUGSCAN_HOME=self.home)
        p = subprocess.run(WRAP + [BIN, "audit"] + args, cwd=self.tmp, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=900, preexec_fn=as_nobody())
        return p.returncode, p.stderr.decode()

    def test_every_path_met_is_a_row(self):
        if os.geteuid() != 0 and os.access(os.path.join(self.tmp, "locked-operand"), os.R_OK):
            self.skipTest("cannot lock a folder against this user")
        rc, err = self.audit(["-o", "r", "p", "locked-operand", "gone"])
        self.assertEqual(rc, 1, err)  # an operand could not be read: not the audit that was asked for
        self.assertIn("drugscan: cannot open folder 'locked-operand': Permission denied\n", err)
        self.assertIn("drugscan: cannot open 'gone': No such file or directory\n", err)
        self.assertEqual(err.splitlines()[-1],
                         "drugscan: report written to r/report.html (7 photos, 2 codes, 0 duplicates, 6 unreadable)")
        got = {o["file"]: o for o in lines(os.path.join(self.tmp, "r", "results.jsonl"))}
        self.assertEqual(list(got), ["gone", "locked-operand", "p/cut.jpg", "p/dangling.jpg", "p/good.jpg",
                                     "p/locked", "p/loop.jpg"])
        want = {
            "gone": "cannot open 'gone': No such file or directory",
            "locked-operand": "cannot open folder 'locked-operand': Permission denied",
            "p/cut.jpg": "'p/cut.jpg': corrupt or truncated image: JPEG data damaged (premature end of data segment)",
            "p/dangling.jpg": "cannot open 'p/dangling.jpg': broken symbolic link (its target 'nowhere.jpg' does not exist)",
            "p/locked": "cannot open folder 'p/locked': Permission denied",
            "p/loop.jpg": "cannot open 'p/loop.jpg': symbolic link loop",
        }
        for f, why in want.items():
            self.assertEqual((got[f]["status"], got[f]["error"]), ("error", why), f)
        self.assertEqual(got["p/good.jpg"]["status"], "decoded")
        html = read(os.path.join(self.tmp, "r", "report.html"))
        for why in want.values():
            self.assertIn(why.replace("'", "&#39;"), html)
        s, _ = normal_summary(os.path.join(self.tmp, "r", "summary.json"))
        self.assertEqual(s["status"]["error"], 6)

        # only the folder: what is below it and cannot be read is a row, and no longer fatal
        rc, err = self.audit(["-o", "r2", "p"])
        self.assertEqual(rc, 4, err)  # could not be read, and no alert
        self.assertEqual(err, "drugscan: report written to r2/report.html (5 photos, 2 codes, 0 duplicates, 4 unreadable)\n")


class ResumeSpelling(unittest.TestCase):
    """Case 19: --resume with the same folder spelled another way keeps every earlier result."""

    def test_three_spellings_one_folder(self):
        tmp = tempfile.mkdtemp(prefix="drugscan-audit-spelling-")
        try:
            make_photos(tmp, 12)
            rc, _, err = run(["audit", "-o", "r", "./photos"], cwd=tmp)
            self.assertIn(rc, (3, 4), err)
            for spelled in ("photos/", os.path.join(tmp, "photos"), "photos//"):
                rc, _, err = run(["audit", "-o", "r", "--resume", spelled], cwd=tmp)
                self.assertIn(rc, (3, 4), err)
                self.assertNotIn("dropped", err)
                _, r = normal_summary(os.path.join(tmp, "r", "summary.json"))
                self.assertEqual((r["scanned"], r["resumed"]), (0, 12), spelled)
                files = [o["file"] for o in lines(os.path.join(tmp, "r", "results.jsonl"))]
                self.assertEqual(len(files), 12)
                self.assertEqual(files[0], spelled.rstrip("/") + "/visit00/p000.jpg")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Stamp(BrowserCheck):
    """Case 20: the report says when, by which drugscan, with which catalog, and warns of the demo catalog."""

    def test_date_version_catalog_and_demo_warning(self):
        tmp = tempfile.mkdtemp(prefix="drugscan-audit-stamp-")
        try:
            os.makedirs(os.path.join(tmp, "p"))
            shutil.copy(scan_photo("jpeg50-code128.jpg"), os.path.join(tmp, "p", "a.jpg"))
            before = time.time()
            rc, _, err = run(["audit", "-o", "r", "p"], cwd=tmp)
            self.assertEqual(err, "drugscan: report written to r/report.html (1 photo, 2 codes, 0 duplicates)\n")
            version = run(["--version"])[1].split()[1]
            _, r = normal_summary(os.path.join(tmp, "r", "summary.json"))
            self.assertEqual(r["drugscan_version"], version)
            made = datetime.datetime.fromisoformat(r["date"]).timestamp()
            self.assertTrue(before - 2 <= made <= time.time() + 1, r["date"])
            self.assertEqual(r["catalog"]["source"], "drugscan demo bundle (scripts/gen-demo-catalog)")
            self.assertEqual(r["catalog"]["version"], "2026.1-demo")
            self.assertIs(r["catalog"]["synthetic"], True)
            dom, _ = self.rendered(tmp, os.path.join(tmp, "r"))
            self.assertIn("drugscan %s · catalog: drugscan demo bundle (scripts/gen-demo-catalog), version 2026.1-demo"
                          % version, dom)
            self.assertIn(r["date"][:10], dom)
            self.assertIn('id="synthetic"', dom)
            self.assertIn("Synthetic demo catalog", dom)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_without_the_catalog_the_audit_says_so_and_fails(self):
        tmp = tempfile.mkdtemp(prefix="drugscan-audit-nocat-")
        try:
            os.makedirs(os.path.join(tmp, "p"))
            shutil.copy(scan_photo("rot0-code128.jpg"), os.path.join(tmp, "p", "a.jpg"))
            with open(os.path.join(tmp, "not-a-folder"), "w") as f:
                f.write("x")
            rc, _, err = run(["audit", "-o", "r", "--data-dir", "not-a-folder", "p"], cwd=tmp)
            self.assertEqual(rc, 1, err)  # the recall this photo carries cannot be seen: not an audit to pass
            first, last = err.splitlines()
            self.assertTrue(first.startswith("drugscan: ") and first.endswith("; codes are decoded without the catalog"))
            self.assertEqual(last, "drugscan: report written to r/report.html (1 photo, 2 codes, 0 duplicates)")
            _, r = normal_summary(os.path.join(tmp, "r", "summary.json"))
            self.assertIsNone(r["catalog"])
            self.assertTrue(r["catalog_error"])
            html = read(os.path.join(tmp, "r", "report.html"))
            self.assertIn("id=nocatalog", html)
            self.assertIn("no catalog</p>", html)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


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

#!/usr/bin/env python3
"""One photo, one answer: `drugscan scan` must print byte-identical results
(everything but elapsed_ms) whatever the load on the machine, --jobs, or the
order of the photos. The decoder's budgets count work (regions, probes,
passes), never milliseconds; this test is what keeps it so.

Each set of photos is scanned once with --jobs 1 on a quiet machine, then with
--jobs 2 (and, reversed, with --jobs 3) while busy-loop processes keep every
CPU busy, and the JSON lines are compared with elapsed_ms removed.

usage: test_determinism.py path/to/drugscan path/to/fixtures
$DRUGSCAN_WRAPPER, when set, prefixes every run (e.g. valgrind).
"""
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
HOME = tempfile.mkdtemp(prefix="drugscan-determinism-")
ENV = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=HOME)
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp", ".pgm", ".ppm", ".pnm")
HOG = "while True:\n    pass\n"


def images_under(*dirs):
    out = []
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            subdirs.sort()
            out += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXT)]
    return out


def scan(images, jobs, effort):
    p = subprocess.run(WRAP + [BIN, "scan", "--format", "jsonl", "--jobs", str(jobs), "--effort", effort] + images,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, timeout=1800)
    if p.returncode not in (0, 3, 4):
        raise AssertionError("drugscan scan exited %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")))
    results = {}
    # split on "\n" only: a payload's 0x1D is escaped in JSON, but be strict anyway
    for line in p.stdout.decode("utf-8").split("\n"):
        if not line:
            continue
        obj = json.loads(line)
        obj.pop("elapsed_ms")
        results[obj["file"]] = json.dumps(obj, sort_keys=True, ensure_ascii=False)
    return results


class Hogs:
    """One busy-loop process per CPU for as long as the with-block runs."""

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(os.cpu_count() or 2)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        return False


class Determinism(unittest.TestCase):
    def check(self, images, effort):
        self.assertGreater(len(images), 0)
        quiet = scan(images, 1, effort)
        with Hogs():
            busy = scan(images, 2, effort)
            reversed_busy = scan(list(reversed(images)), 3, effort)
        self.assertEqual(sorted(quiet), sorted(images))
        decoded = 0
        for img in images:
            with self.subTest(image=os.path.relpath(img, FIX)):
                self.assertEqual(busy[img], quiet[img])
                self.assertEqual(reversed_busy[img], quiet[img])
            decoded += '"status": "decoded"' in quiet[img]
        # the comparison means something only if the photos were really decoded
        self.assertGreater(decoded, len(images) // 2)

    def test_fixtures_and_decode_samples_normal(self):
        self.check(images_under(os.path.join(FIX, "scan"), os.path.join(FIX, "decode-samples")), "normal")

    def test_datamatrix_and_photos_thorough(self):
        dm = images_under(os.path.join(FIX, "decode-samples", "datamatrix-2"))
        photos = [p for p in images_under(os.path.join(FIX, "scan")) if "gs1dm" in p or "nocode" in p]
        self.check(dm + photos, "thorough")


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FIX = os.path.abspath(sys.argv.pop(1))
    try:
        unittest.main(verbosity=1)
    finally:
        shutil.rmtree(HOME, ignore_errors=True)

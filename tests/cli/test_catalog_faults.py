#!/usr/bin/env python3
"""Faults of the catalog (issue 12): nothing lost, nothing hidden.

- Damaged files: a block of catalog.db overwritten at offsets spread over the
  whole file (issue 12, case 2: 8,000 bytes at offset 200,000), then every
  command that reads the catalog: check, scan, audit, catalog info, lists,
  search, map, export-map, counter, ledger export --format receipt. Each gives
  the undamaged answer, or exit 1 naming the damage ("catalog '...' is damaged:
  ..."), never a silent wrong answer; the damaged file is never written to.
- I/O errors at every point, the way SQLite tests itself: drugscan-faulty
  (drugscan plus tests/faultvfs.c) fails the Nth read, write, sync, truncate or
  open of catalog.db and the files beside it (its journal, the update's new
  file), for every N that `catalog import` and `catalog update` reach. Each run
  either succeeds with the right catalog or fails with one clear line and exit
  1; then, faults off, the catalog passes its integrity check and is the old
  one, byte for byte the same rows (import and update are atomic), and nothing
  of the failed run is left beside it.

usage: test_catalog_faults.py path/to/drugscan path/to/drugscan-faulty path/to/fixtures
"""
import concurrent.futures
import hashlib
import http.server
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = None
FAULTY = None
FIX = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
JOBS = int(os.environ.get("DRUGSCAN_FAULT_JOBS", "4"))
# every Nth fault point and damaged offset only (the sanitizer build, which is slower, sets 4); 1 = all
STRIDE = int(os.environ.get("DRUGSCAN_FAULT_STRIDE", "1"))
KINDS = ("read", "write", "sync", "truncate", "open")
FAST_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
DAMAGED = re.compile(r"catalog '[^']*catalog\.db' is damaged: .+; left untouched")


def env_for(home, seed="demo", **extra):
    e = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=home)
    for k in ("DRUGSCAN_FAULT", "DRUGSCAN_FAULT_MATCH", "DRUGSCAN_FAULT_COUNTS", "DRUGSCAN_CATALOG_SEED"):
        e.pop(k, None)
    if seed:
        e["DRUGSCAN_CATALOG_SEED"] = seed
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run(args, home, binary=None, seed="demo", cwd=None, timeout=120, **extra):
    p = subprocess.run(WRAP + [binary or BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env_for(home, seed, **extra), cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def overwrite(path, offset, size, byte=b"\xaa"):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(byte * size)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def clear(err):
    """One line, a diagnostic that names its cause."""
    lines = err.splitlines()
    return len(lines) == 1 and lines[0].startswith("drugscan: ") and "(null)" not in err and not lines[0].endswith(": ")


def dump(db):
    """The catalog's rows, as SQL, but the time of the last import; and its integrity check."""
    con = sqlite3.connect(db)
    try:
        ic = con.execute("PRAGMA integrity_check(100000)").fetchall()
        # SQLite 3.40 reports every row of a WITHOUT ROWID table whose key is not its first columns
        ic = [r for r in ic if not re.match(r"NULL value in (name_keys|list_members|local_list_members)\.", r[0])]
        rows = [l for l in con.iterdump() if "'imported_at'" not in l]
        return ic or [("ok",)], hashlib.sha256("\n".join(rows).encode()).hexdigest()
    finally:
        con.close()


# ---- damaged files ----

class Damage(unittest.TestCase):
    maxDiff = None
    """Overwrite a block of catalog.db and run every command that reads it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="drugscan-catdamage-", dir=FAST_TMP)
        cls.home = os.path.join(cls.tmp, "home")
        os.mkdir(cls.home)
        run(["catalog", "info"], cls.home)
        cls.db = os.path.join(cls.tmp, "pristine.db")
        con = sqlite3.connect(os.path.join(cls.home, "catalog.db"))
        ok, recalled, unmapped_prefix = con.execute(
            "SELECT (SELECT value FROM identifiers i WHERE type = 'trace_prefix' AND package_level = 1 AND NOT EXISTS"
            " (SELECT 1 FROM recalls r WHERE r.value = i.value) ORDER BY value LIMIT 1),"
            " (SELECT value FROM recalls WHERE type = 'trace_prefix' ORDER BY value LIMIT 1), '8999999'").fetchone()
        name = con.execute("SELECT generic_name FROM drugs ORDER BY nhsa_code LIMIT 1 OFFSET 40").fetchone()[0]
        target = con.execute("SELECT nhsa_code FROM drugs ORDER BY nhsa_code LIMIT 1 OFFSET 7").fetchone()[0]
        con.close()
        cls.codes = [ok + "0000000111234", recalled + "0000000221234", unmapped_prefix + "0000000331234"]
        rc, _, err = run(["catalog", "map", unmapped_prefix, "--to", target, "--note", "shelf 3"], cls.home)
        assert rc == 0, err
        shutil.copy(os.path.join(cls.home, "catalog.db"), cls.db)
        cls.ledger = os.path.join(cls.tmp, "ledger.db")
        rc, _, err = run(["counter", "receive", "-q", "--station", "A", "--ledger", cls.ledger] + cls.codes, cls.home)
        assert rc in (0, 3), err
        cls.photos = os.path.join(cls.tmp, "photos")
        os.mkdir(cls.photos)
        shutil.copy(os.path.join(FIX, "scan", "rot0-code128.jpg"), os.path.join(cls.photos, "a.jpg"))
        cls.readers = [
            ["check", "-f", "json"] + cls.codes,
            ["check"] + cls.codes,
            ["catalog", "info"],
            ["catalog", "info", "-f", "json"],
            ["catalog", "lists", "-f", "json"],
            ["catalog", "search", "-f", "json", name],
            ["catalog", "search", "-n", "3", name[:2]],
            ["catalog", "map", unmapped_prefix],
            ["catalog", "export-map"],
            ["counter", "scan", "-q", "-f", "jsonl", "--station", "A", "--ledger", "LEDGER"] + cls.codes,
            ["ledger", "export", "-f", "receipt", "--ledger", cls.ledger],
            ["scan", os.path.join(cls.photos, "a.jpg")],
            ["audit", "-j", "1", "-o", "REPORT", cls.photos],
        ]
        cls.ref = [cls.read(cls.home, args) for args in cls.readers]
        assert all(r[0] in (0, 3) for r in cls.ref), cls.ref

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    @classmethod
    def read(cls, home, args):
        """(exit, stdout) of one reader; what it writes goes to a fresh place each time."""
        work = tempfile.mkdtemp(dir=cls.tmp)
        try:
            if "LEDGER" in args:
                shutil.copy(cls.ledger, os.path.join(work, "ledger.db"))
            args = [os.path.join(work, "ledger.db") if a == "LEDGER" else os.path.join(work, "r") if a == "REPORT"
                    else a for a in args]
            rc, out, err = run(args, home)
            if args[0] == "audit" and rc in (0, 3, 4):
                with open(os.path.join(work, "r", "codes.csv")) as f:
                    out = f.read()
            if args[0] == "counter":  # the event ids and times are new each run: the answers are compared
                out = json.dumps([(a["ledger"]["state_before"], a["ledger"]["state_after"],
                                   [l["id"] for l in a["labels"]]) for a in map(json.loads, out.splitlines())])
            return rc, out, err
        finally:
            shutil.rmtree(work)

    def damaged_at(self, offset, size):
        home = tempfile.mkdtemp(dir=self.tmp)
        db = os.path.join(home, "catalog.db")
        shutil.copy(self.db, db)
        overwrite(db, offset, size)
        before = sha(db)
        problems, caught = [], 0
        try:
            for args, ref in zip(self.readers, self.ref):
                rc, out, err = self.read(home, args)
                if rc == 1 and DAMAGED.search(err) and len(err.splitlines()) <= 2:
                    caught += 1
                elif (rc, out) != ref[:2]:
                    problems.append("%s: exit %d, %r, %r (undamaged: exit %d)" % (" ".join(args[:2]), rc, out[:150],
                                                                                err[:300], ref[0]))
            if sha(db) != before:
                problems.append("the damaged catalog was written to")
            if sorted(os.listdir(home)) != ["catalog.db"]:
                problems.append("files left beside it: %r" % os.listdir(home))
            return caught, ("offset %d (%d bytes): %s" % (offset, size, "; ".join(problems)) if problems else None)
        finally:
            shutil.rmtree(home)

    def sweep(self, block, offsets):
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
            results = list(ex.map(lambda o: self.damaged_at(o, block), offsets))
        caught = sum(c for c, _ in results)
        print("\n  catalog corruption sweep: %d offsets over a %d-byte catalog.db, %d-byte blocks: %d of %d runs of %d"
              " commands named the damage, the rest gave the undamaged answer (%.1f s)"
              % (len(offsets), os.path.getsize(self.db), block, caught, len(offsets) * len(self.readers),
                 len(self.readers), time.time() - t0), file=sys.stderr)
        self.assertEqual([p for _, p in results if p], [])
        return caught

    def test_sweep(self):
        size = os.path.getsize(self.db)
        self.assertGreater(size, 1024 * 1024)
        offsets = [i * (size - 1024) // 47 for i in range(48)][::STRIDE]
        self.assertGreater(self.sweep(1024, offsets), len(offsets))

    def test_small_blocks(self):
        # a few bytes inside a page: a text, a number, a cell pointer
        size = os.path.getsize(self.db)
        self.sweep(16, [i * (size - 16) // 23 + 1531 for i in range(24)][::STRIDE])

    def test_header_overwritten_is_damage_not_a_foreign_file(self):
        for offset, size in ((0, 100), (0, 4096), (16, 2), (28, 4), (40, 8), (96, 8)):
            caught, problem = self.damaged_at(offset, size)
            self.assertIsNone(problem)
            self.assertEqual(caught, len(self.readers), (offset, size))


class TheCaseOfTheIssue(unittest.TestCase):
    """Issue 12, case 2: 8,000 bytes at offset 200,000 of catalog.db, the national list and the demo."""

    def check_home(self, seed):
        home = tempfile.mkdtemp(prefix="drugscan-case2-")
        try:
            rc, out, err = run(["catalog", "info"], home, seed=seed)
            self.assertEqual(rc, 0, err)
            db = os.path.join(home, "catalog.db")
            overwrite(db, 200000, 8000)
            before = sha(db)
            for args in (["catalog", "info"], ["catalog", "info", "-f", "json"], ["catalog", "lists"],
                         ["catalog", "search", "头孢克肟"], ["catalog", "map", "8100046"], ["catalog", "export-map"],
                         ["catalog", "map", "8100046", "--to", "W:693"], ["catalog", "import", "--builtin"]):
                rc, out, err = run(args, home, seed=seed)
                self.assertEqual((rc, out), (1, ""), (args, err))
                self.assertTrue(clear(err), (args, err))
                self.assertRegex(err, r"^drugscan: (catalog \w+: )?catalog '.*catalog\.db' is damaged: .+; left untouched\n$")
            rc, out, err = run(["check", "-f", "json", "81000464033958964338"], home, seed=seed)
            self.assertEqual(rc, 1)
            self.assertTrue(clear(err), err)
            self.assertTrue(err.rstrip().endswith("; codes are checked without the catalog"), err)
            o = json.loads(out)
            self.assertIsNone(o["drug"])
            self.assertEqual([l["id"] for l in o["labels"] if l["severity"] != "info"], ["catalog.error"])
            self.assertIn("is damaged", [l for l in o["labels"] if l["id"] == "catalog.error"][0]["text"])
            rc, out, err = run(["counter", "sell", "-q", "-f", "jsonl", "81000464033958964338"], home, seed=seed)
            self.assertEqual(rc, 1, err)  # the sale is recorded, and the run says the catalog was not there
            self.assertIn("catalog.error", [l["id"] for l in json.loads(out)["labels"]])
            self.assertIn(" is damaged: ", err)
            self.assertEqual(sha(db), before)
        finally:
            shutil.rmtree(home)

    def test_national_list(self):
        self.check_home(None)

    def test_demo(self):
        self.check_home("demo")


class Leftovers(unittest.TestCase):
    def test_a_killed_update_leaves_nothing_for_good(self):
        # catalog update killed (kill -9, Ctrl-C) while it built its new file: the next command removes it
        home = tempfile.mkdtemp(prefix="drugscan-leftover-")
        try:
            run(["catalog", "info"], home)
            dead = 4194000
            while dead > 1000:
                try:
                    os.kill(dead, 0)
                    dead -= 1
                except ProcessLookupError:
                    break
            stale = ["catalog.db.update-%d" % dead, "catalog.db.update-%d-journal" % dead]
            alive = ["catalog.db.update-%d" % os.getpid()]
            for f in stale + alive:
                with open(os.path.join(home, f), "w") as fh:
                    fh.write("half a catalog")
            rc, _, err = run(["check", "81000464033958964338"], home)
            self.assertEqual(rc, 3, err)
            self.assertEqual(sorted(f for f in os.listdir(home) if f != "catalog.db"), alive)  # one may be running
        finally:
            shutil.rmtree(home)


# ---- I/O faults at every point of import and update ----

BUNDLE_OLD = {"drugs.csv": "nhsa_code,generic_name,category\nXT01,测试药一,甲\nXT02,测试药二,乙\n",
              "identifiers.csv": "type,value,nhsa_code\ntrace_prefix,8123456,XT01\n"}
BUNDLE_NEW = {"drugs.csv": "nhsa_code,generic_name,category\nXU01,更新药一,乙\nXU02,更新药二,甲\nXU03,更新药三,乙\n",
              "identifiers.csv": "type,value,nhsa_code\ntrace_prefix,8123456,XU01\ntrace_prefix,8123458,XU03\n",
              "meta.csv": "key,value\nsource,test bundle\n"}
CODE = "81234560000000011234"


class Server(http.server.BaseHTTPRequestHandler):
    files = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = Server.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


def counts_of(path):
    with open(path) as f:
        return {k: int(n) for k, n in (line.split() for line in f)}


class IOFaults(unittest.TestCase):
    """Every read, write, sync, truncate and open of catalog.db and its files fails once, in turn."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="drugscan-catfault-", dir=FAST_TMP)
        cls.stats = []
        for name, bundle in (("old", BUNDLE_OLD), ("new", BUNDLE_NEW)):
            os.mkdir(os.path.join(cls.tmp, name))
            for f, text in bundle.items():
                with open(os.path.join(cls.tmp, name, f), "w") as fh:
                    fh.write(text)
        # the old catalog: a small one (every point of the run is tried), with the pharmacy's own 对照
        cls.base = os.path.join(cls.tmp, "base")
        os.mkdir(cls.base)
        for args in (["catalog", "import", "--replace", os.path.join(cls.tmp, "old")],
                     ["catalog", "map", "8123457", "--to", "XT02", "--note", "kept"]):
            rc, _, err = run(args, cls.base)
            assert rc == 0, err
        files = {n: t.encode() for n, t in BUNDLE_NEW.items()}
        Server.files = {"/" + n: b for n, b in files.items()}
        Server.files["/manifest.json"] = json.dumps({"version": "2026.9-test", "files": [
            {"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in files.items()]}).encode()
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.url = "http://127.0.0.1:%d/manifest.json" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.tmp)
        for line in cls.stats:
            print("  " + line, file=sys.stderr)

    def args_of(self, what):
        if what == "import":
            return ["catalog", "import", "--replace", os.path.join(self.tmp, "new")]
        return ["catalog", "update", "--url", self.url]

    def one(self, what, spec):
        """(counts, exit, the catalog's rows afterwards, a problem or None) of one run with this fault."""
        home = tempfile.mkdtemp(dir=self.tmp)
        shutil.copy(os.path.join(self.base, "catalog.db"), home)
        try:
            extra = {"DRUGSCAN_FAULT_MATCH": os.path.join(home, "catalog.db"),
                     "DRUGSCAN_FAULT_COUNTS": os.path.join(home, "..", os.path.basename(home) + ".counts")}
            if spec:
                extra["DRUGSCAN_FAULT"] = spec
            rc, out, err = run(self.args_of(what), home, binary=FAULTY, **extra)
            out = out.replace(home, "HOME")
            counts = counts_of(extra["DRUGSCAN_FAULT_COUNTS"])
            os.unlink(extra["DRUGSCAN_FAULT_COUNTS"])
            left = sorted(set(os.listdir(home)) - {"catalog.db", "catalog.db-journal"})
            ic, rows = dump(os.path.join(home, "catalog.db"))  # faults off: a hot journal is rolled back here
            ans = run(["check", "-f", "json", CODE], home)
            drug = (json.loads(ans[1]).get("drug") or {}).get("generic_name") if ans[1] else None
            problems = []
            if ic != [("ok",)]:
                problems.append("integrity_check: %r" % ic[:3])
            if left:
                problems.append("left beside the catalog: %r" % left)
            if rc == 0:
                if (out, rows, drug) != (self.ref_out, self.new_rows, "更新药一"):
                    problems.append("exit 0 but not the right catalog (%r, %r)" % (out, drug))
            else:
                if rc != 1 or not clear(err):
                    problems.append("exit %d, stderr %r" % (rc, err))
                if (rows, drug) != (self.old_rows, "测试药一"):
                    problems.append("failed, but the old catalog is not intact (%r; %r)" % (drug, err))
            return counts, rc, ("catalog %s, fault %s: %s" % (what, spec, "; ".join(problems)) if problems else None)
        finally:
            shutil.rmtree(home)

    def loop(self, what):
        self.old_rows = dump(os.path.join(self.base, "catalog.db"))[1]
        home = tempfile.mkdtemp(dir=self.tmp)
        shutil.copy(os.path.join(self.base, "catalog.db"), home)
        rc, self.ref_out, err = run(self.args_of(what), home)
        self.ref_out = self.ref_out.replace(home, "HOME")
        self.assertEqual(rc, 0, err)
        self.new_rows = dump(os.path.join(home, "catalog.db"))[1]
        shutil.rmtree(home)
        self.assertNotEqual(self.old_rows, self.new_rows)
        counts, rc, problem = self.one(what, None)
        self.assertEqual((rc, problem), (0, None))
        specs = ["%s:%d" % (k, n) for k in KINDS for n in range(1, counts[k] + 1)]
        specs += ["write:%d:full" % n for n in range(1, counts["write"] + 1)] + ["sync:1+", "write:1+:full", "read:1+"]
        specs = specs[::STRIDE]
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
            results = list(ex.map(lambda s: self.one(what, s), specs))
        failed = sum(1 for _, rc, _ in results if rc != 0)
        self.stats.append("catalog %-6s: %s = %d I/O points: %d runs (%d failed cleanly, %d succeeded) in %.1f s"
                          % (what, ", ".join("%d %s" % (counts[k], k) for k in KINDS), sum(counts[k] for k in KINDS),
                             len(specs), failed, len(specs) - failed, time.time() - t0))
        self.assertEqual([p for _, _, p in results if p], [])
        self.assertGreater(failed, len(specs) // 3)

    def test_import(self):
        self.loop("import")

    def test_update(self):
        self.loop("update")


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FAULTY = os.path.abspath(sys.argv.pop(1))
    FIX = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)

#!/usr/bin/env python3
"""Output and permission faults of every command (issue 12).

- Standard output on /dev/full, for every subcommand and action (and --help,
  --version): exit 1 and one line, "drugscan: ...cannot write output: No space
  left on device"; a command that writes nothing on standard output (audit)
  exits as it would anyway.
- A closed pipe: drugscan ignores SIGPIPE, so a write to a pipe whose reader
  is gone fails with EPIPE like any other write: exit 1 and one line
  ("cannot write output: Broken pipe"), never a silent death by the signal.
  The counter stops at the first answer it cannot show and says how many
  codes it recorded; the ledger holds exactly those.
- The data folder: a command that only reads never creates it, or anything
  in it; on a read-only data folder, as a user who cannot write it (the tests
  run as root, so they drop to nobody), every reader gives the answers it
  gives on a writable one, and every writer names the folder or file as
  read-only.

usage: test_output_faults.py path/to/drugscan path/to/fixtures
"""
import hashlib
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

BIN = None
FIX = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "receiver.py")
NOBODY = 65534
FAST_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
FULL = re.compile(r"^drugscan: (catalog export-map: )?cannot write output: No space left on device"
                  r"(; stopped after \d+ codes? \(\d+ recorded, \d+ not recorded\))?$")


def env_for(home, **extra):
    e = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01",
             DRUGSCAN_CATALOG_SEED="demo")
    for k in ("DRUGSCAN_HOME", "XDG_DATA_HOME", "DRUGSCAN_FAULT"):
        e.pop(k, None)
    if home:
        e["DRUGSCAN_HOME"] = home
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run(args, home, stdin=b"", stdout=subprocess.PIPE, preexec=None, cwd=None, **extra):
    p = subprocess.run(WRAP + [BIN] + list(args), input=stdin, stdout=stdout, stderr=subprocess.PIPE,
                       env=env_for(home, **extra), preexec_fn=preexec, cwd=cwd, timeout=120)
    out = p.stdout.decode(errors="replace") if p.stdout is not None else ""
    return p.returncode, out, p.stderr.decode(errors="replace")


def code(i, prefix="8123456"):
    return "%s%09d%04d" % (prefix, i, 1234)


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def tree(path):
    """Every file below path with its digest: what a run must leave as it was."""
    out = {}
    for root, dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = hashlib.sha256(fh.read()).hexdigest()
    return out


class Bundle(http.server.BaseHTTPRequestHandler):
    files = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = Bundle.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


class World(unittest.TestCase):
    """A data folder with the demo catalog, a mapping and a small ledger; photos; a bundle to import
    and to update from; a sync receiver."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="drugscan-outfault-", dir=FAST_TMP)
        os.chmod(cls.tmp, 0o755)
        cls.home = os.path.join(cls.tmp, "home")
        os.mkdir(cls.home)
        for args in (["catalog", "map", "8999999", "--to", "XDEMO000000000000000001", "--note", "shelf 3"],
                     ["counter", "receive", "-q", "--station", "A", code(1), code(2), code(3), "81000464033958964338"],
                     ["counter", "sell", "-q", "--station", "A", code(1)]):
            rc, _, err = run(args, cls.home)
            assert rc in (0, 3), (args, err)
        cls.photos = os.path.join(cls.tmp, "photos")
        os.mkdir(cls.photos)
        shutil.copy(os.path.join(FIX, "scan", "rot0-code128.jpg"), os.path.join(cls.photos, "a.jpg"))
        cls.photo = os.path.join(cls.photos, "a.jpg")
        cls.bundle = os.path.join(cls.tmp, "bundle")
        os.mkdir(cls.bundle)
        files = {"drugs.csv": b"nhsa_code,generic_name,category\nXU01,\xe6\x9b\xb4\xe6\x96\xb0\xe8\x8d\xaf,B\n",
                 "identifiers.csv": b"type,value,nhsa_code\ntrace_prefix,8123456,XU01\n"}
        for n, b in files.items():
            with open(os.path.join(cls.bundle, n), "wb") as f:
                f.write(b)
        Bundle.files = {"/" + n: b for n, b in files.items()}
        Bundle.files["/manifest.json"] = json.dumps({"version": "2026.9-test", "files": [
            {"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in files.items()]}).encode()
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bundle)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.update_url = "http://127.0.0.1:%d/manifest.json" % cls.server.server_address[1]
        cls.rx = subprocess.Popen([sys.executable, RECEIVER, os.path.join(cls.tmp, "rx.db")], stdout=subprocess.PIPE)
        cls.rx_url = "http://127.0.0.1:%d/" % int(cls.rx.stdout.readline().split()[-1])

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.rx.terminate()
        cls.rx.wait()
        cls.rx.stdout.close()
        for root, dirs, _ in os.walk(cls.tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(cls.tmp)

    def copy_home(self):
        home = tempfile.mkdtemp(dir=self.tmp)
        os.chmod(home, 0o755)
        for f in os.listdir(self.home):
            shutil.copy(os.path.join(self.home, f), home)
        return home


# ---- standard output on a full disk ----

class FullDisk(World):
    def commands(self):
        """(args, stdin, stderr lines): every subcommand and action that prints results."""
        c = code(2)
        cmds = [["--help"], ["-h"], ["help"], ["help", "check"], ["--version"]]
        cmds += [[cmd, "--help"] for cmd in ("check", "scan", "catalog", "counter", "ledger", "audit", "serve")]
        cmds += [["check", c], ["check", "-f", "json", c], ["check", "-f", "csv", c], ["check", "-"],
                 ["scan", self.photo], ["scan", "-f", "jsonl", self.photo], ["scan", "-f", "csv", self.photo],
                 ["catalog", "info"], ["catalog", "info", "-f", "json"], ["catalog", "lists"],
                 ["catalog", "lists", "-f", "json"], ["catalog", "search", "阿司匹林"],
                 ["catalog", "search", "-f", "json", "阿司匹林"], ["catalog", "map", "8999999"],
                 ["catalog", "map", "8999998", "--to", "XDEMO000000000000000002"], ["catalog", "map", "8999999", "--remove"],
                 ["catalog", "export-map"], ["catalog", "import", "--replace", self.bundle],
                 ["catalog", "import", "--builtin"], ["catalog", "update", "--url", self.update_url],
                 ["counter", "receive", "-q", code(7)], ["counter", "sell", "-q", c], ["counter", "return", "-q", code(1)],
                 ["counter", "destroy", "-q", code(3)], ["counter", "stocktake", "-q", c], ["counter", "undo", "-q", code(1)],
                 ["counter", "scan", "-q", "-f", "jsonl", c], ["counter", "scan", "-q", "-"],
                 ["ledger", "history", c], ["ledger", "history", "-f", "jsonl", c], ["ledger", "stock"],
                 ["ledger", "stock", "-f", "jsonl"], ["ledger", "export"], ["ledger", "export", "-f", "csv"],
                 ["ledger", "export", "-f", "receipt"], ["ledger", "sync", "--status"],
                 ["ledger", "sync", "--url", self.rx_url]]
        return [(a, (c + "\n").encode() if a[-1] == "-" else b"", 1) for a in cmds] + \
               [(["scan", "--frames", os.path.join(FIX, "frames")], b"", 2)]  # and its summary line

    def test_every_command(self):
        problems = []
        for args, stdin, nlines in self.commands():
            home = self.copy_home()
            try:
                with open("/dev/full", "w") as full:
                    rc, _, err = run(args, home, stdin=stdin, stdout=full)
                lines = err.splitlines()
                if rc != 1 or len(lines) != nlines or not any(FULL.match(l) for l in lines):
                    problems.append("%s: exit %d, %r" % (" ".join(args), rc, err))
            finally:
                shutil.rmtree(home)
        print("\n  /dev/full: %d commands" % len(self.commands()), file=sys.stderr)
        self.assertEqual(problems, [])

    def test_audit_writes_nothing_there(self):
        # its results are files: standard output full changes nothing
        out = os.path.join(self.tmp, "audit-full")
        with open("/dev/full", "w") as full:
            rc, _, err = run(["audit", "-j", "1", "-o", out, self.photos], self.home, stdout=full)
        self.assertEqual(rc, 3, err)  # the photo's code is a recalled drug
        self.assertEqual(err.splitlines()[-1], "drugscan: report written to %s/report.html (1 photo, 2 codes,"
                                               " 0 duplicates)" % out)

    def test_serve(self):
        # the address it listens on cannot be printed: said when it stops, exit 1
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        with open("/dev/full", "w") as full:
            p = subprocess.Popen(WRAP + [BIN, "serve", "--listen", "127.0.0.1:%d" % port], stdout=full,
                                 stderr=subprocess.PIPE, env=env_for(self.copy_home()))
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen("http://127.0.0.1:%d/v1/version" % port, timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.05)
            p.send_signal(signal.SIGTERM)
            err = p.stderr.read().decode()
            self.assertEqual(p.wait(timeout=60), 1, err)
            self.assertIn("drugscan: cannot write output: No space left on device", err.splitlines())
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()


# ---- a closed pipe ----

class ClosedPipe(World):
    """The reader of standard output goes away after the first line (`drugscan ... | head -1`)."""

    def first_line_then_close(self, args, home, stdin_text=b""):
        with tempfile.TemporaryFile() as f:
            f.write(stdin_text)
            f.seek(0)
            p = subprocess.Popen(WRAP + [BIN] + args, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env_for(home))
            first = p.stdout.readline()
            p.stdout.close()
            err = p.stderr.read().decode()
            p.stderr.close()
            return p.wait(timeout=120), first, err

    def test_readers(self):
        home = self.copy_home()
        for action in ("receive", "sell"):  # an export of 600 sales: far more than a pipe holds
            rc, _, err = run(["counter", action, "-q", "-f", "jsonl", "--station", "B", "-"], home,
                             stdin="".join(code(i) + "\n" for i in range(100, 700)).encode())
            self.assertEqual(rc, 0, err)
        lines = "".join(code(i) + "\n" for i in range(100, 2100)).encode()
        for args, stdin in ((["ledger", "export"], b""), (["ledger", "export", "-f", "csv"], b""),
                            (["ledger", "history", "-f", "jsonl", code(150)], b""), (["ledger", "stock", "-f", "jsonl"], b""),
                            (["check", "-f", "json", "-"], lines), (["catalog", "search", "-n", "1000", "片"], b"")):
            rc, first, err = self.first_line_then_close(args, home, stdin)
            self.assertTrue(first, args)
            # 0 only when everything fitted in the pipe before the reader left
            self.assertIn(rc, (0, 1), (args, rc, err))
            self.assertEqual(err, "drugscan: cannot write output: Broken pipe\n" if rc else "", args)
            if args[:2] not in (["ledger", "history"], ["ledger", "stock"]):
                self.assertEqual(rc, 1, args)  # far more than a pipe holds
        shutil.rmtree(home)

    def test_counter_stops_and_says_what_it_recorded(self):
        home = self.copy_home()
        db = os.path.join(home, "ledger.db")
        con = sqlite3.connect(db)
        before = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
        rc, first, err = self.first_line_then_close(["counter", "receive", "-q", "-f", "jsonl", "--station", "B", "-"],
                                                    home, "".join(code(i) + "\n" for i in range(500, 3500)).encode())
        self.assertEqual(rc, 1, err)
        self.assertEqual(json.loads(first)["ledger"]["recorded"], True)
        m = re.match(r"^drugscan: cannot write output: Broken pipe; stopped after (\d+) codes \((\d+) recorded,"
                     r" 0 not recorded\)\n$", err)
        self.assertTrue(m, err)
        self.assertEqual(m.group(1), m.group(2))
        con = sqlite3.connect(db)
        after = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
        self.assertEqual(after - before, int(m.group(2)))  # every code said recorded is there, and no other
        self.assertLess(int(m.group(2)), 3000)
        shutil.rmtree(home)


# ---- the data folder ----

class DataFolder(World):
    def test_readers_create_nothing(self):
        # issue 12: a fresh account (no data folder yet): the ledger's readers answer, and leave no folder behind
        fresh = tempfile.mkdtemp(dir=self.tmp)
        for args in (["ledger", "history", code(1)], ["ledger", "stock"], ["ledger", "export"],
                     ["ledger", "export", "-f", "csv"], ["ledger", "sync", "--status"]):
            rc, out, err = run(args, None, HOME=fresh)
            self.assertEqual(rc, 0, (args, err))
            self.assertEqual(os.listdir(fresh), [], args)
        # the first command that needs the catalog builds it (the first run)
        rc, out, err = run(["check", code(1)], None, HOME=fresh)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.listdir(os.path.join(fresh, ".local", "share", "drugscan")), ["catalog.db"])

    def user(self):
        return as_nobody if os.getuid() == 0 else None

    def test_read_only_data_folder(self):
        writable = self.copy_home()
        ro = self.copy_home()
        reports = tempfile.mkdtemp(dir=self.tmp)
        os.chmod(reports, 0o777)
        readers = [["check", "-f", "json", code(1), code(2), "81000464033958964338"], ["check", code(2)],
                   ["scan", self.photo], ["catalog", "info"], ["catalog", "info", "-f", "json"], ["catalog", "lists"],
                   ["catalog", "search", "阿司匹林"], ["catalog", "map", "8999999"], ["catalog", "export-map"],
                   ["ledger", "history", code(1)], ["ledger", "stock"], ["ledger", "export"],
                   ["ledger", "export", "-f", "receipt"], ["ledger", "sync", "--status"]]
        want = [run(args, writable)[:2] for args in readers]
        os.chmod(ro, 0o555)
        before = tree(ro)
        try:
            for args, w in zip(readers, want):
                rc, out, err = run(args, ro, preexec=self.user())
                self.assertEqual((rc, re.sub(r" \(\d+ h \d+ min ago\)", "", out)),
                                 (w[0], re.sub(r" \(\d+ h \d+ min ago\)", "", w[1])), (args, err))
                self.assertEqual(err if rc in (0, 3) else "", "", args)
            rc, _, err = run(["audit", "-j", "1", "-o", os.path.join(reports, "r"), self.photos], ro,
                             preexec=self.user())
            self.assertEqual(rc, 3, err)
            for args in (["catalog", "map", "8999997", "--to", "XDEMO000000000000000003"], ["catalog", "map", "8999999", "--remove"],
                         ["catalog", "import", "--replace", self.bundle], ["catalog", "update", "--url", self.update_url],
                         ["counter", "sell", "-q", code(2)]):
                rc, out, err = run(args, ro, preexec=self.user())
                self.assertEqual(rc, 1, (args, out, err))
                self.assertIn("read-only", err, args)
                self.assertNotIn("damaged", err, args)
            self.assertEqual(tree(ro), before)
        finally:
            os.chmod(ro, 0o755)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FIX = os.path.abspath(sys.argv.pop(1))
    if os.getuid() == 0:
        try:
            subprocess.run(["true"], preexec_fn=as_nobody, check=True)
        except (OSError, subprocess.SubprocessError) as e:
            print("cannot drop to nobody (%s): the read-only tests run as root, who can write anywhere" % e,
                  file=sys.stderr)
    unittest.main(verbosity=1)

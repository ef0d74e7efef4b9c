#!/usr/bin/env python3
"""Faults of the ledger and the counter (issue 12): nothing lost, nothing hidden.

- I/O errors at every point, the way SQLite tests itself: drugscan-faulty (drugscan
  plus tests/faultvfs.c) fails the Nth read, write, sync, truncate or open of
  ledger.db, its -wal or its journal, for every N that a run reaches, for
  `counter receive/sell/return/undo` on a short stream and `ledger sync`. Each
  run either gives the right answers or fails with clear lines and exit 1; then,
  faults off, the ledger passes its integrity check, every answer shown as
  recorded is in it and nothing else is, and the outbox holds every event the
  receiver has not acknowledged.
- A corruption sweep of ledger.db: every command that reads it gives the right
  answer or exit 1 naming the damage, never a silent wrong answer.
- stdout on /dev/full, the file size limit, a full disk, Ctrl-C with half a line
  on a pipe, a read-only folder as a user who cannot write it.
- The numbered cases of issue 12 that are the ledger's and the counter's.

usage: test_ledger_faults.py path/to/drugscan path/to/drugscan-faulty path/to/receiver.py
"""
import concurrent.futures
import json
import os
import re
import resource
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BIN = None
FAULTY = None
RECEIVER = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
JOBS = int(os.environ.get("DRUGSCAN_FAULT_JOBS", "4"))
# every Nth fault point and damaged offset only (the sanitizer build, which is
# slower, sets 4); 1 = all
STRIDE = int(os.environ.get("DRUGSCAN_FAULT_STRIDE", "1"))
KINDS = ("read", "write", "sync", "truncate", "open")
NOBODY = 65534
# the loops run hundreds of short sessions, each committing with fsync: on a
# memory file system where there is one, so that they measure drugscan, not the disk
FAST_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def env_for(home, **extra):
    e = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=home,
             DRUGSCAN_CATALOG_SEED="demo")
    for k in ("DRUGSCAN_FAULT", "DRUGSCAN_FAULT_MATCH", "DRUGSCAN_FAULT_COUNTS"):
        e.pop(k, None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def code(i, prefix="8123456"):
    return "%s%09d%04d" % (prefix, i, 1234)


def run(args, home, stdin=None, binary=None, preexec=None, timeout=120, **envx):
    p = subprocess.run(WRAP + [binary or BIN] + list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env_for(home, **envx), preexec_fn=preexec, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def jsonl(out):
    return [json.loads(line) for line in out.splitlines()]


def uuids(db):
    con = sqlite3.connect(db)
    try:
        return {u for (u,) in con.execute("SELECT uuid FROM events")}
    finally:
        con.close()


def ledger_problems(db):
    """What is wrong with a ledger, faults off: integrity, outbox, the codes' states."""
    con = sqlite3.connect(db)
    try:
        problems = []
        ic = con.execute("PRAGMA integrity_check").fetchall()
        if ic != [("ok",)]:
            problems.append("integrity_check: %r" % ic[:3])
        missing = con.execute("SELECT count(*) FROM events WHERE seq NOT IN (SELECT seq FROM outbox)").fetchone()[0]
        if missing:
            problems.append("%d events missing from the outbox" % missing)
        bad = con.execute("SELECT c.code FROM codes c LEFT JOIN events e ON e.seq = c.last_seq"
                          " WHERE e.seq IS NULL OR e.code != c.code OR e.state_after != c.state"
                          " OR c.last_seq != (SELECT max(seq) FROM events WHERE code = c.code)").fetchall()
        if bad:
            problems.append("codes out of step with their events: %r" % bad[:3])
        return problems
    finally:
        con.close()


def clear_lines(err):
    """stderr lines that are not clear diagnostics."""
    return [l for l in err.splitlines() if not l.startswith("drugscan: ") or "(null)" in l or l.endswith(": ")]


class Receiver:
    def __init__(self, db):
        self.db = db
        self.proc = subprocess.Popen([sys.executable, RECEIVER, db], stdout=subprocess.PIPE)
        self.port = int(self.proc.stdout.readline().split()[-1])
        self.url = "http://127.0.0.1:%d/" % self.port

    def control(self, mode, count=None):
        req = urllib.request.Request(self.url + "control", json.dumps({"mode": mode, "count": count}).encode())
        urllib.request.urlopen(req).read()

    def stored(self):
        con = sqlite3.connect(self.db, timeout=30)
        try:
            return {u for (u,) in con.execute("SELECT uuid FROM events")}
        finally:
            con.close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.proc.stdout.close()


# ---- I/O faults at every point ----

STREAMS = {
    # action: (what the ledger holds before, the stream of five codes)
    "receive": ([("receive", [code(1), code(2)])], [code(3), code(4), code(1), code(5), code(6)]),
    "sell": ([("receive", [code(1), code(2), code(3), code(4)])], [code(1), code(2), code(1), code(5), code(3)]),
    "return": ([("receive", [code(1), code(2), code(3)]), ("sell", [code(1), code(2), code(3)])],
               [code(1), code(2), code(4), code(3), code(1)]),
    "undo": ([("receive", [code(1), code(2), code(3)]), ("sell", [code(1), code(2)])],
             [code(1), code(2), code(3), code(1), code(4)]),
}


def counts_of(path):
    c = {}
    with open(path) as f:
        for line in f:
            k, n = line.split()
            c[k] = int(n)
    return c


def fault_specs(counts, every_full):
    """Each I/O point failed once with an I/O error; writes also as a full disk (at
    every point, or at every fourth, where the other actions have covered the rest)."""
    specs = ["%s:%d" % (k, n) for k in KINDS for n in range(1, counts[k] + 1)]
    specs += ["write:%d:full" % n for n in range(1, counts["write"] + 1) if every_full or n % 4 == 1]
    return specs[::STRIDE]


def answer_key(a):
    l = a["ledger"]
    return (l["state_before"], l["state_after"], l["outcome"], l["refused"])


class IOFaults(unittest.TestCase):
    """Every read, write, sync, truncate and open of the ledger's files fails once, in turn."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="drugscan-iofault-", dir=FAST_TMP)
        cls.home = os.path.join(cls.tmp, "home")
        os.mkdir(cls.home)
        run(["check", code(1)], cls.home)  # builds catalog.db once
        cls.stats = []

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)
        for line in cls.stats:
            print("  " + line, file=sys.stderr)

    def base(self, action):
        path = os.path.join(self.tmp, "base-%s.db" % action)
        for act, codes in STREAMS[action][0]:
            rc, _, err = run(["counter", act, "-q", "--station", "A", "--ledger", path] + codes, self.home)
            self.assertIn(rc, (0, 3), err)
        return path

    def faulty(self, args, d, spec, stdin=None):
        env = {"DRUGSCAN_FAULT_MATCH": os.path.join(d, "ledger.db"), "DRUGSCAN_FAULT_COUNTS": os.path.join(d, "counts")}
        if spec:
            env["DRUGSCAN_FAULT"] = spec
        rc, out, err = run(args, self.home, stdin=stdin, binary=FAULTY, **env)
        return rc, out, err, counts_of(os.path.join(d, "counts"))

    def counter_run(self, action, base, spec):
        d = tempfile.mkdtemp(dir=self.tmp)
        db = os.path.join(d, "ledger.db")
        shutil.copy(base, db)
        stream = ("\n".join(STREAMS[action][1]) + "\n").encode()
        rc, out, err, counts = self.faulty(["counter", action, "-q", "-f", "jsonl", "--station", "A", "--ledger", db, "-"],
                                           d, spec, stdin=stream)
        return d, db, rc, out, err, counts

    def check_counter_run(self, action, base, before, ref, spec):
        """None when the run with this fault behaved, else what went wrong."""
        d, db, rc, out, err, counts = self.counter_run(action, base, spec)
        where = "counter %s, fault %s" % (action, spec)
        try:
            try:
                answers = jsonl(out)
            except ValueError:
                return "%s: stdout is not JSON lines: %r" % (where, out[:200])
            new = uuids(db) - before
            problems = ledger_problems(db)
            shown = {a["ledger"]["event_id"] for a in answers if a["ledger"].get("recorded") is True}
            unconfirmed = sum(1 for a in answers if "recorded" in a["ledger"] and a["ledger"]["recorded"] is None)
            if not shown <= new:
                problems.append("answers shown as recorded are missing from the ledger: %r" % (shown - new))
            if len(new - shown) > unconfirmed:
                problems.append("events in the ledger that were shown as NOT recorded: %r" % (new - shown))
            if rc == ref[0] and [answer_key(a) if a["ledger"].get("recorded") else None for a in answers] == ref[1]:
                pass  # the right answers
            elif rc != 1:
                problems.append("exit %d after a fault (answers %r)" % (rc, [a["ledger"] for a in answers]))
            else:
                if not err.strip() or clear_lines(err):
                    problems.append("unclear stderr: %r" % err)
                if answers and len(answers) != len(STREAMS[action][1]):
                    problems.append("%d answers for %d lines" % (len(answers), len(STREAMS[action][1])))
                if not answers and len(err.splitlines()) != 1:
                    problems.append("no answers and not one line: %r" % err)
                if any(a["ledger"].get("recorded") is False and not a["ledger"].get("error") for a in answers):
                    problems.append("NOT recorded without a reason")
            return "%s: %s" % (where, "; ".join(problems)) if problems else None
        finally:
            shutil.rmtree(d)

    def sweep_counter(self, action):
        base = self.base(action)
        before = uuids(base)
        d, db, rc, out, err, counts = self.counter_run(action, base, None)
        shutil.rmtree(d)
        ref = (rc, [answer_key(a) for a in jsonl(out)])
        self.assertEqual(len(ref[1]), 5, err)
        specs = fault_specs(counts, every_full=action == "sell")
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
            problems = [p for p in ex.map(lambda s: self.check_counter_run(action, base, before, ref, s), specs) if p]
        self.stats.append("counter %-7s: %s = %d I/O points: %d runs in %.1f s"
                          % (action, ", ".join("%d %s" % (counts[k], k) for k in KINDS), sum(counts[k] for k in KINDS),
                             len(specs), time.time() - t0))
        self.assertEqual(problems, [])

    def test_counter_receive(self):
        self.sweep_counter("receive")

    def test_counter_sell(self):
        self.sweep_counter("sell")

    def test_counter_return(self):
        self.sweep_counter("return")

    def test_counter_undo(self):
        self.sweep_counter("undo")

    def test_sync(self):
        base = os.path.join(self.tmp, "base-sync.db")
        rc, _, err = run(["counter", "receive", "-q", "--station", "A", "--ledger", base] + [code(i) for i in range(6)],
                         self.home)
        self.assertEqual(rc, 0, err)
        rx = Receiver(os.path.join(self.tmp, "receiver.db"))

        def one(spec):
            d = tempfile.mkdtemp(dir=self.tmp)
            db = os.path.join(d, "ledger.db")
            shutil.copy(base, db)
            try:
                rc, out, err, counts = self.faulty(["ledger", "sync", "--url", rx.url, "--batch", "2", "--ledger", db],
                                                   d, spec)
                problems = ledger_problems(db)
                con = sqlite3.connect(db)
                acked = {u for (u,) in con.execute("SELECT uuid FROM events JOIN outbox USING (seq)"
                                                   " WHERE acked_ms IS NOT NULL")}
                queued = con.execute("SELECT count(*) FROM outbox WHERE acked_ms IS NULL").fetchone()[0]
                con.close()
                if not acked <= rx.stored():
                    problems.append("marked as sent but not at the receiver: %r" % (acked - rx.stored()))
                if rc == 0:
                    if out != "sent 6 events, 6 acknowledged, 0 still queued\n" or queued:
                        problems.append("exit 0 with %r, %d queued" % (out, queued))
                else:
                    lines = err.splitlines()
                    m = re.match(r"drugscan: sync: .*; (\d+) events? still queued, run sync again$", lines[-1] if lines else "")
                    if rc != 1 or len(lines) != 1 or clear_lines(err):
                        problems.append("exit %d, stderr %r" % (rc, err))
                    elif m and int(m.group(1)) != queued:
                        problems.append("said %s still queued, %d are" % (m.group(1), queued))
                    elif not m and lines[0].startswith("drugscan: sync:"):
                        problems.append("no queue count: %r" % lines[0])
                return counts, ("sync, fault %s: %s" % (spec, "; ".join(problems)) if problems else None)
            finally:
                shutil.rmtree(d)

        try:
            counts, problem = one(None)
            self.assertIsNone(problem)
            specs = fault_specs(counts, every_full=True)
            t0 = time.time()
            with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
                problems = [p for _, p in ex.map(one, specs) if p]
        finally:
            rx.stop()
        self.stats.append("ledger sync    : %s = %d I/O points: %d runs in %.1f s"
                          % (", ".join("%d %s" % (counts[k], k) for k in KINDS), sum(counts[k] for k in KINDS),
                             len(specs), time.time() - t0))
        self.assertEqual(problems, [])

    def test_syncs_that_keep_failing(self):
        # every fsync from the 2nd on fails: a commit whose frames reached the WAL comes back
        # when the ledger is re-read, so it is answered as recorded (and the run ends in 1)
        base = self.base("sell")
        before = uuids(base)
        for spec in ("sync:1+", "sync:2+", "write:20+"):
            d, db, rc, out, err, counts = self.counter_run("sell", base, spec)
            try:
                answers = jsonl(out)
                self.assertEqual((rc, len(answers)), (1, 5), (spec, err))
                self.assertEqual(clear_lines(err), [])
                shown = {a["ledger"]["event_id"] for a in answers if a["ledger"].get("recorded")}
                self.assertEqual(uuids(db) - before, shown, spec)
                self.assertEqual(ledger_problems(db), [], spec)
            finally:
                shutil.rmtree(d)

    def test_a_full_disk_from_then_on(self):
        # every write from the 30th on fails as a full disk: the rest of the stream is answered NOT recorded
        base = self.base("sell")
        before = uuids(base)
        d, db, rc, out, err, counts = self.counter_run("sell", base, "write:30+:full")
        try:
            answers = jsonl(out)
            self.assertEqual(rc, 1)
            self.assertEqual(len(answers), 5)
            lost = [a for a in answers if a["ledger"].get("recorded") is False]
            self.assertTrue(lost)
            for a in lost:
                self.assertEqual(a["ledger"]["fault"], "disk_full")
                self.assertIn("the disk is full", a["ledger"]["error"])
            self.assertIn("%d not recorded" % len(lost), err)
            shown = {a["ledger"]["event_id"] for a in answers if a["ledger"].get("recorded")}
            self.assertEqual(uuids(db) - before, shown)
            self.assertEqual(ledger_problems(db), [])
        finally:
            shutil.rmtree(d)



# ---- damaged files ----

def overwrite(path, offset, size, byte=b"\xaa"):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(byte * size)


def without_age(out):
    return re.sub(r" \(\d+ h \d+ min ago\)", "", out)


class Damage(unittest.TestCase):
    """Overwrite a block of ledger.db and run every command that reads it: the right
    answer, or exit 1 naming the damage; never a silent wrong answer."""

    READERS = [["ledger", "history", code(1)], ["ledger", "history", "-f", "jsonl", code(35)],
               ["ledger", "stock", "-f", "jsonl"], ["ledger", "export", "-f", "jsonl"], ["ledger", "sync", "--status"]]
    SCAN = ["counter", "scan", "-q", "-f", "jsonl", "--station", "A", code(2), code(30), code(99)]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="drugscan-damage-", dir=FAST_TMP)
        cls.home = os.path.join(cls.tmp, "home")
        os.mkdir(cls.home)
        cls.db = os.path.join(cls.tmp, "pristine.db")
        for args in (["receive"] + [code(i) for i in range(40)], ["sell"] + [code(i) for i in range(15)],
                     ["return", code(0), code(1), code(2)], ["scan", code(20), code(21), code(21)],
                     ["sell", "--split", "--qty", "2", code(35)]):
            rc, _, err = run(["counter", args[0], "-q", "--station", "A", "--ledger", cls.db] + args[1:], cls.home)
            assert rc in (0, 3), err
        cls.ref = [cls.read(cls.db, args) for args in cls.READERS]
        cls.scan_ref = cls.scan(cls.db)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    @classmethod
    def read(cls, db, args):
        rc, out, err = run(args + ["--ledger", db], cls.home)
        return rc, without_age(out), err

    @classmethod
    def scan(cls, db):
        work = db + ".scan"
        shutil.copy(db, work)
        try:
            rc, out, err = run(cls.SCAN + ["--ledger", work], cls.home)
            return rc, [answer_key(a) if a.get("ledger") else None for a in jsonl(out)] if rc != 1 else None, err
        finally:
            for sfx in ("", "-wal", "-shm"):
                if os.path.exists(work + sfx):
                    os.unlink(work + sfx)

    def damaged_at(self, offset, size):
        d = tempfile.mkdtemp(dir=self.tmp)
        db = os.path.join(d, "ledger.db")
        shutil.copy(self.db, db)
        overwrite(db, offset, size)
        with open(db, "rb") as f:
            before = f.read()
        problems, caught = [], 0
        try:
            for args, ref in zip(self.READERS, self.ref):
                rc, out, err = self.read(db, args)
                if rc == 1 and len(err.splitlines()) == 1 and " is damaged: " in err and err.rstrip().endswith("left untouched"):
                    caught += 1
                elif (rc, out) != ref[:2]:
                    problems.append("%s: exit %d, %r (undamaged: exit %d)" % (" ".join(args[:2]), rc, out[:120], ref[0]))
            rc, answers, err = self.scan(db)
            if rc == 1 and " is damaged: " in err:
                caught += 1
            elif (rc, answers) != self.scan_ref[:2]:
                problems.append("counter scan: exit %d, %r" % (rc, answers))
            with open(db, "rb") as f:
                if f.read() != before:
                    problems.append("the damaged ledger was written to")
            return caught, ("offset %d (%d bytes): %s" % (offset, size, "; ".join(problems)) if problems else None)
        finally:
            shutil.rmtree(d)

    def test_sweep(self):
        size = os.path.getsize(self.db)
        self.assertGreater(size, 40 * 1024)
        block = 1024
        offsets = [i * (size - block) // 47 for i in range(48)][::STRIDE]
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
            results = list(ex.map(lambda o: self.damaged_at(o, block), offsets))
        caught = sum(c for c, _ in results)
        print("\n  corruption sweep: %d offsets over a %d-byte ledger, %d-byte blocks: %d of %d reads named the damage,"
              " the rest gave the undamaged answer (%.1f s)" % (len(offsets), size, block, caught,
                                                                 len(offsets) * (len(self.READERS) + 1), time.time() - t0),
              file=sys.stderr)
        self.assertEqual([p for _, p in results if p], [])
        self.assertGreater(caught, len(offsets))

    def test_small_blocks(self):
        # a few bytes inside a page: the integrity check or a query meets them
        size = os.path.getsize(self.db)
        offsets = [i * (size - 16) // 23 + 37 for i in range(23)][::STRIDE]
        with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
            results = list(ex.map(lambda o: self.damaged_at(o, 16), offsets))
        self.assertEqual([p for _, p in results if p], [])

    def test_the_case_of_the_issue(self):
        # issue 12, case 1: 3,000 bytes at offset 12,000 after 50 receives
        home = os.path.join(self.tmp, "case1")
        os.mkdir(home)
        shutil.copy(os.path.join(self.home, "catalog.db"), home)
        rc, _, _ = run(["counter", "receive", "-q", "--station", "A"] + [code(i, "8234567") for i in range(50)], home)
        self.assertEqual(rc, 0)
        db = os.path.join(home, "ledger.db")
        overwrite(db, 12000, 3000)
        with open(db, "rb") as f:
            before = f.read()
        for args in (["ledger", "history", code(3, "8234567")], ["ledger", "stock"], ["ledger", "export"],
                     ["ledger", "sync", "--status"], ["ledger", "sync", "--url", "http://127.0.0.1:9/"],
                     ["counter", "sell", "-q", code(4, "8234567")]):
            rc, out, err = run(args, home)
            self.assertEqual(rc, 1, args)
            self.assertEqual(out, "", args)
            self.assertEqual(len(err.splitlines()), 1, (args, err))
            self.assertRegex(err, r"^drugscan: ledger '.*ledger\.db' is damaged: .+; left untouched\n$")
            self.assertNotIn("not a drugscan ledger", err)
        with open(db, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_header_overwritten_is_damage_not_a_foreign_file(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        try:
            db = os.path.join(d, "ledger.db")
            for offset, size in ((0, 100), (0, 3000), (60, 4), (68, 4)):
                shutil.copy(self.db, db)
                overwrite(db, offset, size)
                rc, out, err = run(["ledger", "stock", "--ledger", db], self.home)
                self.assertEqual(rc, 1, (offset, size))
                self.assertIn(" is damaged: ", err, (offset, size))
        finally:
            shutil.rmtree(d)



# ---- output, limits, interrupts, permissions ----

class Session(unittest.TestCase):
    """A data folder with a catalog and a small ledger: 3 received, 2 of them sold."""

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="drugscan-fault-")
        os.chmod(self.home, 0o755)
        rc, _, err = run(["counter", "receive", "-q", "--station", "A", code(1), code(2), code(3)], self.home)
        self.assertEqual(rc, 0, err)
        rc, _, err = run(["counter", "sell", "-q", "--station", "A", code(1), code(2)], self.home)
        self.assertEqual(rc, 0, err)
        self.db = os.path.join(self.home, "ledger.db")

    def tearDown(self):
        for root, dirs, _ in os.walk(self.home):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        os.chmod(self.home, 0o755)
        shutil.rmtree(self.home)


class Output(Session):
    def test_stdout_on_a_full_disk(self):
        # issue 12, case 6: every ledger subcommand and the counter, > /dev/full: exit 1, one line
        for args in (["ledger", "history", code(1)], ["ledger", "history", "-f", "jsonl", code(1)], ["ledger", "stock"],
                     ["ledger", "export"], ["ledger", "export", "-f", "csv"], ["ledger", "export", "-f", "receipt"],
                     ["ledger", "sync", "--status"], ["counter", "scan", "-q", code(3)],
                     ["counter", "receive", "-q", "-f", "jsonl", code(7)]):
            with open("/dev/full", "w") as full:
                p = subprocess.run(WRAP + [BIN] + args, stdout=full, stderr=subprocess.PIPE, env=env_for(self.home),
                                   timeout=60)
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 1, (args, err))
            self.assertEqual(len(err.splitlines()), 1, (args, err))
            self.assertIn("cannot write output: No space left on device", err, args)

    def test_counter_stops_when_its_answers_cannot_be_shown(self):
        before = uuids(self.db)
        with open("/dev/full", "w") as full:
            p = subprocess.run(WRAP + [BIN, "counter", "receive", "-q", "-"], stdout=full, stderr=subprocess.PIPE,
                               input=("\n".join(code(i) for i in range(10, 15)) + "\n").encode(),
                               env=env_for(self.home), timeout=60)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1)
        self.assertEqual(err, "drugscan: cannot write output: No space left on device;"
                              " stopped after 1 code (1 recorded, 0 not recorded)\n")
        self.assertEqual(len(uuids(self.db) - before), 1)  # the one whose answer failed, and no more


class Limits(Session):
    def test_file_size_limit(self):
        # issue 12, case 5: `ulimit -f` and a first run: no SIGXFSZ death, EFBIG named, every line answered
        home = tempfile.mkdtemp(prefix="drugscan-fsize-")
        limit = 160 * 1024
        try:
            p = subprocess.run(WRAP + [BIN, "counter", "sell", "-q", "-f", "jsonl", "--station", "A", "-"],
                               input=("\n".join(code(i) for i in range(60)) + "\n").encode(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env_for(home), timeout=120,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 1, err)
            answers = jsonl(p.stdout.decode())
            self.assertEqual(len(answers), 60)
            lost = [a for a in answers if a["ledger"].get("recorded") is False]
            self.assertTrue(lost, err)
            self.assertEqual({a["ledger"]["fault"] for a in lost}, {"file_size_limit"})
            self.assertIn("the file size limit (ulimit -f) was reached", err)
            self.assertIn("the counter works without drug names and labels", err)  # the catalog did not fit
            self.assertIn("%d not recorded" % len(lost), err.splitlines()[-1])
            self.assertEqual([f for f in os.listdir(home) if ".new-" in f or f.endswith("-journal")], [])
            shown = {a["ledger"]["event_id"] for a in answers if a["ledger"].get("recorded")}
            db = os.path.join(home, "ledger.db")
            self.assertEqual(uuids(db), shown)
            self.assertEqual(ledger_problems(db), [])
        finally:
            shutil.rmtree(home)

    def test_stale_first_run_files_are_removed(self):
        home = tempfile.mkdtemp(prefix="drugscan-stale-")
        dead = 4194000
        while dead > 1000:
            try:
                os.kill(dead, 0)
                dead -= 1
            except ProcessLookupError:
                break
        try:
            stale = ["catalog.db.new-%d" % dead, "catalog.db.new-%d-journal" % dead]
            alive = ["catalog.db.new-%d" % os.getpid()]
            for f in stale + alive:
                with open(os.path.join(home, f), "w") as fh:
                    fh.write("half a catalog")
            rc, _, err = run(["counter", "scan", "-q", code(1)], home)
            self.assertEqual(rc, 0, err)
            left = sorted(f for f in os.listdir(home) if ".new-" in f)
            self.assertEqual(left, alive)  # a build that may still be running is left alone
        finally:
            shutil.rmtree(home)

    def test_a_really_full_disk(self):
        # a small file system filled up: ENOSPC from SQLite's writes and from creating -shm
        mnt = tempfile.mkdtemp(prefix="drugscan-full-")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", mnt], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            os.rmdir(mnt)
            self.skipTest("cannot mount a small file system to fill (%s)" % p.stderr.decode().strip())
        try:
            db = os.path.join(mnt, "ledger.db")
            shutil.copy(self.db, db)
            before = uuids(db)
            rc, out, err = run(["counter", "receive", "-q", "-f", "jsonl", "--ledger", db, "-"], self.home,
                               stdin=("\n".join(code(i) for i in range(100, 400)) + "\n").encode())
            answers = jsonl(out)
            self.assertEqual(rc, 1, err)
            self.assertEqual(len(answers), 300)
            lost = [a for a in answers if a["ledger"].get("recorded") is False]
            self.assertTrue(lost)
            self.assertEqual({a["ledger"]["fault"] for a in lost}, {"disk_full"})
            self.assertIn("the disk is full", err)
            shown = {a["ledger"]["event_id"] for a in answers if a["ledger"].get("recorded")}
            self.assertEqual(uuids(db) - before, shown)
            self.assertEqual(ledger_problems(db), [])
            # fill what is left: reading still works, the counter names the cause
            stock = run(["ledger", "stock", "--ledger", db], self.home)
            self.assertEqual(stock[0], 0, stock[2])
            try:
                with open(os.path.join(mnt, "filler"), "wb") as f:
                    while True:
                        f.write(b"\0" * 4096)
                        f.flush()
            except OSError:
                pass
            self.assertEqual(run(["ledger", "stock", "--ledger", db], self.home)[:2], stock[:2])
            rc, out, err = run(["ledger", "sync", "--status", "--ledger", db], self.home)
            self.assertEqual(rc, 0, err)
            self.assertIn("queued %d events" % len(uuids(db)), out)
            rc, out, err = run(["counter", "sell", "-q", "--ledger", db, code(100)], self.home)
            self.assertEqual(rc, 1)
            self.assertIn("NOT recorded", out)
            self.assertIn("disk is full", out + err)
            self.assertNotIn("not a drugscan ledger", err)
        finally:
            subprocess.run(["umount", mnt])
            os.rmdir(mnt)


class Interrupt(Session):
    def test_ctrl_c_does_not_complete_half_a_line(self):
        # issue 12, case 7: the interrupt, and the pipe's end right after it; only a clean EOF completes a line
        for i in range(12):
            p = subprocess.Popen(WRAP + [BIN, "counter", "sell", "-q", "-f", "jsonl", "--station", "A", "-"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env_for(self.home))
            p.stdin.write((code(200 + i) + "\n").encode())
            p.stdin.flush()
            self.assertTrue(p.stdout.readline())  # it has answered, and waits for the next line
            p.stdin.write(b"]d2010690123456789221PART%d" % i)
            p.stdin.flush()
            time.sleep(0.05)
            p.send_signal(signal.SIGINT)
            p.stdin.close()
            out, err = p.stdout.read(), p.stderr.read()
            p.wait(timeout=60)
            p.stdout.close()
            p.stderr.close()
            self.assertEqual(out, b"", err)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn(b"1 code this session", err)
        con = sqlite3.connect(self.db)
        parts = con.execute("SELECT count(*) FROM events WHERE code LIKE '%PART%'").fetchone()[0]
        con.close()
        self.assertEqual(parts, 0)

    def test_eof_still_completes_the_last_line(self):
        rc, out, err = run(["counter", "sell", "-q", "-f", "jsonl", "--station", "A", "-"], self.home,
                           stdin=b"]d2010690123456789221WHOLE")
        self.assertEqual(rc, 0, err)
        self.assertEqual(jsonl(out)[0]["ledger"]["state_after"], "sold")


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


class ReadOnly(Session):
    """Issue 12, cases 3 and 4: a read-only folder or ledger.db, as a user who cannot write it
    (the tests run as root: they drop to nobody; as another user the permissions apply anyway)."""

    def user(self):
        return as_nobody if os.getuid() == 0 else None

    def test_read_only_folder(self):
        readers = [["ledger", "history", code(1)], ["ledger", "history", "-f", "jsonl", code(2)],
                   ["ledger", "stock"], ["ledger", "export"], ["ledger", "export", "-f", "csv"],
                   ["ledger", "sync", "--status"]]
        ref = [run(args, self.home)[:2] for args in readers]
        before = uuids(self.db)
        os.chmod(self.home, 0o555)
        for args, want in zip(readers, ref):
            rc, out, err = run(args, self.home, preexec=self.user())
            self.assertEqual((rc, without_age(out)), (0, without_age(want[1])), (args, err))
            self.assertNotIn("not a drugscan ledger", err)
        rc, out, err = run(["counter", "sell", "-f", "jsonl", "--station", "A", code(3)], self.home, preexec=self.user())
        self.assertEqual(rc, 1)
        answer = jsonl(out)[0]
        self.assertEqual((answer["ledger"]["recorded"], answer["ledger"]["fault"]), (False, "read_only"))
        self.assertIn("is read-only", answer["ledger"]["error"])
        self.assertIn("\a\a\a", err)
        self.assertIn("1 not recorded", err)
        self.assertNotIn("not a drugscan ledger", err)
        rc, out, err = run(["ledger", "sync", "--url", "http://127.0.0.1:9/"], self.home, preexec=self.user())
        self.assertEqual(rc, 1)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("is read-only", err)
        self.assertIn("5 events still queued", err)
        self.assertEqual(uuids(self.db), before)
        self.assertEqual(sorted(os.listdir(self.home)), ["catalog.db", "ledger.db"])

    def test_read_only_ledger_file(self):
        # case 4: the folder can be written, ledger.db cannot: every code answered NOT recorded, and why
        os.chmod(self.home, 0o777)
        os.chmod(self.db, 0o644)
        before = uuids(self.db)
        rc, out, err = run(["counter", "sell", "-q", "--station", "A", "-"], self.home, preexec=self.user(),
                           stdin=("%s\n%s\nhello\n" % (code(3), code(4))).encode())
        self.assertEqual(rc, 1, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 3, out)
        for line in lines[:2]:
            self.assertRegex(line, r"^\u2717 sell 8123456\d{13}  .*  NOT recorded: ledger '.*' is read-only: .+")
        self.assertIn("3 codes this session, 0 ok, 0 warn, 0 alert, 1 not a trace code, 2 not recorded", err)
        self.assertEqual(len([l for l in err.splitlines() if "read-only" in l]), 1, err)  # said once
        self.assertEqual(uuids(self.db), before)
        rc, out, err = run(["counter", "sell", "-q", "--lang", "zh", "--station", "A", code(3)], self.home,
                           preexec=self.user())
        self.assertIn("未记录：账本只读", out)



# ---- the other numbered cases of issue 12 ----

class Cases(Session):
    def test_8_control_bytes_are_not_sent_to_the_terminal(self):
        stream = b"\x1b]0;x\x07\x1b[2J81234567890123456789\n]d2010690123456789221AB\x1dXY\x1b[2J\n" + code(3).encode() + b"\n"
        rc, out, err = run(["counter", "receive", "-q", "--station", "A", "-"], self.home, stdin=stream)
        for ch in "\x1b\x07\x1d":
            self.assertNotIn(ch, out)
        self.assertIn("\\x1b]0;x\\x07\\x1b[2J81234567890123456789", out)
        self.assertIn("<GS>", out)
        rc, out, err = run(["counter", "receive", "-q", "-f", "jsonl", "--station", "A", "-"], self.home, stdin=stream)
        self.assertIn("\\u001B", out)  # JSON escapes them its own way
        self.assertNotIn("\x1b", out)

    def test_9_since_is_a_real_date_or_milliseconds(self):
        for since in ("20261130", "2026-13-45", "2026-00-00", "2026-02-30", "1969-12-31", "1780300800", "-5", "2026-6-1"):
            rc, out, err = run(["ledger", "export", "--since", since], self.home)
            self.assertEqual((rc, out), (2, ""), since)
            self.assertIn("--since", err)
        rc, out, err = run(["ledger", "export", "--since", "20261130"], self.home)
        self.assertIn("2026-11-30", err)  # says how to write it
        for since, rows in (("2026-01-01", 2), ("9999-12-31", 0), ("0", 2), ("1780300800000", 2),
                            ("4102444800000", 0)):
            rc, out, err = run(["ledger", "export", "--since", since], self.home)
            self.assertEqual((rc, len(out.splitlines())), (0, rows), (since, err))

    def test_10_a_bad_setting_is_told_and_the_default_used(self):
        now = int(time.time() * 1000)
        for bad in ("abc", "-1", "", "10 days"):
            con = sqlite3.connect(self.db)
            con.execute("UPDATE settings SET value = ? WHERE key = 'undo_days'", (bad,))
            con.commit()
            con.close()
            c = code(50 + len(bad))
            run(["counter", "sell", "-q", "--station", "A", c], self.home, DRUGSCAN_NOW_MS=now)
            rc, out, err = run(["counter", "undo", "-q", "-f", "jsonl", "--station", "A", c, c], self.home,
                               DRUGSCAN_NOW_MS=now + 11 * 86400000)
            notes = [l for l in err.splitlines() if "undo_days" in l]
            self.assertEqual(len(notes), 1, err)
            self.assertIn("setting undo_days = '%s' is not a whole number from 0 to 3650; using 10" % bad, notes[0])
            answer = jsonl(out)[0]
            self.assertTrue(answer["ledger"]["refused"])
            self.assertIn("more than 10 days ago", [l["text"] for l in answer["labels"] if l["id"] == "ledger.undo_refused"][0])

    def test_11_history_of_what_is_not_a_code(self):
        for arg in ("hello", "6901234567892", "(01)06901234567892"):
            rc, out, err = run(["ledger", "history", arg], self.home)
            self.assertEqual((rc, out), (4, ""), arg)
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertIn("not the trace code of one box", err)
        rc, out, err = run(["ledger", "history", code(77)], self.home)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "no events for this code (%s): never scanned here\n" % code(77))
        rc, out, err = run(["ledger", "history", "-f", "jsonl", code(77)], self.home)
        self.assertEqual((rc, out, err), (0, "", ""))

    def test_12_sync_reports_its_retries_and_counts_events(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        t0 = time.time()
        rc, out, err = run(["ledger", "sync", "--url", "http://127.0.0.1:%d/" % port, "--attempts", "3"], self.home)
        lines = err.splitlines()
        self.assertEqual(rc, 1)
        self.assertEqual(len(lines), 3, err)
        for i, line in enumerate(lines[:2]):
            self.assertRegex(line, r"^drugscan: sync: http://127\.0\.0\.1:\d+/: .+; retry %d of 2 in \d+\.\d s$" % (i + 1))
        self.assertRegex(lines[2], r"; 5 events still queued, run sync again$")
        self.assertLess(time.time() - t0, 10)
        rx = Receiver(os.path.join(self.home, "receiver.db"))
        try:
            rx.control("500", 2)
            rc, out, err = run(["ledger", "sync", "--url", rx.url, "--batch", "2"], self.home)
            self.assertEqual((rc, out), (0, "sent 5 events, 5 acknowledged, 0 still queued\n"), err)
            self.assertEqual(len(err.splitlines()), 2, err)  # two failed tries, each told as it happened
            self.assertIn("HTTP 500; retry 1 of 7 in ", err)
        finally:
            rx.stop()
        rc, out, err = run(["ledger", "sync", "--url", "http://127.0.0.1:9/", "--attempts", "0"], self.home)
        self.assertEqual(rc, 2)

    def test_13_the_summary_adds_up(self):
        stream = (code(1) + "\n" + "9" * 9000 + "\nhello\n\n" + code(60) + "\n").encode()
        rc, out, err = run(["counter", "scan", "-q", "--station", "A", "-"], self.home, stdin=stream)
        self.assertIn("drugscan: 4 codes this session, 1 ok, 0 warn, 1 alert, 2 not a trace code, 0 not recorded\n", err)
        rc, out, err = run(["counter", "scan", "-q", "--station", "A", code(61)], self.home)
        self.assertIn("drugscan: 1 code this session, 1 ok,", err)
        rc, out, err = run(["counter", "scan", "-q", "--lang", "zh", "--station", "A", "-"], self.home, stdin=stream)
        self.assertIn("本次 4 个码，0 正常，1 注意，1 警报，2 无法识别，0 未记录", err)  # code(60) seen once before

    def test_14_station_names(self):
        before = uuids(self.db)
        for opt, value in (("--station", ""), ("--station", "A\nB"), ("--station", "A\rB"), ("--station", "\x1b[2J"),
                           ("--station", "x" * 65), ("--operator", "王\n药师"), ("--note", "a\x07")):
            rc, out, err = run(["counter", "sell", "-q", opt, value, code(3)], self.home)
            self.assertEqual((rc, out), (2, ""), (opt, value))
            self.assertIn(opt, err)
        rc, out, err = run(["counter", "scan", "-q", "--station", "收银台 2", "--operator", "王药师", code(3)], self.home)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(uuids(self.db) - before), 1)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FAULTY = os.path.abspath(sys.argv.pop(1))
    RECEIVER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)

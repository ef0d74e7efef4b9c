#!/usr/bin/env python3
"""The chain ledger against a real PostgreSQL server: a throwaway cluster
(initdb and pg_ctl of Debian's postgresql-15, as an unprivileged user, in a
temporary folder, on a free port of 127.0.0.1), stopped at the end.

Two stores selling the same boxes at once, a counter killed mid-stream, the
server stopped (and hung) mid-stream, boxes sold offline in two stores, and
the errors that must be one clear line: a wrong password, an unreachable host,
a newer schema, a read-only role.

usage: test_chain.py path/to/drugscan
"""
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from pgcluster import PgCluster, pg_bin  # noqa: E402

BIN = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
CLUSTER = None


def children(pid):
    """the processes whose parent is pid (the server's backends), from /proc"""
    out = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out


def code(i, prefix="8700001"):
    return "%s%09d%04d" % (prefix, i, 1234)


class Chain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = tempfile.mkdtemp(prefix="drugscan-chain-")
        cls.url = CLUSTER.url()
        rc, out, err = cls.run_cli(cls, ["ledger", "init", "--ledger", cls.url, "--data-dir", cls.dir(cls, "init")])
        assert rc == 0, err
        assert "ready" in out, out

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.home, ignore_errors=True)

    def dir(self, name):
        return os.path.join(self.home, name)

    def env(self):
        return dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01",
                    DRUGSCAN_HOME=self.home, DRUGSCAN_CATALOG_SEED="demo", TZ="UTC")

    def run_cli(self, args, stdin=None, timeout=120):
        p = subprocess.run(WRAP + [BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=Chain.env(self), timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def counter_args(self, store, action="sell", url=None, extra=()):
        return WRAP + [BIN, "counter", action, "-q", "-f", "jsonl", "--ledger", url or self.url, "--store", store,
                       "--station", store + "-1", "--data-dir", self.dir(store)] + list(extra) + ["-"]

    def sell(self, store, codes, url=None, extra=()):
        rc, out, err = self.run_cli(self.counter_args(store, url=url, extra=extra)[len(WRAP) + 1:],
                                    stdin="".join(c + "\n" for c in codes).encode())
        return rc, [json.loads(l) for l in out.splitlines()], err

    def ids(self, a):
        return [l["id"] for l in a["labels"] if l["id"].startswith("ledger.")]

    def sales(self, codes):
        """unit key -> stores of its effective sales in the chain ledger"""
        rows = CLUSTER.psql("SELECT unit_key, store FROM drugscan_events WHERE action = 'sell' AND refused = 0"
                            " AND unit_key IN (%s)" % ",".join("'%s'" % c for c in codes))
        got = {}
        for r in rows:
            k, s = r.split("|")
            got.setdefault(k, []).append(s)
        return got

    def in_db(self, uuids):
        rows = set()
        uuids = list(uuids)
        for i in range(0, len(uuids), 500):
            rows |= set(CLUSTER.psql("SELECT uuid FROM drugscan_events WHERE uuid IN (%s)"
                                     % ",".join("'%s'" % u for u in uuids[i:i + 500])))
        return rows

    # ---- two stores at once ----

    def test_two_stores_sell_the_same_boxes_once(self):
        shared = [code(i) for i in range(0, 1000)]
        only_a = [code(i) for i in range(1000, 1500)]
        only_b = [code(i) for i in range(1500, 2000)]
        results = {}

        def store(name, codes):
            # a long timeout: this is about the row lock, and a loaded test machine must not go offline
            results[name] = self.sell(name, codes, extra=["--ledger-timeout", "10"])

        ta = threading.Thread(target=store, args=("A", [x for p in zip(shared[:500], only_a) for x in p] + shared[500:]))
        tb = threading.Thread(target=store, args=("B", [x for p in zip(shared[:500], only_b) for x in p] + shared[500:]))
        ta.start()
        tb.start()
        ta.join()
        tb.join()
        answers = {}
        for name in "AB":
            rc, out, err = results[name]
            self.assertIn(rc, (0, 3), err)
            self.assertNotIn("serializ", err.lower())
            self.assertNotIn("deadlock", err.lower())
            self.assertNotIn("not recorded", err.replace("0 not recorded", ""))
            self.assertEqual(len(out), 1500)
            for a in out:
                self.assertTrue(a["ledger"]["recorded"])
                answers.setdefault(a["input"], []).append((name, a))
        sales = self.sales(shared + only_a + only_b)
        self.assertEqual(len(sales), 2000)
        for c, stores in sales.items():
            self.assertEqual(len(stores), 1, c)  # each box sold exactly once
        for c in shared:
            got = answers[c]
            self.assertEqual(len(got), 2)
            sold = [(n, a) for n, a in got if not a["ledger"]["refused"]]
            refused = [(n, a) for n, a in got if a["ledger"]["refused"]]
            self.assertEqual((len(sold), len(refused)), (1, 1), c)
            first = sold[0][0]
            self.assertEqual(sales[c], [first])
            alert = [l for l in refused[0][1]["labels"] if l["id"] == "ledger.already_sold"]
            self.assertEqual(len(alert), 1)
            self.assertEqual(alert[0]["severity"], "alert")
            self.assertIn("first sold by store %s at " % first, alert[0]["text"])
        ids = [a["ledger"]["event_id"] for v in answers.values() for _, a in v]
        self.assertEqual(len(self.in_db(ids)), len(ids))
        # the export (NHSA sales upload) of one store: its own sales only
        rc, out, err = self.run_cli(["ledger", "export", "--ledger", self.url, "--store", "A", "-f", "jsonl"])
        self.assertEqual(rc, 0, err)
        rows = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(sorted(r["drug_trac_codg"] for r in rows), sorted(c for c, s in sales.items() if s == ["A"]))
        self.assertEqual({r["station"] for r in rows}, {"A-1"})

    # ---- a counter killed mid-stream ----

    def test_kill_9_every_answer_shown_is_in_the_database(self):
        p = subprocess.Popen(self.counter_args("K", extra=["--ledger-timeout", "10"]), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=self.env())
        shown = []
        for i in range(200):
            p.stdin.write((code(5000 + i) + "\n").encode())
        p.stdin.flush()
        while len(shown) < 60:
            shown.append(json.loads(p.stdout.readline()))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        p.stdin.close()
        rest = p.stdout.read().decode()
        p.stdout.close()
        for line in rest.splitlines():
            try:
                shown.append(json.loads(line))
            except ValueError:
                pass  # a line cut short by the kill was never shown whole
        ids = [a["ledger"]["event_id"] for a in shown]
        self.assertGreaterEqual(len(ids), 60)
        self.assertEqual(self.in_db(ids), set(ids))

    # ---- the server stopped mid-stream ----

    def stream(self, store, extra=()):
        p = subprocess.Popen(self.counter_args(store, extra=extra), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env())

        def one(c):
            p.stdin.write((c + "\n").encode())
            p.stdin.flush()
            return json.loads(p.stdout.readline())
        return p, one

    def test_server_stopped_mid_stream_goes_offline_and_back_exactly_once(self):
        p, one = self.stream("S", extra=["--ledger-timeout", "5"])  # a stopped server refuses at once
        answers = [one(code(6000 + i)) for i in range(20)]
        self.assertTrue(all("ledger.offline" not in self.ids(a) for a in answers))
        CLUSTER.stop()
        try:
            offline = [one(code(6020 + i)) for i in range(20)]
        finally:
            CLUSTER.start()
        for a in offline:
            self.assertIn("ledger.offline", self.ids(a))
            self.assertEqual(a["ledger"]["outcome"], "warn")
            self.assertTrue(a["ledger"]["recorded"])
        text = [l["text"] for l in offline[0]["labels"] if l["id"] == "ledger.offline"][0]
        self.assertEqual(text, "checked locally only: the chain ledger is not reachable")
        time.sleep(5.5)  # the counter tries the server again 5 s after it went offline
        back = [one(code(6040 + i)) for i in range(20)]
        self.assertTrue(all("ledger.offline" not in self.ids(a) for a in back))
        p.stdin.close()
        err = p.stderr.read().decode()
        self.assertEqual(p.wait(), 0, err)
        p.stdout.close()
        p.stderr.close()
        self.assertIn("working offline", err)
        self.assertIn("back online", err)
        ids = [a["ledger"]["event_id"] for a in answers + offline + back]
        rows = CLUSTER.psql("SELECT uuid, offline FROM drugscan_events WHERE store = 'S' ORDER BY seq")
        self.assertEqual([r.split("|")[0] for r in rows], ids)  # each once, in order
        self.assertEqual([r.split("|")[1] for r in rows], ["f"] * 20 + ["t"] * 20 + ["f"] * 20)
        rc, out, _ = self.run_cli(["ledger", "sync", "--status", "--ledger", self.url, "--data-dir", self.dir("S")])
        self.assertTrue(out.startswith("queued 0 events"), out)

    def test_hung_server_is_left_within_the_timeout(self):
        p, one = self.stream("H", extra=["--ledger-timeout", "0.5"])
        one(code(6500))
        with open(os.path.join(CLUSTER.data, "postmaster.pid")) as f:
            pid = int(f.readline())
        procs = [pid] + children(pid)
        for x in procs:
            os.kill(x, signal.SIGSTOP)
        try:
            t = time.monotonic()
            a = one(code(6501))
            waited = time.monotonic() - t
        finally:
            for x in procs:
                os.kill(x, signal.SIGCONT)
        self.assertIn("ledger.offline", self.ids(a))
        self.assertLess(waited, 30)  # a liveness guard, not a speed target: it does not hang
        p.stdin.close()
        p.wait()
        p.stdout.close()
        p.stderr.close()
        # the event reaches the chain: pushed when the counter ended, or by sync
        rc, out, err = self.run_cli(["ledger", "sync", "--ledger", self.url, "--data-dir", self.dir("H")])
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.in_db([a["ledger"]["event_id"]])), 1)

    # ---- offline conflicts ----

    def test_box_sold_offline_in_two_stores_is_a_conflict(self):
        x, y = code(7000), code(7001)
        rc, out, _ = self.sell("C1", [y])  # C1 sells y online
        self.assertEqual(out[0]["ledger"]["state_after"], "sold")
        CLUSTER.stop()
        try:
            for store, codes in (("C1", [x]), ("C2", [x, y])):
                rc, out, err = self.sell(store, codes)
                self.assertEqual(rc, 0, err)
                self.assertTrue(all("ledger.offline" in self.ids(a) for a in out))
                self.assertTrue(all(not a["ledger"]["refused"] for a in out))
            rc, out, err = self.run_cli(["ledger", "sync", "--status", "--ledger", self.url, "--data-dir",
                                         self.dir("C2")])
            self.assertTrue(out.startswith("queued 2 events"), out + err)
        finally:
            CLUSTER.start()
        for store in ("C1", "C2"):
            rc, out, err = self.run_cli(["ledger", "sync", "--ledger", self.url, "--data-dir", self.dir(store)])
            self.assertEqual(rc, 0, err)
        # one sale per box; the other, done offline, is a refused attempt, an alert and a conflict
        self.assertEqual(self.sales([x, y]), {x: ["C1"], y: ["C1"]})
        rc, out, err = self.run_cli(["ledger", "history", x, "--ledger", self.url, "-f", "jsonl"])
        self.assertEqual(rc, 0, err)
        rows = [json.loads(l) for l in out.splitlines()]
        self.assertEqual([(r["store"], r["refused"], r["outcome"]) for r in rows if "conflict" not in r],
                         [("C1", False, "warn"), ("C2", True, "alert")])
        self.assertEqual(rows[-1]["conflict"], "ledger.already_sold")
        rc, out, err = self.run_cli(["ledger", "history", x, "--ledger", self.url])
        self.assertIn("ALERT CONFLICT sell %s offline at store C2" % x, out)
        self.assertIn("first sold by store C1", out)
        rc, out, err = self.run_cli(["ledger", "sync", "--status", "-f", "jsonl", "--ledger", self.url, "--data-dir",
                                     self.dir("C2")])
        self.assertEqual(rc, 0, err)
        conflicts = [json.loads(l) for l in out.splitlines()[1:]]
        mine = {c["code"]: c for c in conflicts if c["store"] == "C2"}
        self.assertEqual(set(mine), {x, y})
        self.assertEqual(mine[y]["first_store"], "C1")
        self.assertEqual(mine[y]["conflict"], "ledger.already_sold")
        # a third attempt, online, is refused naming the first sale
        rc, out, _ = self.sell("C3", [x])
        self.assertEqual(rc, 3)
        self.assertIn("ledger.already_sold", self.ids(out[0]))

    def test_stores_sharing_a_data_dir_offline_keep_their_names(self):
        CLUSTER.stop()
        try:
            for store, c in (("D1", code(7100)), ("D2", code(7101))):
                args = self.counter_args(store)[len(WRAP) + 1:]
                args[args.index("--data-dir") + 1] = self.dir("shared")
                rc, out, err = self.run_cli(args, stdin=(c + "\n").encode())
                self.assertEqual(rc, 0, err)
                self.assertIn("ledger.offline", out)
        finally:
            CLUSTER.start()
        rc, out, err = self.run_cli(["ledger", "sync", "--ledger", self.url, "--data-dir", self.dir("shared")])
        self.assertEqual((rc, out), (0, "sent 2 events, 2 acknowledged, 0 still queued\n"), err)
        self.assertEqual(CLUSTER.psql("SELECT unit_key, store FROM drugscan_events WHERE unit_key IN ('%s', '%s')"
                                      " ORDER BY unit_key" % (code(7100), code(7101))),
                         ["%s|D1" % code(7100), "%s|D2" % code(7101)])

    # ---- three stores, counters and the server killed at random moments ----

    def test_three_stores_with_counters_and_server_killed_at_random(self):
        rnd = random.Random(15)
        codes = [code(i, "8700002") for i in range(200)]
        shown = {s: [] for s in ("X1", "X2", "X3")}
        done = threading.Event()

        def store(s, order):
            i = 0
            while i < len(order):
                p = subprocess.Popen(self.counter_args(s, extra=["--ledger-timeout", "0.5"]), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env())
                kill_at = i + rnd.randint(10, 80)
                try:
                    while i < len(order) and i < kill_at:
                        p.stdin.write((order[i] + "\n").encode())
                        p.stdin.flush()
                        line = p.stdout.readline()
                        if not line:
                            break
                        shown[s].append(json.loads(line))
                        i += 1
                except BrokenPipeError:
                    pass
                p.kill()  # kill -9, mid-stream
                p.wait()
                p.stdin.close()
                p.stdout.close()

        def chaos():
            while not done.wait(rnd.uniform(1, 3)):
                CLUSTER.stop(rnd.choice(["immediate", "fast"]))
                time.sleep(rnd.uniform(0.2, 1))
                CLUSTER.start()

        orders = {s: rnd.sample(codes, len(codes)) for s in shown}
        threads = [threading.Thread(target=store, args=(s, orders[s])) for s in shown]
        ch = threading.Thread(target=chaos)
        for t in threads + [ch]:
            t.start()
        for t in threads:
            t.join()
        done.set()
        ch.join()
        if not CLUSTER.running:
            CLUSTER.start()
        for s in shown:
            rc, out, err = self.run_cli(["ledger", "sync", "--ledger", self.url, "--data-dir", self.dir(s)])
            self.assertEqual(rc, 0, err)
        rows = {}
        for r in CLUSTER.psql("SELECT uuid, unit_key, refused, outcome, offline FROM drugscan_events"
                              " WHERE store IN ('X1', 'X2', 'X3')"):
            u, k, ref, outcome, off = r.split("|")
            rows[u] = (k, ref == "1", int(outcome), off == "t")
        conflicts = set(CLUSTER.psql("SELECT uuid FROM drugscan_conflicts WHERE store IN ('X1', 'X2', 'X3')"))
        answers = [a for s in shown for a in shown[s]]
        self.assertEqual(len(answers), 600)
        for a in answers:  # every answer shown is in the database
            self.assertIn(a["ledger"]["event_id"], rows)
        self.assertEqual(len(rows), 600)
        sold = {}
        for u, (k, ref, outcome, off) in rows.items():
            if not ref:
                sold.setdefault(k, []).append(u)
            else:
                self.assertEqual(outcome, 2)  # each other attempt is an alert
        self.assertEqual(sorted(sold), sorted(codes))
        self.assertEqual([k for k, v in sold.items() if len(v) != 1], [])  # exactly one sale per box
        for a in answers:
            k, ref, outcome, off = rows[a["ledger"]["event_id"]]
            if off and ref and not a["ledger"]["refused"]:
                self.assertIn(a["ledger"]["event_id"], conflicts)  # sold offline, refused by the chain: reported

    # ---- one clear line ----

    def one_line(self, err):
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("drugscan: chain ledger 'postgresql://"), err)
        self.assertNotIn(CLUSTER.url().split(":")[2].split("@")[0], err)  # never the password
        return lines[0]

    def test_wrong_password(self):
        bad = CLUSTER.url(password="wrong")
        rc, out, err = self.run_cli(["ledger", "history", code(1), "--ledger", bad])
        self.assertEqual(rc, 1)
        self.assertIn("password authentication failed", self.one_line(err))
        rc, out, err = self.run_cli(self.counter_args("W", url=bad)[len(WRAP) + 1:], stdin=code(1).encode())
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("password authentication failed", err.splitlines()[0])

    def test_unreachable_host(self):
        from pgcluster import free_port
        url = "postgresql://postgres:pw@127.0.0.1:%d/postgres" % free_port()
        rc, out, err = self.run_cli(["ledger", "history", code(1), "--ledger", url])
        self.assertEqual(rc, 1)
        self.assertIn("not reachable", self.one_line(err))
        # the counter keeps working, offline, and says so once
        rc, out, err = self.sell("U", [code(8000), code(8001)], url=url)
        self.assertEqual(rc, 0, err)
        self.assertEqual([("ledger.offline" in self.ids(a)) for a in out], [True, True])
        self.assertEqual(len([l for l in err.splitlines() if "working offline" in l]), 1, err)

    def test_newer_schema(self):
        CLUSTER.psql("DROP DATABASE IF EXISTS newer")
        CLUSTER.psql("CREATE DATABASE newer")
        url = CLUSTER.url(db="newer")
        rc, out, err = self.run_cli(["ledger", "init", "--ledger", url])
        self.assertEqual(rc, 0, err)
        CLUSTER.psql("UPDATE drugscan_meta SET value = '2' WHERE key = 'schema_version'", db="newer")
        for args in (["ledger", "init", "--ledger", url], ["ledger", "stock", "--ledger", url]):
            rc, out, err = self.run_cli(args)
            self.assertEqual(rc, 1)
            self.assertIn("schema 2 is newer than this drugscan", self.one_line(err))
        rc, out, err = self.sell("N", [code(1)], url=url)
        self.assertEqual((rc, out), (1, []))
        self.assertIn("schema 2 is newer", self.one_line(err.splitlines()[0]))

    def test_session_that_lost_its_prepared_statements(self):
        """A pooler may hand the counter a session without its prepared statements: here the
        server forgets them after every event (DEALLOCATE ALL in a trigger). The request that
        finds its statement gone is tried again unnamed; every code is recorded online, once."""
        CLUSTER.psql("DROP DATABASE IF EXISTS pooled")
        CLUSTER.psql("CREATE DATABASE pooled")
        url = CLUSTER.url(db="pooled")
        rc, out, err = self.run_cli(["ledger", "init", "--ledger", url])
        self.assertEqual(rc, 0, err)
        CLUSTER.psql("CREATE FUNCTION forget() RETURNS trigger LANGUAGE plpgsql AS"
                     " $$BEGIN EXECUTE 'DEALLOCATE ALL'; RETURN NULL; END$$;"
                     " CREATE TRIGGER forget AFTER INSERT ON drugscan_events FOR EACH STATEMENT"
                     " EXECUTE FUNCTION forget()", db="pooled")
        codes = [code(i, "8700003") for i in range(6)]
        rc, out, err = self.sell("P", codes, url=url)
        self.assertEqual([a["ledger"]["recorded"] for a in out], [True] * 6, err)
        self.assertEqual([a["ledger"]["state_after"] for a in out], ["sold"] * 6)
        self.assertNotIn("offline", err)
        rows = CLUSTER.psql("SELECT count(*), count(DISTINCT uuid), sum(offline::int) FROM drugscan_events", db="pooled")
        self.assertEqual(rows, ["6|6|0"])

    def test_read_only_role(self):
        CLUSTER.psql("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader') THEN"
                     " CREATE ROLE reader LOGIN PASSWORD 'readerpw'; END IF; END$$;"
                     " GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
        url = CLUSTER.url(user="reader", password="readerpw")
        rc, out, err = self.sell("R", [code(9000), code(9001)], url=url)
        self.assertEqual(rc, 1)
        self.assertEqual([a["ledger"]["recorded"] for a in out], [False, False])
        lines = err.splitlines()
        self.assertIn("is read-only: role 'reader' may not write it: nothing will be recorded", lines[0])
        self.assertEqual(len(lines), 2, err)  # that line and the session's summary
        rc, out, err = self.run_cli(["ledger", "stock", "--ledger", url])  # reading is fine
        self.assertEqual(rc, 0, err)


def main():
    global BIN, CLUSTER
    BIN = os.path.abspath(sys.argv[1])
    if not pg_bin():
        print("test_chain: SKIPPED: PostgreSQL's initdb and pg_ctl are not installed (scripts/install-deps)")
        return 0
    CLUSTER = PgCluster()
    try:
        CLUSTER.start()
        prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False, verbosity=2)
        return 0 if prog.result.wasSuccessful() else 1
    finally:
        CLUSTER.cleanup()


if __name__ == "__main__":
    sys.exit(main())

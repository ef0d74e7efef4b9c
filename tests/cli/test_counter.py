#!/usr/bin/env python3
"""CLI tests for `drugscan counter` and `drugscan ledger`: the rules, handheld-scanner
streams, two counters at once, a counter killed mid-stream, and uploads to a
receiver that fails in every way it can.

usage: test_counter.py path/to/drugscan path/to/tests/tools/receiver.py
"""
import json
import os
import random
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
RECEIVER = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
DAY = 86400000


def env_for(home, **extra):
    e = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=home,
             DRUGSCAN_CATALOG_SEED="demo")  # the synthetic demo catalog
    e.update({k: str(v) for k, v in extra.items()})
    return e


def code(i, prefix="8123456"):
    return "%s%09d%04d" % (prefix, i, 1234)


class Counter(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="drugscan-ctr-")

    def tearDown(self):
        shutil.rmtree(self.home)

    def counter(self, action, *codes, stdin=None, extra=(), **envx):
        args = WRAP + [BIN, "counter", action, "-q", "-f", "jsonl", "--station", envx.pop("station", "A")] + list(extra)
        args += list(codes) if stdin is None else ["-"]
        p = subprocess.run(args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env_for(self.home, **envx), timeout=300)
        return p.returncode, [json.loads(l) for l in p.stdout.decode().splitlines()], p.stderr.decode()

    def led(self, r):
        return r["ledger"]["state_before"], r["ledger"]["state_after"], r["ledger"]["outcome"], r["ledger"]["refused"]

    def ids(self, r):
        return [l["id"] for l in r["labels"] if l["id"].startswith("ledger.")]

    def test_receive_then_sell_then_sell_again(self):
        c = code(1)
        rc, out, err = self.counter("receive", c)
        self.assertEqual((rc, self.led(out[0])), (0, ("unknown", "in_stock", "ok", False)))
        self.assertEqual(len(out[0]["ledger"]["event_id"]), 36)
        rc, out, _ = self.counter("receive", c)
        self.assertEqual(self.led(out[0]), ("in_stock", "in_stock", "warn", True))
        self.assertEqual(self.ids(out[0]), ["ledger.duplicate_receive"])
        rc, out, _ = self.counter("sell", c)
        self.assertEqual((rc, self.led(out[0])), (0, ("in_stock", "sold", "ok", False)))
        rc, out, _ = self.counter("sell", c)
        self.assertEqual(rc, 3)
        self.assertEqual(self.led(out[0]), ("sold", "sold", "alert", True))
        self.assertEqual(self.ids(out[0]), ["ledger.already_sold"])
        self.assertEqual([l["severity"] for l in out[0]["labels"] if l["id"] == "ledger.already_sold"], ["alert"])
        rc, out, _ = self.counter("receive", c)
        self.assertEqual(rc, 3)
        self.assertEqual(self.ids(out[0]), ["ledger.already_sold"])

    def test_sell_never_received(self):
        rc, out, _ = self.counter("sell", code(2))
        self.assertEqual((rc, self.led(out[0])), (0, ("unknown", "sold", "warn", False)))
        self.assertEqual(self.ids(out[0]), ["ledger.not_in_stock"])
        rc, out, _ = self.counter("sell", code(3), extra=["--strict"])
        self.assertEqual((rc, self.led(out[0])), (3, ("unknown", "unknown", "alert", True)))

    def test_split_sale_uses_the_units_up(self):
        c = code(4)
        self.counter("receive", c, extra=["--units", "3"])
        states = []
        for i in range(3):
            rc, out, _ = self.counter("sell", c, extra=["--split"])
            states.append((rc, self.led(out[0])[1], out[0]["ledger"]["units_left"]))
        self.assertEqual(states, [(0, "in_stock", 2), (0, "in_stock", 1), (0, "sold", 0)])
        rc, out, _ = self.counter("sell", c, extra=["--split"])
        self.assertEqual(rc, 3)
        self.assertEqual(self.ids(out[0]), ["ledger.already_sold"])

    def test_split_units_from_the_catalog(self):
        c = code(5)  # 8123456 is in the demo catalog with its pack's units
        rc, out, _ = self.counter("sell", c, extra=["--split", "--qty", "2"])
        self.assertEqual(rc, 0)
        units = out[0]["drug"]["units"]
        self.assertEqual(out[0]["ledger"]["units_left"], units - 2)
        rc, out, _ = self.counter("sell", code(6, "8000000"), extra=["--split"])  # unmapped: no units known
        self.assertIn("ledger.units_unknown", self.ids(out[0]))
        self.assertTrue(out[0]["ledger"]["refused"])

    def test_return_only_what_was_sold(self):
        c = code(7)
        self.counter("receive", c)
        rc, out, _ = self.counter("return", c)
        self.assertEqual(self.led(out[0]), ("in_stock", "in_stock", "warn", True))
        self.assertEqual(self.ids(out[0]), ["ledger.not_sold"])
        self.counter("sell", c)
        rc, out, _ = self.counter("return", c)
        self.assertEqual(self.led(out[0]), ("sold", "returned", "ok", False))
        rc, out, _ = self.counter("sell", c)
        self.assertEqual(self.led(out[0]), ("returned", "sold", "ok", False))

    def test_undo_same_station_within_ten_days(self):
        c = code(8)
        now = int(time.time() * 1000)
        self.counter("receive", c, DRUGSCAN_NOW_MS=now)
        self.counter("sell", c, DRUGSCAN_NOW_MS=now)
        rc, out, _ = self.counter("undo", c, station="B", DRUGSCAN_NOW_MS=now + 1000)
        self.assertEqual(self.ids(out[0]), ["ledger.undo_refused"])
        rc, out, _ = self.counter("undo", c, DRUGSCAN_NOW_MS=now + 11 * DAY)
        self.assertEqual(self.ids(out[0]), ["ledger.undo_refused"])
        rc, out, _ = self.counter("undo", c, DRUGSCAN_NOW_MS=now + 9 * DAY)
        self.assertEqual(self.led(out[0]), ("sold", "in_stock", "ok", False))
        rc, out, _ = self.counter("undo", c, DRUGSCAN_NOW_MS=now + 9 * DAY)  # then the receive
        self.assertEqual(self.led(out[0]), ("in_stock", "unknown", "ok", False))
        # undo is itself an event: nothing was deleted
        p = subprocess.run([BIN, "ledger", "history", "-f", "jsonl", c], stdout=subprocess.PIPE,
                           env=env_for(self.home))
        actions = [json.loads(l)["action"] for l in p.stdout.decode().splitlines()]
        self.assertEqual(actions, ["receive", "sell", "undo", "undo", "undo", "undo"])

    def test_repeated_scans_escalate(self):
        c = code(9)
        outcomes = [self.counter("scan", c)[1][0]["ledger"]["outcome"] for _ in range(5)]
        self.assertEqual(outcomes, ["ok", "warn", "warn", "alert", "alert"])
        self.counter("sell", code(10))
        rc, out, _ = self.counter("scan", code(10))
        self.assertEqual(rc, 3)
        self.assertEqual(self.ids(out[0]), ["ledger.already_sold"])

    def test_destroy_and_stocktake(self):
        self.counter("receive", code(11))
        rc, out, _ = self.counter("destroy", code(11))
        self.assertEqual(self.led(out[0])[:2], ("in_stock", "destroyed"))
        rc, out, _ = self.counter("sell", code(11))
        self.assertEqual(rc, 3)
        self.counter("sell", code(12))
        rc, out, _ = self.counter("stocktake", code(12))
        self.assertEqual(rc, 3)  # a sold box on the shelf
        rc, out, _ = self.counter("stocktake", code(13))
        self.assertEqual(self.led(out[0])[:3], ("unknown", "in_stock", "warn"))

    def test_handheld_scanner_stream(self):
        full = code(1).translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})  # typed with a Chinese IME
        lines = [full, "]C101%s21SN1" % "06901234567892", "", "hello", "6901234567892",
                 "8123456 000000002 1234", "8123456000000000X1234", "]c101%s21sn2" % "06901234567892"]
        stream = "".join(l + "\r\n" for l in lines).encode()
        rc, out, err = self.counter("receive", stdin=stream)
        self.assertEqual(len(out), 7)  # the empty line is skipped
        ok = [o for o in out if o.get("ledger")]
        self.assertEqual([o["ledger"]["state_after"] for o in ok], ["in_stock"] * 4)
        self.assertEqual([o["ledger"]["refused"] for o in ok], [False] * 4)
        self.assertEqual(ok[0]["text"], code(1))
        self.assertEqual(ok[2]["text"], code(2))  # spaces typed inside the number
        self.assertEqual(ok[3]["fields"]["serial"], "SN2")  # Caps Lock corrected
        bad = [o for o in out if o.get("error")]
        self.assertEqual([b["input"] for b in bad], ["hello", "6901234567892", "8123456000000000X1234"])
        self.assertEqual([(b["ledger"], b["kind"]) for b in bad][:2], [(None, "unknown"), (None, "product-barcode")])
        self.assertEqual(rc, 4)
        self.assertIn("3 not a trace code", err)

    def test_text_output_and_history_stock_export(self):
        env = env_for(self.home)
        p = subprocess.run([BIN, "counter", "receive", "-q", "--station", "A", "--lang", "zh", code(20), code(21)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.assertIn("入库", p.stdout.decode())
        self.assertIn("在库", p.stdout.decode())
        self.assertIn("本次 2 个码", p.stderr.decode())
        subprocess.run([BIN, "counter", "sell", "-q", "--station", "A", "--operator", "王药师", code(20)], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p = subprocess.run([BIN, "ledger", "stock", "-f", "jsonl"], stdout=subprocess.PIPE, env=env)
        stock = [json.loads(l) for l in p.stdout.decode().splitlines()]
        self.assertEqual([(s["product_key"], s["boxes"]) for s in stock], [("8123456", 1)])
        p = subprocess.run([BIN, "ledger", "export", "-f", "jsonl"], stdout=subprocess.PIPE, env=env)
        rows = [json.loads(l) for l in p.stdout.decode().splitlines()]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["drug_trac_codg"], code(20))
        self.assertEqual(rows[0]["trdn_flag"], 0)
        self.assertTrue(rows[0]["med_list_codg"].startswith("XDEMO"))
        self.assertEqual(rows[0]["operator"], "王药师")
        p = subprocess.run([BIN, "ledger", "export", "-f", "receipt"], stdout=subprocess.PIPE, env=env)
        self.assertIn("追溯码 " + code(20), p.stdout.decode())

    def test_export_counts_undos_and_split_quantities(self):
        env = env_for(self.home)
        run = lambda *a: subprocess.run([BIN, "counter"] + list(a), env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        run("sell", "-q", "--station", "A", "--split", "--qty", "3", "--units", "10", code(40))
        run("undo", "-q", "--station", "A", code(40))  # takes the 3 units back
        run("receive", "-q", "--station", "A", code(41))
        run("undo", "-q", "--station", "A", code(41))  # an undone receive is not a sale
        run("sell", "-q", "--station", "A", "--qty", "5", code(42))  # --qty only counts in a 拆零 sale
        run("return", "-q", "--station", "A", code(42))
        run("undo", "-q", "--station", "A", code(42))  # takes the return back
        p = subprocess.run([BIN, "ledger", "export", "-f", "jsonl"], stdout=subprocess.PIPE, env=env)
        rows = [json.loads(l) for l in p.stdout.decode().splitlines()]
        got = [(r["drug_trac_codg"][-8:], r["action"], r["sel_retn_cnt"], r["trdn_flag"]) for r in rows]
        self.assertEqual(got, [(code(40)[-8:], "sell", 3, 1), (code(40)[-8:], "undo", -3, 1),
                               (code(42)[-8:], "sell", 1, 0), (code(42)[-8:], "return", -1, 0),
                               (code(42)[-8:], "undo", 1, 0)])
        self.assertTrue(all(r["format_version"] == 1 for r in rows))
        p = subprocess.run([BIN, "ledger", "export", "-f", "csv"], stdout=subprocess.PIPE, env=env)
        self.assertIn('"-3"', p.stdout.decode())  # a negative count is a number, not a formula to guard

    def test_the_ledger_records_the_outcome_the_screen_showed(self):
        # expired (GS1 (17) in the past) and recalled (demo recall of trace prefix 8100046) boxes:
        # the ledger's own rules say ok, the verdict says alert, and the event must say alert too
        expired = "(01)06901234567892(17)250101(21)EXP1"
        recalled = "81000464033958964338"
        for c in (expired, recalled):
            self.counter("receive", c)
            rc, out, _ = self.counter("sell", c)
            self.assertEqual(rc, 3)
            self.assertEqual(out[0]["ledger"]["outcome"], "alert")
            p = subprocess.run(WRAP + [BIN, "ledger", "history", "--format", "jsonl", c], stdout=subprocess.PIPE,
                               env=env_for(self.home), timeout=60)
            events = [json.loads(l) for l in p.stdout.decode().splitlines()]
            self.assertEqual([(e["action"], e["outcome"]) for e in events], [("receive", "alert"), ("sell", "alert")])
            self.assertEqual(events[-1]["event_id"], out[0]["ledger"]["event_id"])
        p = subprocess.run(WRAP + [BIN, "ledger", "export"], stdout=subprocess.PIPE, env=env_for(self.home), timeout=60)
        self.assertEqual(p.returncode, 0)

    def test_sold_despite_alert_is_not_marked_refused_and_strict_refuses(self):
        expired = "(01)06901234567892(17)250101(21)EXP2"
        p = subprocess.run(WRAP + [BIN, "counter", "sell", "-q", "--station", "A", expired], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env_for(self.home), timeout=60)
        first = p.stdout.decode().splitlines()[0]
        self.assertEqual(p.returncode, 3)
        self.assertTrue(first.startswith("\u26a0 sell"), first)
        self.assertIn("(done despite ALERT)", first)
        self.assertNotIn("refused", first)
        other = "(01)06901234567892(17)250101(21)EXP3"
        rc, out, _ = self.counter("sell", other, extra=["--strict"])
        self.assertEqual(rc, 3)
        self.assertEqual(self.led(out[0]), ("unknown", "unknown", "alert", True))
        self.assertIn("ledger.strict_refused", self.ids(out[0]))
        p = subprocess.run(WRAP + [BIN, "counter", "sell", "-q", "--strict", "--station", "A", other],
                           stdout=subprocess.PIPE, env=env_for(self.home), timeout=60)
        self.assertTrue(p.stdout.decode().startswith("\u2717 sell"))

    def test_one_pack_is_one_state_whatever_the_carrier(self):
        g = "06901234567892"
        rc, out, _ = self.counter("receive", "]d201%s21PACK7" % g)
        self.assertEqual(self.led(out[0])[:2], ("unknown", "in_stock"))
        rc, out, _ = self.counter("sell", "https://id.example.com/01/%s/21/PACK7" % g)
        self.assertEqual(self.led(out[0]), ("in_stock", "sold", "ok", False))
        rc, out, _ = self.counter("sell", "(01)%s(21)PACK7" % g)
        self.assertEqual(rc, 3)
        self.assertEqual(self.ids(out[0]), ["ledger.already_sold"])
        self.assertEqual({o["unit_key"] for o in out}, {"01%s21PACK7" % g})
        for form in ("(01)%s(21)PACK7" % g, "01%s21PACK7" % g, "https://id.example.com/01/%s/21/PACK7" % g):
            p = subprocess.run(WRAP + [BIN, "ledger", "history", "--format", "jsonl", form], stdout=subprocess.PIPE,
                               env=env_for(self.home), timeout=60)
            self.assertEqual([json.loads(l)["action"] for l in p.stdout.decode().splitlines()],
                             ["receive", "sell", "sell"], form)

    def test_corrupt_or_foreign_ledger_is_never_overwritten(self):
        db = os.path.join(self.home, "ledger.db")
        with open(db, "wb") as f:
            f.write(b"not a database at all" * 50)
        with open(db, "rb") as f:
            before = f.read()
        rc, out, err = self.counter("sell", code(30))
        self.assertEqual(rc, 1)
        self.assertIn("not a drugscan ledger", err)
        with open(db, "rb") as f:
            self.assertEqual(f.read(), before)
        os.unlink(db)
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE invoices (n)")
        con.commit()
        con.close()
        rc, out, err = self.counter("sell", code(30))
        self.assertEqual(rc, 1)
        self.assertIn("another program's database", err)

    def test_numeric_options_are_checked(self):
        env = env_for(self.home)
        for args in (["counter", "sell", "--qty", "2x", code(1)], ["counter", "sell", "--units", "", code(1)],
                     ["ledger", "sync", "--url", "https://example.com/", "--batch", "abc"],
                     ["ledger", "export", "--since", "2026-13-01"], ["ledger", "export", "--since", "2026-1x-01"],
                     ["ledger", "export", "--since", ""]):
            p = subprocess.run([BIN] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(args[-2] if args[0] == "ledger" else args[2], p.stderr.decode())
            self.assertEqual(p.stdout, b"")

    def test_events_are_append_only(self):
        self.counter("receive", code(31))
        con = sqlite3.connect(os.path.join(self.home, "ledger.db"))
        with self.assertRaises(sqlite3.DatabaseError):
            con.execute("DELETE FROM events")
        with self.assertRaises(sqlite3.DatabaseError):
            con.execute("UPDATE events SET action = 'sell'")
        con.close()


class Reliability(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="drugscan-rel-")
        self.env = env_for(self.home)

    def tearDown(self):
        shutil.rmtree(self.home)

    def db(self):
        return sqlite3.connect(os.path.join(self.home, "ledger.db"))

    def test_two_counters_at_once(self):
        # 10,000 sells from two processes, half of them racing for the same codes
        n = 5000
        streams = [[code(i, "8700001") for i in range(n)], [code(i, "8700001") for i in range(n // 2, n + n // 2)]]
        procs = []
        t0 = time.time()
        for s, station in zip(streams, ("A", "B")):
            p = subprocess.Popen(WRAP + [BIN, "counter", "sell", "-q", "-f", "jsonl", "--station", station, "-"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
            procs.append(p)
        outs = []
        for p, s in zip(procs, streams):
            p.stdin.write(("\n".join(s) + "\n").encode())
            p.stdin.close()
        for p in procs:
            out = p.stdout.read().decode().splitlines()
            err = p.stderr.read().decode()
            p.wait()
            p.stdout.close()
            p.stderr.close()
            self.assertNotIn("busy", err.lower())
            self.assertNotIn("locked", err.lower())
            outs.append([json.loads(l) for l in out])
        dt = time.time() - t0
        self.assertEqual([len(o) for o in outs], [n, n])
        con = self.db()
        self.assertEqual(con.execute("SELECT count(*) FROM events").fetchone()[0], 2 * n)
        self.assertEqual(con.execute("SELECT count(DISTINCT uuid) FROM events").fetchone()[0], 2 * n)
        # every code of the overlap was sold exactly once; the other try is an already-sold alert
        sold = con.execute("SELECT code, count(*) FROM events WHERE action = 'sell' AND refused = 0 GROUP BY code")
        counts = dict(sold.fetchall())
        self.assertEqual(len(counts), n + n // 2)
        self.assertEqual(set(counts.values()), {1})
        alerts = sum(1 for o in outs for r in o if r["ledger"]["outcome"] == "alert")
        self.assertEqual(alerts, n // 2)
        con.close()
        print("\n  two counters: %d sells in %.1f s = %.0f events/s" % (2 * n, dt, 2 * n / dt), file=sys.stderr)

    def test_killed_counter_loses_and_doubles_nothing(self):
        rng = random.Random(3)
        codes = [code(i, "8799990") for i in range(2000)]
        answered = {}
        i = 0
        kills = 0
        while i < len(codes):
            p = subprocess.Popen(WRAP + [BIN, "counter", "sell", "-q", "-f", "jsonl", "--station", "A", "-"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env)
            stop = i + rng.randint(50, 400)
            while i < len(codes) and i < stop:
                p.stdin.write((codes[i] + "\n").encode())
                p.stdin.flush()
                line = p.stdout.readline()
                if not line:
                    break
                r = json.loads(line)
                answered[r["ledger"]["event_id"]] = codes[i]
                i += 1
            if i < len(codes):
                p.stdin.write((codes[i] + "\n").encode())  # in flight when the power goes
                p.stdin.flush()
                time.sleep(rng.random() * 0.01)
                p.send_signal(signal.SIGKILL)
                kills += 1
                p.wait()
                # the in-flight line is resent after the restart, as a cashier would rescan it
            else:
                p.stdin.close()
                p.wait()
            p.stdout.close()
            if not p.stdin.closed:
                p.stdin.close()
        con = self.db()
        stored = dict(con.execute("SELECT uuid, code FROM events").fetchall())
        for uuid, c in answered.items():
            self.assertEqual(stored.get(uuid), c)  # every printed answer is in the ledger
        sells = dict(con.execute("SELECT code, count(*) FROM events WHERE action = 'sell' AND refused = 0"
                                 " GROUP BY code").fetchall())
        self.assertEqual(len(sells), 2000)
        self.assertEqual(set(sells.values()), {1})  # and no box is sold twice
        self.assertGreater(kills, 3)
        con.close()

    def test_sync_refuses_plain_http_elsewhere_in_one_line(self):
        subprocess.run([BIN, "counter", "sell", "-q", "--station", "A", code(1), code(2)], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for url in ("http://127.example.com/", "http://127.0.0.1.evil.test/", "ftp://127.0.0.1/"):
            p = subprocess.run([BIN, "ledger", "sync", "--url", url], env=self.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(p.returncode, 1)
            lines = p.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("refusing '%s'" % url, lines[0])
            self.assertIn("2 events still queued", lines[0])
        p = subprocess.run([BIN, "ledger", "sync", "--status"], env=self.env, stdout=subprocess.PIPE)
        self.assertIn(b"queued 2 events", p.stdout)

    def test_sync_survives_a_misbehaving_receiver(self):
        subprocess.run([BIN, "counter", "sell", "-q", "--station", "A", "-"], env=self.env,
                       input=("\n".join(code(i, "8654321") for i in range(450)) + "\n").encode(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rdb = os.path.join(self.home, "receiver.db")
        rx = subprocess.Popen([sys.executable, RECEIVER, rdb], stdout=subprocess.PIPE)
        port = int(rx.stdout.readline().split()[-1])
        url = "http://127.0.0.1:%d/" % port

        def control(mode, count=None):
            req = urllib.request.Request(url + "control", json.dumps({"mode": mode, "count": count}).encode())
            urllib.request.urlopen(req).read()

        def sync():
            return subprocess.run([BIN, "ledger", "sync", "--url", url, "--batch", "40"], env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        try:
            control("500", 3)
            control("drop", 2)  # the last control wins: drop twice, then ok
            p = sync()
            control("store-drop", 3)  # stored, but the acknowledgement is lost: resent, not doubled
            p = sync()
            control("garbage", 2)
            p = sync()
            subprocess.run([BIN, "counter", "return", "-q", "--station", "A", "-"], env=self.env,
                           input=("\n".join(code(i, "8654321") for i in range(50)) + "\n").encode(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rx.terminate()  # the receiver goes away mid-run and comes back
            rx.wait()
            rx.stdout.close()
            p = sync()
            self.assertEqual(p.returncode, 1)
            self.assertIn("still queued", p.stderr.decode())
            rx = subprocess.Popen([sys.executable, RECEIVER, rdb, "--port", str(port)], stdout=subprocess.PIPE)
            rx.stdout.readline()
            control("slow", 1)
            for _ in range(5):
                p = sync()
                if p.returncode == 0 and b"0 still queued" in p.stdout:
                    break
            self.assertIn(b"0 still queued", p.stdout)
        finally:
            rx.terminate()
            rx.wait()
            rx.stdout.close()
        con = sqlite3.connect(rdb)
        self.assertEqual(con.execute("SELECT count(*) FROM events").fetchone()[0], 500)
        con.close()
        p = subprocess.run([BIN, "ledger", "sync", "--status"], env=self.env, stdout=subprocess.PIPE)
        self.assertIn(b"queued 0 events", p.stdout)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    RECEIVER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)

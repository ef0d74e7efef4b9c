#!/usr/bin/env python3
"""CLI tests for `drugscan check`: run the real binary, assert stdout, stderr and exit codes.

usage: test_check.py path/to/drugscan
$DRUGSCAN_WRAPPER, when set, prefixes every run (e.g. "valgrind -q --error-exitcode=99").
"""
import csv
import io
import json
import os
import pty
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import unittest

BIN = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
G = "06901234567892"
# a private data dir: the first run builds the demo catalog there
HOME = tempfile.mkdtemp(prefix="drugscan-check-")
ENV = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=HOME,
           DRUGSCAN_CATALOG_SEED="demo")  # the synthetic demo catalog, never the real list


def run(args, stdin=b"", env=None, **kw):
    e = dict(ENV)
    if env:
        e.update(env)
    p = subprocess.run(WRAP + [BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=e, timeout=300, **kw)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def jsonl(out):
    return [json.loads(line) for line in out.splitlines()]


class CheckArguments(unittest.TestCase):
    def test_valid_nmpa20_text(self):
        rc, out, err = run(["check", "81234567890123456789"])
        self.assertEqual(rc, 0)
        self.assertEqual(err, "")
        self.assertIn("81234567890123456789\n", out)
        self.assertIn("product code 8123456", out)
        self.assertIn("serial 789012345", out)
        self.assertIn("not verified", out)
        self.assertIn("not the national medical-insurance sales record", out)

    def test_json_object_per_argument_in_order(self):
        codes = ["81234567890123456789", "(01)%s(17)270331(10)B1(21)S1" % G, "6901234567892",
                 "MA.156.M0.100204.13351764.S1"]
        rc, out, err = run(["check", "--format", "json"] + codes)
        self.assertEqual(rc, 4)  # the product barcode is not a trace code
        objs = jsonl(out)
        self.assertEqual([o["input"] for o in objs], codes)
        self.assertEqual([o["kind"] for o in objs], ["nmpa20", "gs1", "product-barcode", "ma"])
        self.assertEqual([o["valid"] for o in objs], [True, True, False, True])
        for o in objs:
            self.assertEqual(o["format_version"], 1)
            for key in ("text", "symbology", "aim", "issues", "fields", "drug", "labels", "note"):
                self.assertIn(key, o)
        self.assertEqual(objs[0]["fields"], {"product_code": "8123456", "serial": "789012345", "check": "6789"})
        self.assertEqual(objs[1]["text"], "01%s1727033110B1\x1d21S1" % G)
        self.assertEqual(objs[1]["fields"], {"gtin": G, "expiry": "2027-03-31", "batch": "B1", "serial": "S1"})
        self.assertEqual([l["id"] for l in objs[2]["labels"]], ["code.product_barcode"])
        self.assertEqual(err, "")

    def test_issue_positions_point_into_input(self):
        rc, out, _ = run(["check", "-f", "json", "(01)06901234567893(21)1"])
        self.assertEqual(rc, 4)
        o = jsonl(out)[0]
        self.assertFalse(o["valid"])
        issue = [i for i in o["issues"] if i["id"] == "gs1.check_digit"][0]
        self.assertEqual((issue["pos"], issue["len"]), (4, 14))
        self.assertEqual(issue["severity"], "error")
        self.assertIn("check digit", issue["message"])
        self.assertEqual({l["id"] for l in o["labels"]}, {"code.invalid", "code.gs1_check_failed"})

    def test_expired_is_an_alert(self):
        rc, out, _ = run(["check", "-f", "json", "(01)%s(17)250331(21)S1" % G])
        self.assertEqual(rc, 3)
        labels = jsonl(out)[0]["labels"]
        self.assertEqual(labels[0]["id"], "trace.expired")
        self.assertEqual(labels[0]["severity"], "alert")

    def test_expiring_days_option(self):
        code = "(01)%s(17)260700(21)S1" % G  # 2026-07-31, 60 days after 2026-06-01
        rc, out, _ = run(["check", "-f", "json", code])
        trace = lambda o: [l["id"] for l in o["labels"] if l["id"].startswith("trace.")]
        self.assertEqual(trace(jsonl(out)[0]), ["trace.expiring"])
        rc, out, _ = run(["check", "-f", "json", "--expiring-days", "30", code])
        self.assertEqual(trace(jsonl(out)[0]), [])

    def test_fullwidth_from_chinese_input_method(self):
        rc, out, _ = run(["check", "-f", "json", "８１２３４５６７８９０１２３４５６７８９"])
        self.assertEqual(rc, 0)
        o = jsonl(out)[0]
        self.assertEqual(o["text"], "81234567890123456789")
        self.assertEqual([i["id"] for i in o["issues"]], ["norm.fullwidth"])

    def test_chinese_text_output(self):
        rc, out, _ = run(["check", "--lang", "zh", "6901234567892"])
        self.assertEqual(rc, 4)
        self.assertIn("商品条码", out)
        self.assertIn("药品追溯码", out)
        self.assertIn("本地检查，不是医保销售结算记录", out)

    def test_lang_from_environment(self):
        _, out, _ = run(["check", "81234567890123456789"], env={"LANG": "zh_CN.UTF-8"})
        self.assertIn("药品标识码 8123456", out)
        _, out, _ = run(["check", "81234567890123456789"], env={"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"})
        self.assertIn("product code 8123456", out)

    def test_csv(self):
        rc, out, _ = run(["check", "-f", "csv", "81234567890123456789", "]C101%s10A,B<GS>21S\"1" % G])
        self.assertEqual(rc, 0)
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(rows[0][:4], ["input", "kind", "valid", "text"])
        self.assertEqual(len(rows), 3)
        head = rows[0]
        r1 = dict(zip(head, rows[1]))
        r2 = dict(zip(head, rows[2]))
        self.assertEqual(r1["product_code"], "8123456")
        self.assertEqual(r1["valid"], "true")
        self.assertEqual(r2["batch"], "A,B")
        self.assertEqual(r2["serial"], 'S"1')
        self.assertEqual(r2["text"], "01%s10A,B<GS>21S\"1" % G)
        self.assertEqual(r2["issues"], "norm.aim_prefix;norm.gs_standin")

    def test_empty_argument(self):
        rc, out, err = run(["check", "-f", "json", ""])
        self.assertEqual(rc, 4)
        self.assertEqual(jsonl(out)[0]["issues"][0]["id"], "input.empty")
        self.assertEqual(err, "drugscan: argument 1: empty input\n")


class CheckStdin(unittest.TestCase):
    def test_scanner_lines(self):
        stdin = ("81234567890123456789\r\n]d201%s1727033110B1\x1d21S1\r\n6901234567892\n"
                 "８１２３４５６７８９０１２３４５６７８９\r" % G).encode()
        rc, out, err = run(["check", "-f", "json", "-"], stdin)
        objs = jsonl(out)
        self.assertEqual(len(objs), 4)
        self.assertEqual([o["kind"] for o in objs], ["nmpa20", "gs1", "product-barcode", "nmpa20"])
        self.assertEqual(objs[1]["aim"], "]d2")
        self.assertEqual(objs[1]["symbology"], "gs1-datamatrix")
        self.assertEqual(rc, 4)
        self.assertEqual(err, "")

    def test_stdin_without_dash_when_piped(self):
        rc, out, err = run(["check", "-f", "json"], b"81234567890123456789\n")
        self.assertEqual(rc, 0)
        self.assertEqual(len(jsonl(out)), 1)

    def test_bad_lines_get_one_line_errors_and_the_run_goes_on(self):
        lines = [b"81234567890123456789", b"", b"   ", b"\xff\xfe\x00garbage", b"8123\xc3(",
                 b"A" * (1024 * 1024), b"\x01\x02\x03", b"81234567890123456789"]
        rc, out, err = run(["check", "-f", "json", "-"], b"\n".join(lines) + b"\n")
        self.assertEqual(rc, 1)
        objs = jsonl(out)
        # empty and blank lines are skipped; every other line gets exactly one object
        self.assertEqual(len(objs), 6)
        self.assertEqual(objs[0]["valid"], True)
        self.assertEqual(objs[-1]["valid"], True)
        self.assertEqual(objs[1]["issues"][0]["id"], "input.invalid_utf8")
        self.assertEqual(objs[1]["input"], "\ufffd\ufffd\x00garbage")
        self.assertEqual(objs[2]["issues"][0]["id"], "input.invalid_utf8")
        self.assertEqual(objs[3]["issues"][0]["id"], "input.too_long")
        self.assertEqual(objs[3]["input"], "")
        self.assertEqual(objs[4]["issues"][0]["id"], "input.control_char")
        self.assertEqual(err.splitlines(), [
            "drugscan: line 2: empty line, skipped",
            "drugscan: line 3: empty line, skipped",
            "drugscan: line 4: input is not valid UTF-8 text",
            "drugscan: line 5: input is not valid UTF-8 text",
            "drugscan: line 6: input too long (1048576 bytes, limit 8192)",
            "drugscan: line 7: input contains control character 0x01 (binary data?)",
        ])

    def test_many_lines_keep_order(self):
        codes = ["8%019d" % i for i in range(5000)]
        rc, out, _ = run(["check", "-f", "jsonl", "-"], ("\n".join(codes) + "\n").encode())
        self.assertEqual(rc, 0)
        self.assertEqual([o["text"] for o in jsonl(out)], codes)

    def test_no_trailing_newline(self):
        rc, out, _ = run(["check", "-f", "json", "-"], b"81234567890123456789")
        self.assertEqual(len(jsonl(out)), 1)
        self.assertEqual(rc, 0)

    def test_empty_stdin(self):
        rc, out, err = run(["check", "-"], b"")
        self.assertEqual((rc, out, err), (0, "", ""))

    def test_each_line_is_answered_before_the_next_arrives(self):
        # a handheld scanner sends one line and waits for the answer: no buffering until EOF
        p = subprocess.Popen(WRAP + [BIN, "check", "-f", "json", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=ENV)
        try:
            for c in ("81234567890123456789", "6901234567892"):
                p.stdin.write((c + "\r\n").encode())
                p.stdin.flush()
                self.assertEqual(json.loads(p.stdout.readline())["input"], c)
        finally:
            p.stdin.close()
            p.wait(timeout=60)

    def test_tty_without_arguments_is_a_usage_error(self):
        master, slave = pty.openpty()
        try:
            p = subprocess.run(WRAP + [BIN, "check"], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=ENV, timeout=30)
        finally:
            os.close(master)
            os.close(slave)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"no code given", p.stderr)


class UnitKeyAndVerdict(unittest.TestCase):
    def test_one_pack_one_unit_key_whatever_the_carrier(self):
        forms = ["]d2010690123456789221SERIAL1", "https://id.example.com/01/%s/21/SERIAL1" % G,
                 "(01)%s(21)SERIAL1" % G, "(01)%s(17)270331(10)B1(21)SERIAL1" % G]
        rc, out, err = run(["check", "--format", "json"] + forms)
        objs = jsonl(out)
        self.assertEqual(len(objs), 4, err)
        self.assertEqual({o["unit_key"] for o in objs}, {"01%s21SERIAL1" % G})
        self.assertEqual(objs[1]["kind"], "url")

    def test_no_unit_key_for_what_names_no_pack(self):
        rc, out, _ = run(["check", "--format", "json", "6901234567892", "(01)%s(10)B1" % G, "81234567890123456789"])
        self.assertEqual([o["unit_key"] for o in jsonl(out)], [None, None, "81234567890123456789"])

    def test_damaged_catalog_is_an_error_not_a_silent_no_drug(self):
        home = tempfile.mkdtemp(prefix="drugscan-check-damaged-")
        try:
            env = {"DRUGSCAN_HOME": home}
            rc, out, _ = run(["check", "--format", "json", "81000464033958964338"], env=env)
            self.assertIsNotNone(jsonl(out)[0]["drug"])
            # damage the identifiers table (its root page), so the lookup itself fails
            db = os.path.join(home, "catalog.db")
            con = sqlite3.connect(db)
            root, size = con.execute("SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_master"
                                     " WHERE name = 'identifiers'").fetchone()
            con.close()
            with open(db, "r+b") as f:
                f.seek((root - 1) * size)
                f.write(b"\xaa" * size)
            rc, out, err = run(["check", "--format", "json", "81000464033958964338"], env=env)
            self.assertEqual(rc, 1, err)
            o = jsonl(out)[0]
            self.assertIsNone(o["drug"])
            self.assertIn("catalog.error", [l["id"] for l in o["labels"]])
            # found by the check of the whole file when the catalog is opened: said once, named as damage
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertRegex(err, r"^drugscan: catalog '.*catalog\.db' is damaged: .+; left untouched;"
                                  r" codes are checked without the catalog\n$")
        finally:
            import shutil
            shutil.rmtree(home, ignore_errors=True)


class Headline(unittest.TestCase):
    """The first line tells the truth: no plain check mark over an alert or a product code."""

    def test_expired_is_not_a_plain_tick(self):
        rc, out, _ = run(["check", "(01)%s(17)250101(21)EXP1" % G])
        self.assertEqual(rc, 3)
        head = out.splitlines()[1]
        self.assertTrue(head.startswith("  \u26a0 "), head)
        self.assertIn("well-formed, but EXPIRED", head)
        self.assertNotIn("\u2713", out)
        rc, out, _ = run(["check", "--lang", "zh", "81000464033958964338"])  # demo recall of 8100046
        self.assertEqual(rc, 3)
        self.assertIn("格式正确，但已召回", out.splitlines()[1])

    def test_gs1_without_serial_names_a_product_and_exits_4(self):
        rc, out, _ = run(["check", "(01)%s(10)B1" % G])
        self.assertEqual(rc, 4)
        self.assertNotIn("\u2713", out)
        self.assertIn("no serial, so it names the product, not this box", out.splitlines()[1])
        rc, out, _ = run(["check", "(01)%s(10)B1(21)S1" % G])
        self.assertEqual(rc, 0)
        self.assertTrue(out.splitlines()[1].startswith("  \u2713 "))


class Usage(unittest.TestCase):
    def test_help(self):
        for args in (["check", "--help"], ["check", "-h"], ["help", "check"]):
            rc, out, err = run(args)
            self.assertEqual(rc, 0, args)
            self.assertTrue(out.startswith("usage: drugscan check"), out)
            for opt in ("--format", "--lang", "--symbology", "--expiring-days", "--help"):
                self.assertIn(opt, out)
        rc, out, _ = run(["--help"])
        self.assertEqual(rc, 0)
        self.assertIn("check", out)

    def test_usage_errors(self):
        rc, out, err = run(["check", "--bogus", "1"])
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertEqual(err.splitlines()[0], "drugscan check: unknown option '--bogus'")
        rc, _, err = run(["check", "--format", "xml", "1"])
        self.assertEqual(rc, 2)
        self.assertIn("invalid value 'xml' for --format", err)
        rc, _, err = run(["check", "--expiring-days", "-1", "1"])
        self.assertEqual(rc, 2)
        for days in ("", "30x", "0x10"):
            rc, _, err = run(["check", "--expiring-days", days, "1"])
            self.assertEqual(rc, 2, days)
            self.assertIn("--expiring-days needs a number of days (0-3650)", err)
        rc, _, err = run(["nosuch"])
        self.assertEqual(rc, 2)
        self.assertIn("unknown command 'nosuch'", err)
        rc, _, _ = run([])
        self.assertEqual(rc, 2)

    def test_version(self):
        rc, out, _ = run(["--version"])
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("drugscan "))

    def test_write_error_is_reported(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        with open("/dev/full", "wb") as full:
            p = subprocess.run(WRAP + [BIN, "check", "81234567890123456789"], stdout=full, stderr=subprocess.PIPE,
                               env=ENV, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"cannot write output", p.stderr)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    try:
        unittest.main(verbosity=1)
    finally:
        import shutil
        shutil.rmtree(HOME, ignore_errors=True)

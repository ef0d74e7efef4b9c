#!/usr/bin/env python3
"""CLI tests for `drugscan catalog` and the labels on checked codes.

Updates run against a real HTTP server started here on 127.0.0.1 that
misbehaves on purpose: after every failure the old catalog must still answer,
byte for byte the same file.

usage: test_catalog.py path/to/drugscan path/to/fixtures
"""
import hashlib
import http.server
import json
import os
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
FIX = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))


def run(args, home, stdin=b"", timeout=120):
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01",
               DRUGSCAN_HOME=home, DRUGSCAN_CATALOG_SEED="demo")  # the synthetic demo catalog
    p = subprocess.run(WRAP + [BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def jsonl(out):
    return [json.loads(l) for l in out.splitlines()]


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Labels(unittest.TestCase):
    """Every label id on the demo catalog, found through the catalog itself."""

    @classmethod
    def setUpClass(cls):
        cls.home = tempfile.mkdtemp(prefix="drugscan-cat-")
        run(["catalog", "info"], cls.home)
        cls.db = sqlite3.connect(os.path.join(cls.home, "catalog.db"))

    @classmethod
    def tearDownClass(cls):
        cls.db.close()
        shutil.rmtree(cls.home)

    def prefix_where(self, where):
        row = self.db.execute("SELECT i.value FROM identifiers i JOIN drugs d USING (nhsa_code) WHERE i.type ="
                              " 'trace_prefix' AND i.package_level = 1 AND " + where + " LIMIT 1").fetchone()
        self.assertIsNotNone(row, where)
        return row[0] + "0000000001234"

    def labels(self, code, *extra):
        rc, out, err = run(["check", "-f", "json"] + list(extra) + [code], self.home)
        o = jsonl(out)[0]
        return rc, o, {l["id"]: l for l in o["labels"]}

    def test_class_a_and_b(self):
        rc, o, l = self.labels(self.prefix_where("d.category = 'A' AND d.restriction = ''"))
        self.assertIn("nrdl.class_a", l)
        self.assertEqual(o["drug"]["category"], "A")
        self.assertEqual(rc, 0)
        rc, o, l = self.labels(self.prefix_where("d.category = 'B'"))
        self.assertIn("nrdl.class_b", l)

    def test_negotiated_new_and_inpatient_level(self):
        code = self.prefix_where("d.nhsa_code IN (SELECT nhsa_code FROM list_members WHERE list_id = 'nrdl-2025-new')"
                                 " AND d.negotiated")
        rc, o, l = self.labels(code)
        for id_ in ("nrdl.negotiated", "nrdl.new_2025", "policy.outpatient_inpatient_level"):
            self.assertIn(id_, l)
        self.assertIn("95%", l["policy.outpatient_inpatient_level"]["text"])
        self.assertIn("80%", l["policy.outpatient_inpatient_level"]["text"])
        self.assertIn("nrdl-2025-new", o["drug"]["lists"])
        self.assertTrue(o["drug"]["negotiated"])
        rc, o, l = self.labels(code, "--insurance", "resident")
        self.assertIn("80%", l["policy.outpatient_inpatient_level"]["text"])
        self.assertNotIn("95%", l["policy.outpatient_inpatient_level"]["text"])

    def test_dual_channel_chronic_restricted(self):
        rc, o, l = self.labels(self.prefix_where(
            "d.nhsa_code IN (SELECT nhsa_code FROM list_members WHERE list_id = 'dual-channel')"))
        self.assertIn("policy.dual_channel", l)
        rc, o, l = self.labels(self.prefix_where(
            "d.nhsa_code IN (SELECT nhsa_code FROM list_members WHERE list_id = 'chronic-outpatient')"))
        self.assertIn("policy.chronic_outpatient", l)
        rc, o, l = self.labels(self.prefix_where("d.restriction != ''"))
        self.assertIn("nrdl.restricted", l)
        self.assertEqual(l["nrdl.restricted"]["severity"], "warn")
        self.assertIn(o["drug"]["restriction"], l["nrdl.restricted"]["text"])

    def test_not_covered_commercial_unmapped(self):
        rc, o, l = self.labels(self.prefix_where("d.category IS NULL AND NOT d.negotiated AND d.nhsa_code NOT IN"
                                                 " (SELECT nhsa_code FROM list_members)"))
        self.assertIn("nrdl.not_covered", l)
        rc, o, l = self.labels(self.prefix_where(
            "d.nhsa_code IN (SELECT nhsa_code FROM list_members WHERE list_id = 'commercial-innovative')"))
        self.assertIn("list.commercial_innovative", l)
        rc, o, l = self.labels("80000000000000000000")
        self.assertIn("catalog.unmapped", l)
        self.assertIsNone(o["drug"])

    def test_recall_is_an_alert(self):
        rc, o, l = self.labels("(01)06901234567892(17)280331(10)B2503(21)X1")
        self.assertEqual(l["recall.batch"]["severity"], "alert")
        self.assertEqual(rc, 3)
        rc, o, l = self.labels("(01)06901234567892(17)280331(10)B2601(21)X1")
        self.assertNotIn("recall.batch", l)
        self.assertEqual(rc, 0)

    def test_every_verdict_carries_the_note(self):
        rc, o, l = self.labels("81234567890123456789")
        self.assertIn("not the national medical-insurance sales record", o["note"])
        self.assertIn("药品追溯信息查询", o["note"])

    def test_info_and_lists(self):
        rc, out, _ = run(["catalog", "info"], self.home)
        self.assertEqual(rc, 0)
        self.assertIn("SYNTHETIC DEMO DATA", out)
        rc, out, _ = run(["catalog", "info", "-f", "json"], self.home)
        info = json.loads(out)
        self.assertEqual(info["listed"], 3253)
        self.assertTrue(info["synthetic"])
        rc, out, _ = run(["catalog", "lists", "-f", "json"], self.home)
        lists = {l["list_id"]: l for l in json.loads(out)}
        self.assertEqual(lists["nrdl-2025-new"]["members"], 114)
        self.assertEqual(lists["commercial-innovative"]["members"], 19)


class Import(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="drugscan-imp-")
        self.tmp = tempfile.mkdtemp(prefix="drugscan-csv-")

    def tearDown(self):
        shutil.rmtree(self.home)
        shutil.rmtree(self.tmp)

    def write(self, name, text, encoding="utf-8"):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(text.encode(encoding))
        return path

    def test_bundle_then_check(self):
        rc, out, err = run(["catalog", "import", "--replace", os.path.join(FIX, "catalog")], self.home)
        self.assertEqual(rc, 0, err)
        self.assertIn("imported", out)
        rc, out, _ = run(["check", "-f", "json", "81000120000000000001"], self.home)
        self.assertIsNotNone(jsonl(out)[0]["drug"])

    def test_nhsa_export_gb18030(self):
        path = self.write("医保药品.csv",
                          "药品代码,注册名称,商品名称,注册剂型,注册规格,药品企业,批准文号,药品本位码,甲乙类,编号,备注\n"
                          "XT01,测试药片,测试,片剂,10mg,\"测试药业, 有限公司\",国药准字H1,86900000000101,乙,9,限二线用药\n",
                          "gb18030")
        ident = self.write("identifiers.csv", "type,value,nhsa_code\ntrace_prefix,8777777,XT01\n")
        rc, out, err = run(["catalog", "import", "--replace", path, ident], self.home)
        self.assertEqual(rc, 0, err)
        rc, out, _ = run(["check", "-f", "json", "87777770000000000001"], self.home)
        o = jsonl(out)[0]
        self.assertEqual(o["drug"]["generic_name"], "测试药片")
        self.assertEqual(o["drug"]["manufacturer"], "测试药业, 有限公司")
        ids = [l["id"] for l in o["labels"]]
        self.assertEqual(ids, ["nrdl.class_b", "nrdl.restricted"])

    def test_bad_rows_change_nothing(self):
        run(["catalog", "info"], self.home)  # the demo
        db = os.path.join(self.home, "catalog.db")
        before = sha(db)
        path = self.write("drugs.csv", "nhsa_code,generic_name,category\nX1,好,甲\nX2,坏,丁\nX3,坏,9\n")
        rc, out, err = run(["catalog", "import", path], self.home)
        self.assertEqual(rc, 1)
        self.assertIn("drugs.csv:3:3: category '丁'", err)
        self.assertIn("drugs.csv:4:3: category '9'", err)
        self.assertIn("2 bad rows: nothing was imported", err)
        self.assertEqual(sha(db), before)
        rc, out, err = run(["catalog", "import", "--skip-bad", path], self.home)
        self.assertEqual(rc, 0)
        self.assertIn("imported 1 row from 1 file", out)  # not "1 rows"

    def test_corrupt_or_foreign_catalog_is_never_overwritten(self):
        db = os.path.join(self.home, "catalog.db")
        with open(db, "wb") as f:
            f.write(b"definitely not sqlite" * 100)
        before = sha(db)
        rc, out, err = run(["check", "-f", "json", "81234567890123456789"], self.home)
        self.assertEqual(rc, 1)
        self.assertEqual(len(jsonl(out)), 1)  # the code is still checked
        self.assertIn("not a drugscan catalog", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        self.assertEqual(sha(db), before)
        os.unlink(db)
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE accounts (id)")
        con.commit()
        con.close()
        before = sha(db)
        rc, out, err = run(["catalog", "info"], self.home)
        self.assertEqual(rc, 1)
        self.assertIn("another program's database", err)
        self.assertEqual(sha(db), before)

    def test_usage(self):
        rc, out, err = run(["catalog"], self.home)
        self.assertEqual(rc, 2)
        rc, out, err = run(["catalog", "import"], self.home)
        self.assertEqual(rc, 2)
        rc, out, err = run(["catalog", "frobnicate"], self.home)
        self.assertEqual(rc, 2)
        for t in ("0", "5x", "", "86401"):
            rc, out, err = run(["catalog", "update", "--url", "https://example.com/m.json", "--timeout", t], self.home)
            self.assertEqual(rc, 2, t)
            self.assertIn("--timeout needs seconds from 1 to 86400", err)
        rc, out, err = run(["catalog", "--help"], self.home)
        self.assertEqual(rc, 0)
        self.assertIn("--replace", out)


# ---- a misbehaving server on 127.0.0.1 ----

class Handler(http.server.BaseHTTPRequestHandler):
    files = {}      # path -> bytes
    etag = "\"v2\""

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        p = self.path
        if p.startswith("/stall/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            time.sleep(8)
            return
        if p == "/500/manifest.json":
            return self.send(500, b"oops")
        if p == "/redirect-file/manifest.json":
            return self.send(302, headers=[("Location", "file:///etc/passwd")])
        if p == "/redirect-ok/manifest.json":
            return self.send(302, headers=[("Location", "/ok/manifest.json")])
        if p == "/redirect-loop/manifest.json":
            return self.send(302, headers=[("Location", "/redirect-loop/manifest.json")])
        if p.startswith("/truncated/") and not p.endswith("manifest.json"):
            body = Handler.files["/ok/" + p.split("/", 2)[2]]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        if p.startswith("/ok/") and p.endswith("manifest.json") and self.headers.get("If-None-Match") == Handler.etag:
            return self.send(304)
        body = Handler.files.get(p)
        if body is None:
            return self.send(404, b"no")
        self.send(200, body, [("ETag", Handler.etag), ("Content-Type", "application/octet-stream")])


class Update(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        bundle = {
            "drugs.csv": "nhsa_code,generic_name,category\nXU01,更新后的药,甲\n",
            "identifiers.csv": "type,value,nhsa_code\ntrace_prefix,8123456,XU01\n",
            "meta.csv": "key,value\nsource,test server\n",
        }
        files = {n: t.encode() for n, t in bundle.items()}

        def manifest(sha_override=None, size_override=None):
            return json.dumps({"version": "2026.2-test", "files": [
                {"name": n, "size": size_override or len(b),
                 "sha256": sha_override or hashlib.sha256(b).hexdigest()} for n, b in files.items()]}).encode()

        f = Handler.files
        for prefix in ("ok", "truncated"):
            f["/%s/manifest.json" % prefix] = manifest()
            for n, b in files.items():
                f["/%s/%s" % (prefix, n)] = b
        f["/badsha/manifest.json"] = manifest(sha_override="0" * 64)
        for n, b in files.items():
            f["/badsha/" + n] = b
        f["/oversized/manifest.json"] = manifest()
        for n, b in files.items():
            f["/oversized/" + n] = b + b"X" * 4096  # more than the manifest says
        f["/notjson/manifest.json"] = b"<html>captive portal</html>"
        f["/evilname/manifest.json"] = json.dumps({"version": "1", "files": [
            {"name": "../../etc/passwd", "size": 1, "sha256": "0" * 64}]}).encode()
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        cls.port = cls.server.server_address[1]
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="drugscan-upd-")
        run(["catalog", "info"], self.home)  # the demo catalog is the "old" one
        self.db = os.path.join(self.home, "catalog.db")

    def tearDown(self):
        shutil.rmtree(self.home)

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path)

    def old_answers(self):
        rc, out, _ = run(["check", "-f", "json", "81234567890123456789"], self.home)
        return jsonl(out)[0]["drug"]["generic_name"]

    def assert_fails_and_old_survives(self, path, message, *extra):
        before = sha(self.db)
        name = self.old_answers()
        rc, out, err = run(["catalog", "update", "--url", self.url(path)] + list(extra), self.home)
        self.assertEqual(rc, 1, err)
        self.assertIn(message, err)
        self.assertIn("the catalog is unchanged", err)
        self.assertEqual(sha(self.db), before)
        self.assertEqual(self.old_answers(), name)
        self.assertEqual([f for f in os.listdir(self.home) if f != "catalog.db"], [])

    def test_success_then_304(self):
        self.assertNotEqual(self.old_answers(), "更新后的药")
        rc, out, err = run(["catalog", "update", "--url", self.url("ok/manifest.json")], self.home)
        self.assertEqual(rc, 0, err)
        self.assertIn("updated to version 2026.2-test", out)
        self.assertEqual(self.old_answers(), "更新后的药")
        rc, out, _ = run(["catalog", "info", "-f", "json"], self.home)
        info = json.loads(out)
        self.assertEqual(info["version"], "2026.2-test")
        self.assertFalse(info["synthetic"])
        before = sha(self.db)
        rc, out, err = run(["catalog", "update", "--url", self.url("ok/manifest.json")], self.home)
        self.assertEqual(rc, 0)
        self.assertIn("up to date", out)
        self.assertEqual(sha(self.db), before)

    def test_update_again_without_url_and_never_over_a_foreign_file(self):
        rc, out, err = run(["catalog", "update"], self.home)
        self.assertEqual(rc, 1)
        self.assertIn("no update URL", err)
        rc, out, err = run(["catalog", "update", "--url", self.url("ok/manifest.json")], self.home)
        self.assertEqual(rc, 0, err)
        rc, out, err = run(["catalog", "update"], self.home)  # the last URL, answered with 304
        self.assertEqual(rc, 0, err)
        self.assertIn("up to date", out)
        os.unlink(self.db)
        con = sqlite3.connect(self.db)
        con.execute("CREATE TABLE mine (x)")
        con.commit()
        con.close()
        before = sha(self.db)
        rc, out, err = run(["catalog", "update", "--url", self.url("ok/manifest.json")], self.home)
        self.assertEqual(rc, 1)
        self.assertIn("another program's database", err)
        self.assertEqual(sha(self.db), before)

    def test_redirect_within_this_machine(self):
        rc, out, err = run(["catalog", "update", "--url", self.url("redirect-ok/manifest.json")], self.home)
        self.assertEqual(rc, 0, err)

    def test_wrong_sha256(self):
        self.assert_fails_and_old_survives("badsha/manifest.json", "sha256 does not match")

    def test_truncated_body(self):
        self.assert_fails_and_old_survives("truncated/manifest.json", "truncated/")

    def test_server_error(self):
        self.assert_fails_and_old_survives("500/manifest.json", "HTTP 500")

    def test_redirect_to_file(self):
        self.assert_fails_and_old_survives("redirect-file/manifest.json", "refusing 'file:///etc/passwd'")

    def test_redirect_loop(self):
        self.assert_fails_and_old_survives("redirect-loop/manifest.json", "more than 5 redirects")

    def test_oversized_body(self):
        self.assert_fails_and_old_survives("oversized/manifest.json", "larger than")

    def test_stalled_server_times_out(self):
        t0 = time.time()
        self.assert_fails_and_old_survives("stall/manifest.json", "timed out", "--timeout", "2")
        self.assertLess(time.time() - t0, 60)

    def test_not_json_and_evil_names(self):
        self.assert_fails_and_old_survives("notjson/manifest.json", "manifest is not JSON")
        self.assert_fails_and_old_survives("evilname/manifest.json", "plain name")

    def test_plain_http_elsewhere_is_refused(self):
        before = sha(self.db)
        rc, out, err = run(["catalog", "update", "--url", "http://example.com/manifest.json"], self.home)
        self.assertEqual(rc, 1)
        self.assertIn("only https://", err)
        self.assertEqual(sha(self.db), before)

    def test_nothing_listening(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        before = sha(self.db)
        rc, out, err = run(["catalog", "update", "--url", "http://127.0.0.1:%d/m.json" % port], self.home)
        self.assertEqual(rc, 1)
        self.assertIn("cannot fetch", err)
        self.assertEqual(sha(self.db), before)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FIX = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)

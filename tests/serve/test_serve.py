#!/usr/bin/env python3
"""API tests for `drugscan serve`: the real server on 127.0.0.1 with a free port and a
temporary data directory, spoken to with a plain HTTP client. Every endpoint, the JSON
objects against the CLI's, bad and hostile requests (bad JSON, oversized bodies, path
traversal, foreign Host and Origin, wrong tokens), the refusal to listen off loopback
without a token, concurrent sells of the same boxes, SIGTERM with requests in flight,
a damaged ledger, and kill -9 under load.

usage: test_serve.py path/to/drugscan path/to/fixtures path/to/drugscan-faulty
"""
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

BIN = None
FIXTURES = None
FAULTY = None  # drugscan with tests/faultvfs.c: SQLite I/O that fails on demand
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
SEED = None  # a data directory whose catalog.db is built once and copied


def env_for(home):
    return dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=home,
                DRUGSCAN_CATALOG_SEED="demo")  # the synthetic demo catalog, whose codes the tests use


def clean(i):
    """A 20-digit code of 阿托伐他汀钙片 (10 units a box; no warning, no alert in the demo catalog)."""
    return "8100031%09d1234" % i


def png(width, height, rows):
    """A greyscale PNG; rows() yields each row's bytes."""
    raw = b"".join(b"\0" + r for r in rows())
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def pgm_png(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    pix = data[m.end():]
    return png(w, h, lambda: (pix[y * w:(y + 1) * w] for y in range(h)))


class Server:
    """drugscan serve on 127.0.0.1:0 (or args), its URL read from its first line."""

    def __init__(self, home, *args, expect_start=True, binary=None, env=None):
        self.home = home
        self.args = list(args)
        self.p = subprocess.Popen(WRAP + [binary or BIN, "serve", "--data-dir", home] + self.args,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(env_for(home), **(env or {})))
        self.url = None
        if expect_start:
            line = self.p.stdout.readline().decode()
            m = re.match(r"http://([0-9.]+):(\d+)/", line)
            if not m:
                self.p.kill()
                raise AssertionError("serve did not start: %r %s" % (line, self.p.stderr.read().decode()[-2000:]))
            self.host, self.port = m.group(1), int(m.group(2))
            self.url = line.strip()

    def conn(self, timeout=60):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def req(self, method, path, body=None, ctype="application/json", headers=None, conn=None):
        c = conn or self.conn()
        h = dict(headers or {})
        if body is not None:
            if not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
            h.setdefault("Content-Type", ctype)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        try:
            j = json.loads(data) if data else None
        except ValueError:
            j = None
        return r.status, j, r, data

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            out, err = self.p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
        return self.p.returncode, err.decode()


def new_home():
    home = tempfile.mkdtemp(prefix="drugscan-serve-")
    shutil.copy(os.path.join(SEED, "catalog.db"), os.path.join(home, "catalog.db"))
    return home


def cli(home, *args, stdin=None):
    p = subprocess.run(WRAP + [BIN] + list(args), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env_for(home), timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Api(unittest.TestCase):
    """One server for the endpoints that do not need a fresh one."""

    @classmethod
    def setUpClass(cls):
        cls.home = new_home()
        cls.s = Server(cls.home, "--listen", "127.0.0.1:0", "--station", "T1", "--lang", "en")

    @classmethod
    def tearDownClass(cls):
        rc, err = cls.s.stop()
        shutil.rmtree(cls.home)
        assert rc == 0, err

    def error(self, status, j, want_status, want_id):
        self.assertEqual(status, want_status, j)
        self.assertEqual(sorted(j), ["error"])
        self.assertEqual(j["error"]["id"], want_id)
        self.assertTrue(j["error"]["message"] and "\n" not in j["error"]["message"])

    def test_healthz_and_version(self):
        st, j, _, _ = self.s.req("GET", "/healthz")
        self.assertEqual((st, j), (200, {"status": "ok"}))
        st, j, r, _ = self.s.req("GET", "/v1/version")
        self.assertEqual(st, 200)
        self.assertEqual((j["format_version"], j["name"], j["api"]), (1, "drugscan", 1))
        self.assertTrue(j["catalog"]["synthetic"])
        rc, out, _ = cli(self.home, "catalog", "info", "--format", "json")
        self.assertEqual(j["catalog"], json.loads(out))  # the command line's object
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertIsNone(r.getheader("Access-Control-Allow-Origin"))  # CORS is off

    def test_check_is_the_cli_object(self):
        codes = [clean(1), "(01)06901234567892(17)270331(21)A1B2", "6901234567892", "not a code"]
        st, j, _, _ = self.s.req("POST", "/v1/check", {"codes": codes, "lang": "zh"})
        self.assertEqual(st, 200)
        self.assertEqual(j["format_version"], 1)
        rc, out, _ = cli(self.home, "check", "--format", "json", "--lang", "zh", *codes)
        self.assertEqual(j["results"], [json.loads(l) for l in out.splitlines()])
        self.assertEqual(j["results"][0]["drug"]["generic_name"], "阿托伐他汀钙片")
        st, j, _, _ = self.s.req("POST", "/v1/check", {"codes": [clean(1)], "insurance": "employee", "lang": "en",
                                                       "symbology": "code128", "expiring_days": 30})
        self.assertEqual((st, j["results"][0]["symbology"]), (200, "code128"))

    def test_check_bad_requests(self):
        for body, want in [(b"{", "request.bad_json"), (b"", "request.bad_json"), (b"[1]", "request.bad_json"),
                           (b'{"codes":"81"}', "request.invalid"), (b'{"codes":[]}', "request.invalid"),
                           (b'{"codes":[1]}', "request.invalid"), (b'{"code":["x"]}', "request.unknown_field"),
                           (b'{"codes":["x"],"insurance":"gold"}', "request.invalid"),
                           (b'{"codes":["x"],"codes":["y"]}', "request.bad_json"),
                           (json.dumps({"codes": ["1"] * 1001}).encode(), "request.invalid"),
                           (b'{"codes":["\xff"]}', "request.bad_json")]:
            st, j, _, _ = self.s.req("POST", "/v1/check", body)
            self.error(st, j, 400, want)
        st, j, _, _ = self.s.req("POST", "/v1/check", b'{"codes":["x"]}', ctype="text/plain")
        self.error(st, j, 415, "http.unsupported_media_type")  # a cross-site form cannot send it
        st, j, _, _ = self.s.req("POST", "/v1/check", b'{"codes":["x"]}', ctype="application/x-www-form-urlencoded")
        self.error(st, j, 415, "http.unsupported_media_type")

    def test_counter_rules_and_cli_parity(self):
        c = clean(10)
        st, j, _, _ = self.s.req("POST", "/v1/counter/receive", {"code": c})
        self.assertEqual(st, 200)
        self.assertEqual((j["ledger"]["state_before"], j["ledger"]["state_after"], j["ledger"]["outcome"]),
                         ("unknown", "in_stock", "ok"))
        st, j, _, _ = self.s.req("POST", "/v1/counter/sell", {"code": c, "operator": "Li"})
        self.assertEqual((st, j["ledger"]["outcome"], j["ledger"]["refused"]), (200, "ok", False))
        st, j, _, _ = self.s.req("POST", "/v1/counter/sell", {"code": c})
        self.assertEqual((j["ledger"]["outcome"], j["ledger"]["refused"]), ("alert", True))
        self.assertIn("ledger.already_sold", [l["id"] for l in j["labels"]])
        # the same object as `drugscan counter sell --format json`, event ids aside
        other = tempfile.mkdtemp(prefix="drugscan-serve-cli-")
        try:
            shutil.copy(os.path.join(self.home, "catalog.db"), other)
            cli(other, "counter", "receive", "-q", "-f", "json", "--lang", "en", "--station", "T1", c)
            cli(other, "counter", "sell", "-q", "-f", "json", "--lang", "en", "--station", "T1", c)
            rc, out, _ = cli(other, "counter", "sell", "-q", "-f", "json", "--lang", "en", "--station", "T1", c)
        finally:
            shutil.rmtree(other)
        want = json.loads(out)
        for o in (want, j):
            o["ledger"].pop("event_id")
        self.assertEqual(j, want)

    def test_counter_split_undo_return(self):
        c = clean(20)
        self.s.req("POST", "/v1/counter/receive", {"code": c})
        st, j, _, _ = self.s.req("POST", "/v1/counter/sell", {"code": c, "split": True, "qty": 3})
        self.assertEqual((st, j["ledger"]["state_after"], j["ledger"]["units_left"]), (200, "in_stock", 7))
        st, j, _, _ = self.s.req("POST", "/v1/counter/undo", {"code": c, "station": "elsewhere"})
        self.assertEqual((j["ledger"]["refused"], [l["id"] for l in j["labels"] if l["id"].startswith("ledger.")]),
                         (True, ["ledger.undo_refused"]))
        st, j, _, _ = self.s.req("POST", "/v1/counter/undo", {"code": c})  # the server's station, T1
        self.assertEqual((j["ledger"]["refused"], j["ledger"]["units_left"]), (False, 10))
        self.s.req("POST", "/v1/counter/sell", {"code": c})
        st, j, _, _ = self.s.req("POST", "/v1/counter/return", {"code": c})
        self.assertEqual((st, j["ledger"]["state_after"]), (200, "returned"))
        for action in ("destroy", "stocktake", "scan"):
            st, j, _, _ = self.s.req("POST", "/v1/counter/" + action, {"code": clean(21)})
            self.assertEqual((st, j["ledger"]["action"]), (200, action))

    def test_counter_refusals(self):
        st, j, _, _ = self.s.req("POST", "/v1/counter/sell", {"code": "6901234567892"})
        self.assertEqual(st, 422)
        self.assertEqual((j["error"]["id"], j["kind"], j["ledger"]), ("code.not_a_pack", "product-barcode", None))
        st, j, _, _ = self.s.req("POST", "/v1/counter/sell", {"code": "(01)06901234567892(17)270331"})
        self.assertEqual((st, j["error"]["id"]), (422, "code.not_a_pack"))  # a GS1 code without a serial
        for body, want in [({}, "request.invalid"), ({"code": 5}, "request.invalid"),
                           ({"code": clean(1), "qty": 0}, "request.invalid"),
                           ({"code": clean(1), "qty": "2"}, "request.invalid"),
                           ({"code": clean(1), "split": "yes"}, "request.invalid"),
                           ({"code": clean(1), "station": "x" * 65}, "request.invalid"),
                           ({"code": clean(1), "opertor": "Li"}, "request.unknown_field"),
                           ({"code": clean(1), "split": True}, None)]:
            st, j, _, _ = self.s.req("POST", "/v1/counter/receive", body)
            self.error(st, j, 400, want or "request.invalid")  # split is for sell and return only
        st, j, _, _ = self.s.req("GET", "/v1/ledger/history?code=" + clean(1))
        self.assertEqual((st, j["events"]), (200, []))  # nothing recorded by any of them

    def test_ledger_history_and_stock(self):
        c = clean(30)
        self.s.req("POST", "/v1/counter/receive", {"code": c})
        self.s.req("POST", "/v1/counter/sell", {"code": c})
        st, j, _, _ = self.s.req("GET", "/v1/ledger/history?code=" + c)
        self.assertEqual((st, j["code"], [e["action"] for e in j["events"]]), (200, c, ["receive", "sell"]))
        rc, out, _ = cli(self.home, "ledger", "history", "--format", "jsonl", c)
        self.assertEqual(j["events"], [json.loads(l) for l in out.splitlines()])
        self.s.req("POST", "/v1/counter/receive", {"code": clean(31)})
        st, j, _, _ = self.s.req("GET", "/v1/ledger/stock")
        self.assertEqual(st, 200)
        self.assertIn("8100031", [x["product_key"] for x in j["stock"]])
        st, j, _, _ = self.s.req("GET", "/v1/ledger/history")
        self.error(st, j, 400, "request.invalid")
        st, j, _, _ = self.s.req("GET", "/v1/ledger/history?code=6901234567892")
        self.error(st, j, 422, "code.not_a_pack")  # a product barcode has no history
        st, j, _, _ = self.s.req("GET", "/v1/ledger/history?code=" + clean(32))
        self.assertEqual((st, j["events"]), (200, []))

    def test_catalog_search(self):
        st, j, _, _ = self.s.req("GET", "/v1/catalog/search?q=%E9%98%BF%E6%89%98%E4%BC%90%E4%BB%96%E6%B1%80&limit=3")
        self.assertEqual((st, j["format_version"], j["query"]), (200, 1, "阿托伐他汀"))
        self.assertGreater(j["total"], 0)
        self.assertLessEqual(len(j["hits"]), 3)
        rc, out, _ = cli(self.home, "catalog", "search", "--format", "json", "--limit", "3", "--lang", "en", "阿托伐他汀")
        self.assertEqual(j, json.loads(out))  # the command line's object
        self.assertIn("阿托伐他汀", j["hits"][0]["drug"]["generic_name"])
        for q, want in [("", "request.invalid"), ("%20", "request.invalid"), ("x&limit=0", "request.invalid"),
                        ("x&limit=abc", "request.invalid"), ("x&insurance=gold", "request.invalid"),
                        ("%FF%FE", "request.invalid")]:
            st, j, _, _ = self.s.req("GET", "/v1/catalog/search?q=" + q)
            self.error(st, j, 400, want)
        st, j, _, _ = self.s.req("GET", "/v1/catalog/search?q=zzzzqqqq")
        self.assertEqual((st, j["total"], j["hits"]), (200, 0, []))

    def test_scan_jpeg_png_webp(self):
        with open(os.path.join(FIXTURES, "scan", "rot0-code128.jpg"), "rb") as f:
            jpeg = f.read()
        with open(os.path.join(FIXTURES, "scan", "rot0-code128.expect")) as f:
            want = f.readline().strip()
        st, j, _, _ = self.s.req("POST", "/v1/scan", jpeg, ctype="image/jpeg")
        self.assertEqual((st, j["status"], j["format_version"]), (200, "decoded", 1))
        self.assertIn(want, [c["text"] for c in j["codes"]])
        rc, out, _ = cli(self.home, "check", "--format", "json", want)
        drug = json.loads(out)["drug"]["generic_name"]  # the demo catalog's drug for this code
        self.assertEqual([c["drug"]["generic_name"] for c in j["codes"] if c["text"] == want], [drug])
        frame = pgm_png(os.path.join(FIXTURES, "frames", "box-code128.pgm"))
        st, j, _, _ = self.s.req("POST", "/v1/scan?effort=thorough&lang=zh", frame, ctype="image/png")
        self.assertEqual((st, j["status"]), (200, "decoded"))
        webp = subprocess.run(["convert", "jpg:-", "webp:-"], input=jpeg, stdout=subprocess.PIPE, check=True).stdout
        st, j, _, _ = self.s.req("POST", "/v1/scan", webp, ctype="image/webp")
        self.assertIn(want, [c["text"] for c in j["codes"]])
        blank = png(64, 64, lambda: (b"\xff" * 64 for _ in range(64)))
        st, j, _, _ = self.s.req("POST", "/v1/scan", blank, ctype="image/png")
        self.assertEqual((st, j["status"], j["codes"]), (200, "no_code", []))

    def test_scan_bad_images(self):
        st, j, _, _ = self.s.req("POST", "/v1/scan", b"not an image at all", ctype="image/jpeg")
        self.error(st, j, 400, "image.unreadable")
        st, j, _, _ = self.s.req("POST", "/v1/scan", b"", ctype="image/png")
        self.error(st, j, 400, "image.empty")
        st, j, _, _ = self.s.req("POST", "/v1/scan", b"\xff\xd8", ctype="text/plain")
        self.error(st, j, 415, "http.unsupported_media_type")
        bomb = png(8000, 6000, lambda: (bytes(8000) for _ in range(6000)))  # 48 megapixels in 50 kB
        st, j, _, _ = self.s.req("POST", "/v1/scan", bomb, ctype="image/png")
        self.error(st, j, 413, "image.too_large")
        st, j, _, _ = self.s.req("POST", "/v1/scan?effort=max", b"x", ctype="image/png")
        self.error(st, j, 400, "request.invalid")

    def test_body_limits(self):
        big = b'{"codes":["' + b"8" * (1024 * 1024) + b'"]}'
        st, j, _, _ = self.s.req("POST", "/v1/check", big)
        self.error(st, j, 413, "http.too_large")
        # a client that waits for 100-continue is answered at once, and never sends the body
        sock = socket.create_connection((self.s.host, self.s.port), timeout=30)
        sock.sendall(b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(big))
        r = http.client.HTTPResponse(sock)
        r.begin()
        self.error(r.status, json.loads(r.read()), 413, "http.too_large")
        sock.close()
        # chunked, no length: read up to the limit, then refused
        c = self.s.conn()
        c.putrequest("POST", "/v1/counter/sell")
        c.putheader("Content-Type", "application/json")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for _ in range(20):
            piece = b"8" * 65536
            c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        self.error(r.status, json.loads(r.read()), 413, "http.too_large")
        c.close()
        st, j, _, _ = self.s.req("POST", "/v1/scan", b"\0" * (17 * 1024 * 1024), ctype="image/jpeg")
        self.error(st, j, 413, "http.too_large")
        st, j, _, _ = self.s.req("GET", "/healthz")  # still serving
        self.assertEqual(st, 200)

    def test_nothing_but_the_api_and_the_page(self):
        for path in ["/../etc/passwd", "/v1/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd",
                     "//etc/passwd", "/index.html", "/serve/page/app.js", "/app.js/../../CMakeLists.txt",
                     "/v1/counter/sell/../../../etc/passwd", "/v1/counter/", "/v1/counter/fly", "/v1", "/v2/check",
                     "/style.css%00.html", "/catalog.db", "/ledger.db", "/%00"]:
            c = self.s.conn()
            c.putrequest("GET", path, skip_accept_encoding=True)
            c.endheaders()
            r = c.getresponse()
            data = r.read()
            c.close()
            self.assertIn(r.status, (400, 404), path)
            self.assertNotIn(b"root:", data)
            self.assertNotIn(b"SQLite format", data)
            if r.status == 404:
                self.assertEqual(json.loads(data)["error"]["id"], "http.not_found")
        st, _, r, html = self.s.req("GET", "/")
        self.assertEqual((st, r.getheader("Content-Type")), (200, "text/html; charset=utf-8"))
        self.assertIn(b'src="/app.js"', html)
        self.assertIn("default-src 'self'", r.getheader("Content-Security-Policy"))
        self.assertNotRegex(html, rb"https?://")  # offline: nothing from elsewhere
        for path, ctype in [("/app.js", "text/javascript"), ("/style.css", "text/css"), ("/icon.svg", "image/svg+xml")]:
            st, _, r, data = self.s.req("GET", path)
            self.assertEqual(st, 200)
            self.assertTrue(r.getheader("Content-Type").startswith(ctype))
            self.assertNotRegex(data, rb"https?://(?!www\.w3\.org/2000/svg)")

    def test_methods(self):
        for method, path, allow in [("DELETE", "/v1/check", "POST, OPTIONS"), ("GET", "/v1/check", "POST, OPTIONS"),
                                    ("POST", "/v1/version", "GET, HEAD, OPTIONS"), ("PUT", "/", "GET, HEAD, OPTIONS")]:
            st, j, r, _ = self.s.req(method, path, b"{}" if method != "GET" else None)
            self.error(st, j, 405, "http.method_not_allowed")
            self.assertEqual(r.getheader("Allow"), allow)
        st, _, r, data = self.s.req("HEAD", "/v1/version")
        self.assertEqual((st, data), (200, b""))

    def test_foreign_host_and_origin(self):
        st, j, _, _ = self.s.req("GET", "/v1/version", headers={"Host": "evil.example"})
        self.error(st, j, 403, "http.bad_host")  # DNS rebinding to 127.0.0.1
        st, j, _, _ = self.s.req("GET", "/", headers={"Host": "evil.example:8765"})
        self.error(st, j, 403, "http.bad_host")
        for host in ["localhost:%d" % self.s.port, "127.0.0.1", "[::1]:1"]:
            st, _, _, _ = self.s.req("GET", "/v1/version", headers={"Host": host})
            self.assertEqual(st, 200, host)
        st, j, _, _ = self.s.req("POST", "/v1/counter/sell", {"code": clean(40)},
                                 headers={"Origin": "http://evil.example"})
        self.error(st, j, 403, "http.cross_origin")
        st, j, _, _ = self.s.req("POST", "/v1/counter/scan", {"code": clean(40)},
                                 headers={"Origin": "http://127.0.0.1:%d" % self.s.port})
        self.assertEqual(st, 200)  # the page itself
        st, j, _, _ = self.s.req("GET", "/v1/ledger/history?code=" + clean(40))
        self.assertEqual([e["action"] for e in j["events"]], ["scan"])  # the refused sell never reached the ledger

    def test_concurrent_sells_of_the_same_boxes(self):
        boxes = [clean(100 + i) for i in range(12)]
        results, lock = [], threading.Lock()

        def seller(k):
            c = self.s.conn()
            for b in boxes[k % 3:] + boxes[:k % 3]:
                st, j, _, _ = self.s.req("POST", "/v1/counter/sell", {"code": b, "station": "S%d" % k}, conn=c)
                with lock:
                    results.append((st, b, j["ledger"]["refused"], [l["id"] for l in j["labels"]]))
            c.close()
        threads = [threading.Thread(target=seller, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 8 * len(boxes))
        for b in boxes:
            mine = [r for r in results if r[1] == b]
            self.assertTrue(all(r[0] == 200 for r in mine))
            self.assertEqual(sum(1 for r in mine if not r[2]), 1, b)  # exactly one sale
            for r in mine:
                if r[2]:
                    self.assertIn("ledger.already_sold", r[3])
        db = sqlite3.connect(os.path.join(self.home, "ledger.db"))
        rows = db.execute("SELECT code, sum(refused = 0), count(*) FROM events WHERE action = 'sell' AND code >= ? "
                          "AND code <= ? GROUP BY code", (boxes[0], boxes[-1])).fetchall()
        db.close()
        self.assertEqual(sorted(rows), [(b, 1, 8) for b in boxes])


class Auth(unittest.TestCase):
    def setUp(self):
        self.home = new_home()
        self.token = os.path.join(self.home, "token")
        with open(self.token, "w") as f:
            f.write("s3cret-token-0123456789abcdef\n")
        os.chmod(self.token, 0o600)

    def tearDown(self):
        shutil.rmtree(self.home)

    def test_bearer_token_on_loopback(self):
        s = Server(self.home, "--listen", "127.0.0.1:0", "--token-file", self.token)
        try:
            st, j, r, _ = s.req("GET", "/v1/version")
            self.assertEqual((st, j["error"]["id"]), (401, "auth.missing_token"))
            self.assertTrue(r.getheader("WWW-Authenticate").startswith("Bearer"))
            for bad in ["Bearer wrong", "Bearer s3cret-token-0123456789abcde", "Bearer s3cret-token-0123456789abcdef0",
                        "Basic czNjcmV0", "s3cret-token-0123456789abcdef", "Bearer"]:
                st, j, _, _ = s.req("POST", "/v1/counter/sell", {"code": clean(1)}, headers={"Authorization": bad})
                self.assertEqual((st, j["error"]["id"]), (401, "auth.bad_token"), bad)
            for path in ["/v1/nowhere", "/v1/ledger/stock", "/v1/ledger/history?code=" + clean(1)]:
                st, j, _, _ = s.req("GET", path)
                self.assertEqual(st, 401, path)  # nothing about the data, not even what exists
            ok = {"Authorization": "Bearer s3cret-token-0123456789abcdef"}
            st, j, _, _ = s.req("POST", "/v1/counter/sell", {"code": clean(1)}, headers=ok)
            self.assertEqual((st, j["ledger"]["state_after"]), (200, "sold"))
            st, _, _, _ = s.req("GET", "/v1/ledger/history?code=" + clean(1), headers={"Authorization": "bearer  s3cret-token-0123456789abcdef"})
            self.assertEqual(st, 200)
            for path in ["/", "/app.js", "/healthz"]:  # no data in them: the page asks for the token
                self.assertEqual(s.req("GET", path)[0], 200)
        finally:
            rc, err = s.stop()
        self.assertEqual(rc, 0, err)
        db = sqlite3.connect(os.path.join(self.home, "ledger.db"))
        self.assertEqual(db.execute("SELECT count(*) FROM events").fetchone()[0], 1)  # only the one with the token
        db.close()

    def test_off_loopback_needs_a_token(self):
        for addr in ["0.0.0.0:0", "[::]:0"]:
            s = Server(self.home, "--listen", addr, expect_start=False)
            rc, err = s.stop(sig=0)
            self.assertEqual(rc, 2, err)
            self.assertIn("without a token", err)
            self.assertEqual(err.count("\n"), 1)
        s = Server(self.home, "--listen", "0.0.0.0:0", "--token-file", self.token)
        self.assertEqual(s.host, "0.0.0.0")
        st, j, _, _ = s.req("GET", "/v1/version", conn=http.client.HTTPConnection("127.0.0.1", s.port, timeout=30))
        self.assertEqual(st, 401)
        self.assertEqual(s.stop()[0], 0)

    def test_usage_errors(self):
        empty = os.path.join(self.home, "empty")
        open(empty, "w").close()
        for args, want in [(["--listen", "nonsense"], "invalid"), (["--listen", "127.0.0.1:99999"], "invalid port"),
                           (["--listen", "::1:80"], "[ADDR]:PORT"), (["--token-file", empty], "empty"),
                           (["--allow-origin", "*"], "--allow-origin"), (["--threads", "0"], "--threads"),
                           (["stray"], "no arguments")]:
            p = subprocess.run(WRAP + [BIN, "serve", "--data-dir", self.home] + args, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env_for(self.home), timeout=60)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(want, p.stderr.decode())
        p = subprocess.run(WRAP + [BIN, "serve", "--data-dir", self.home, "--token-file", "/nonexistent/token"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for(self.home), timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read token file", p.stderr.decode())


class Cors(unittest.TestCase):
    def test_allow_origin(self):
        home = new_home()
        s = Server(home, "--listen", "127.0.0.1:0", "--allow-origin", "https://pos.example")
        try:
            st, _, r, _ = s.req("OPTIONS", "/v1/counter/sell", headers={
                "Origin": "https://pos.example", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type"})
            self.assertEqual(st, 204)
            self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "https://pos.example")
            self.assertIn("POST", r.getheader("Access-Control-Allow-Methods"))
            self.assertIn("Content-Type", r.getheader("Access-Control-Allow-Headers"))
            st, j, r, _ = s.req("POST", "/v1/check", {"codes": [clean(1)]}, headers={"Origin": "https://pos.example"})
            self.assertEqual((st, r.getheader("Access-Control-Allow-Origin")), (200, "https://pos.example"))
            st, j, r, _ = s.req("POST", "/v1/check", {"codes": [clean(1)]}, headers={"Origin": "https://other.example"})
            self.assertEqual((st, j["error"]["id"], r.getheader("Access-Control-Allow-Origin")),
                             (403, "http.cross_origin", None))
        finally:
            self.assertEqual(s.stop()[0], 0)
        token = os.path.join(home, "token")
        with open(token, "w") as f:
            f.write("cors-token\n")
        os.chmod(token, 0o600)
        s = Server(home, "--listen", "127.0.0.1:0", "--allow-origin", "https://pos.example", "--token-file", token)
        try:  # the browser's preflight carries no token; the request itself must
            st, _, r, _ = s.req("OPTIONS", "/v1/check", headers={"Origin": "https://pos.example",
                                                                 "Access-Control-Request-Headers": "authorization"})
            self.assertEqual((st, r.getheader("Access-Control-Allow-Origin")), (204, "https://pos.example"))
            self.assertIn("Authorization", r.getheader("Access-Control-Allow-Headers"))
            st, j, r, _ = s.req("POST", "/v1/check", {"codes": [clean(1)]}, headers={"Origin": "https://pos.example"})
            self.assertEqual((st, j["error"]["id"], r.getheader("Access-Control-Allow-Origin")),
                             (401, "auth.missing_token", "https://pos.example"))
            st, j, r, _ = s.req("POST", "/v1/check", {"codes": [clean(1)]}, headers={
                "Origin": "https://pos.example", "Authorization": "Bearer cors-token"})
            self.assertEqual(st, 200)
        finally:
            self.assertEqual(s.stop()[0], 0)
            shutil.rmtree(home)


class Lifecycle(unittest.TestCase):
    def setUp(self):
        self.home = new_home()

    def tearDown(self):
        shutil.rmtree(self.home)

    def test_sigterm_finishes_requests_in_flight(self):
        s = Server(self.home, "--listen", "127.0.0.1:0")
        with open(os.path.join(FIXTURES, "scan", "rot0-code128.jpg"), "rb") as f:
            jpeg = f.read()
        sell = json.dumps({"code": clean(7)}).encode()
        # two requests begun: their headers and half their bodies are sent, then SIGTERM
        a = socket.create_connection((s.host, s.port))
        a.sendall(b"POST /v1/scan HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                  % len(jpeg) + jpeg[:1000])
        b = socket.create_connection((s.host, s.port))
        b.sendall(b"POST /v1/counter/sell HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(sell) + sell[:5])
        time.sleep(0.3)
        s.p.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(s.p.poll())  # still finishing
        with self.assertRaises(OSError):  # and no longer accepting
            socket.create_connection((s.host, s.port), timeout=2).close()
        a.sendall(jpeg[1000:])
        b.sendall(sell[5:])
        for sock, want in [(a, b'"status":"decoded"'), (b, b'"state_after":"sold"')]:
            data = b""
            while True:
                piece = sock.recv(65536)
                if not piece:
                    break
                data += piece
            sock.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
            self.assertIn(b"Connection: close", data)
            self.assertIn(want, data)
        rc, err = s.stop()
        self.assertEqual(rc, 0, err)
        self.assertIn("stopping", err)
        rc, out, _ = cli(self.home, "ledger", "history", clean(7))
        self.assertEqual(len(out.splitlines()), 1)

    def test_damaged_ledger(self):
        path = os.path.join(self.home, "ledger.db")
        rc, _, _ = cli(self.home, "counter", "receive", "-q", clean(1))
        s = Server(self.home, "--listen", "127.0.0.1:0")
        try:
            size = os.path.getsize(path)
            with open(path, "r+b") as f:  # the whole file overwritten under the running server
                f.write(b"\xa5" * size)
            for path_ in ("/v1/ledger/stock", "/v1/ledger/history?code=" + clean(1)):
                st, j, _, _ = s.req("GET", path_)
                self.assertEqual((st, j["error"]["id"]), (503, "ledger.unavailable"))
                self.assertIn("ledger.db", j["error"]["message"])
        finally:
            s.stop()
        p = subprocess.run(WRAP + [BIN, "serve", "--data-dir", self.home, "--listen", "127.0.0.1:0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for(self.home), timeout=60)
        self.assertEqual(p.returncode, 1)  # refused at start, never overwritten
        self.assertIn("left untouched", p.stderr.decode())
        self.assertEqual(p.stderr.decode().count("\n"), 1)
        with open(path, "rb") as f:
            self.assertEqual(f.read(16), b"\xa5" * 16)

    def test_catalog_replaced_while_running(self):
        s = Server(self.home, "--listen", "127.0.0.1:0")
        try:
            st, j, _, _ = s.req("POST", "/v1/check", {"codes": [clean(1)]})
            self.assertEqual(j["results"][0]["drug"]["generic_name"], "阿托伐他汀钙片")
            other = tempfile.mkdtemp(prefix="drugscan-serve-nrdl-", dir=self.home)
            env = env_for(other)
            del env["DRUGSCAN_CATALOG_SEED"]  # the national list compiled into drugscan
            subprocess.run([BIN, "catalog", "info", "--data-dir", other], stdout=subprocess.DEVNULL, env=env, check=True)
            os.replace(os.path.join(other, "catalog.db"), os.path.join(self.home, "catalog.db"))  # as catalog update does
            time.sleep(1.2)
            st, j, _, _ = s.req("GET", "/v1/version")
            self.assertFalse(j["catalog"]["synthetic"])
            st, j, _, _ = s.req("POST", "/v1/check", {"codes": [clean(1)]})
            self.assertNotEqual((j["results"][0]["drug"] or {}).get("generic_name"), "阿托伐他汀钙片")
        finally:
            rc, err = s.stop()
        self.assertEqual(rc, 0, err)
        self.assertIn("catalog.db was replaced", err)

    def test_catalog_map_while_running(self):
        # the server's catalog connections must not keep catalog.db locked between requests
        s = Server(self.home, "--listen", "127.0.0.1:0")
        code = "8999999" + "000000001" + "1234"
        try:
            for _ in range(3):
                st, j, _, _ = s.req("POST", "/v1/check", {"codes": [code, clean(1)]})
                self.assertIsNone(j["results"][0]["drug"])  # not mapped yet
            t0 = time.time()
            rc, out, err = cli(self.home, "catalog", "map", "8999999", "--to", j["results"][1]["drug"]["nhsa_code"])
            self.assertEqual(rc, 0, err)
            self.assertLess(time.time() - t0, 4)  # not after a 5 s busy wait
            st, j, _, _ = s.req("POST", "/v1/check", {"codes": [code]})
            self.assertEqual(j["results"][0]["drug"]["generic_name"], "阿托伐他汀钙片")  # answered from the new 对照
        finally:
            rc, err = s.stop()
        self.assertEqual(rc, 0, err)

    def test_disk_full_answers_503_and_records_nothing(self):
        cli(self.home, "counter", "receive", "-q", clean(1))  # the ledger exists; now every write to its log fails
        s = Server(self.home, "--listen", "127.0.0.1:0", binary=FAULTY, env={
            "DRUGSCAN_FAULT": "write:1+:full", "DRUGSCAN_FAULT_MATCH": os.path.join(self.home, "ledger.db-wal")})
        results, lock = [], threading.Lock()

        def seller(k):
            st, j, _, _ = s.req("POST", "/v1/counter/sell", {"code": clean(1 + k % 2)})
            with lock:
                results.append((st, j))
        try:
            threads = [threading.Thread(target=seller, args=(k,)) for k in range(6)]  # groups and single ones
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for st, j in results:
                self.assertEqual((st, j["error"]["id"]), (503, "ledger.unavailable"), j)
                self.assertEqual((j["ledger"]["recorded"], j["ledger"]["fault"]), (False, "disk_full"))
                self.assertIn("nothing recorded", j["error"]["message"])
            st, j, _, _ = s.req("POST", "/v1/check", {"codes": [clean(1)]})
            self.assertEqual(st, 200)  # what needs no ledger still works
        finally:
            rc, err = s.stop()
        self.assertEqual(rc, 0, err)
        self.assertIn("not recorded", err)
        rc, out, _ = cli(self.home, "ledger", "history", "--format", "jsonl", clean(1))
        self.assertEqual([json.loads(l)["action"] for l in out.splitlines()], ["receive"])

    def test_kill_9_under_load_loses_and_doubles_nothing(self):
        s = Server(self.home, "--listen", "127.0.0.1:0")
        answered, lock, stop = [], threading.Lock(), threading.Event()

        def seller(k):
            c = s.conn(timeout=10)
            i = 0
            while not stop.is_set():
                code = clean(10000 * (k + 1) + i)
                i += 1
                try:
                    st, j, _, _ = s.req("POST", "/v1/counter/sell", {"code": code}, conn=c)
                except (OSError, http.client.HTTPException, ValueError):
                    return
                if st == 200 and not j["ledger"]["refused"]:
                    with lock:
                        answered.append(code)
        threads = [threading.Thread(target=seller, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        s.p.kill()
        s.p.wait()
        stop.set()
        for t in threads:
            t.join()
        s.stop()
        self.assertGreater(len(answered), 10)
        s2 = Server(self.home, "--listen", "127.0.0.1:0")  # the ledger opens and is whole after the kill
        st, j, _, _ = s2.req("GET", "/v1/ledger/stock")
        self.assertEqual(st, 200)
        self.assertEqual(s2.stop()[0], 0)
        db = sqlite3.connect(os.path.join(self.home, "ledger.db"))
        rows = dict(db.execute("SELECT code, count(*) FROM events WHERE action = 'sell' AND refused = 0 GROUP BY code"))
        db.close()
        for code in answered:
            self.assertEqual(rows.get(code), 1, code)
        self.assertTrue(all(n == 1 for n in rows.values()))


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FIXTURES = os.path.abspath(sys.argv.pop(1))
    FAULTY = os.path.abspath(sys.argv.pop(1))
    SEED = tempfile.mkdtemp(prefix="drugscan-serve-seed-")
    subprocess.run([BIN, "catalog", "info", "--data-dir", SEED], stdout=subprocess.DEVNULL, env=env_for(SEED),
                   check=True)
    try:
        unittest.main(verbosity=1)
    finally:
        shutil.rmtree(SEED)

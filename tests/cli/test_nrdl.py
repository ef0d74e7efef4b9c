#!/usr/bin/env python3
"""CLI tests for the national list as the default catalog (issue 11).

A fresh data directory gets the real 2025 list, compiled in: `catalog info`
names it and checks its stated totals; `catalog search` finds rows by the
names printed on boxes; `catalog map` and mapping files link codes to rows,
and check, scan, counter and audit then show the real drug and labels; the
pharmacy's mappings survive `import --replace` and `catalog update`; ratios
for each insurance type; catalog.outdated from 2027-01-01.

These tests never set DRUGSCAN_CATALOG_SEED: they see what a user sees.

usage: test_nrdl.py path/to/drugscan path/to/source-dir
"""
import hashlib
import http.server
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

BIN = None
SRC = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))


def run(args, home, today="2026-06-01", stdin=b"", cwd=None):
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", DRUGSCAN_TODAY=today, DRUGSCAN_HOME=home)
    env.pop("DRUGSCAN_CATALOG_SEED", None)
    p = subprocess.run(WRAP + [BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=300, cwd=cwd)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def jsonl(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def trace_code(photo):
    """The trace code of a scanned photo (the box's EAN-13 product barcode is beside it)."""
    return [c for c in photo["codes"] if c["kind"] != "product-barcode"][0]


def labels(obj):
    return {l["id"]: l for l in obj["labels"]}


class Home(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="drugscan-nrdl-")

    def tearDown(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def ok(self, args, **kw):
        rc, out, err = run(args, self.home, **kw)
        self.assertEqual(rc, 0, (args, out, err))
        return out, err


class Info(Home):
    def test_fresh_directory_reports_the_real_list(self):
        out, err = self.ok(["catalog", "info"])
        self.assertTrue(out.startswith("国家基本医疗保险、生育保险和工伤保险药品目录（2025年）\n"), out)
        self.assertIn("医保发〔2025〕33号", out)
        self.assertIn("from 2026-01-01", out)
        self.assertEqual(out.count("\u2713"), 12, out)  # every stated total checked
        self.assertNotIn("\u2717", out)
        for line in ("1446 numbers (stated 1446), 2000 rows", "1335 numbers (stated 1335), 1443 rows",
                     "1857 numbers (stated 1857)", "1396 numbers (stated 1396)", "472 numbers (stated 472)",
                     "3253 numbers (stated 3253)", "114 drugs (stated 114)", "19 drugs (stated 19)"):
            self.assertIn(line, out)
        self.assertIn("zebra-mod (MIT licence", out)
        for word in ("SYNTHETIC", "synthetic", "DEMO", "合成"):
            self.assertNotIn(word, out)
        o = json.loads(self.ok(["catalog", "info", "-f", "json"])[0])
        self.assertFalse(o["synthetic"])
        self.assertTrue(o["list"]["checks_ok"])
        self.assertEqual(o["list"]["rows"], 3915)
        self.assertEqual(o["list"]["document"], "医保发〔2025〕33号")
        self.assertFalse(o["list"]["outdated"])
        self.assertEqual({c["id"]: c["actual"] for c in o["list"]["checks"]}["total"], 3253)
        self.assertEqual(o["local"]["mappings"], 0)
        out, _ = self.ok(["catalog", "info", "--lang", "zh"])
        self.assertIn("西药部分：1446 个编号（公布 1446），2000 行", out)

    def test_outdated_from_2027(self):
        self.ok(["catalog", "map", "8100012", "--to", "NW:35"])
        code = "81000120000000000001"
        for today in ("2026-06-01", "2026-12-31"):
            o = jsonl(run(["check", "-f", "json", code], self.home, today=today)[1])[0]
            self.assertNotIn("catalog.outdated", labels(o))
        for code_ in (code, "89999990000000000001", "(01)06901234567892(21)X"):  # every verdict, mapped or not
            o = jsonl(run(["check", "-f", "json", code_], self.home, today="2027-01-01")[1])[0]
            l = labels(o)["catalog.outdated"]
            self.assertEqual(l["severity"], "warn")
            self.assertIn("2027-01-01", l["text"])
            self.assertIn("drugscan catalog update", l["text"])
        rc, out, _ = run(["check", "--lang", "zh", code], self.home, today="2027-03-01")
        self.assertIn("目录可能已过期", out)
        rc, out, _ = run(["catalog", "info"], self.home, today="2027-01-01")
        self.assertIn("out of date", out)
        self.assertTrue(json.loads(run(["catalog", "info", "-f", "json"], self.home, today="2027-01-01")[1])
                        ["list"]["outdated"])


# Names as printed on boxes, and what the list says about them.
HELD_OUT = [
    # text, key, class, negotiated, restriction (part of it, verbatim), new in 2025, commercial list
    ("阿达木单抗注射液", "NRDL2025-W-0977", "B", False, None, False, False),
    ("人凝血因子VIII", "NRDL2025-W-0255", "A", False, None, False, False),
    ("戊二酸利那拉生酯胶囊", "NRDL2025-NW-0005", "B", True, "限反流性食管炎。", True, False),
    ("盐酸二甲双胍缓释片（Ⅳ）", "NRDL2025-NW-0018", "B", True, None, False, False),
    ("帕拉米韦注射液", "NRDL2025-W-0805", "B", False, None, True, False),
    ("二甲双胍恩格列净片(III)", "NRDL2025-B-0002", "B", True, "限2型糖尿病患者。", False, False),
    ("司美格鲁肽注射液", "NRDL2025-NW-0029", "B", True, "限：1.接受二甲双胍和/或磺脲类药物治疗血糖仍控制不佳", False,
     False),
    ("六味地黄丸", "NRDL2025-Z-0372", "A", False, None, False, False),
    ("仑卡奈单抗注射液", "CIDL2025-19", None, False, None, False, True),
    ("头孢克肟分散片", "NRDL2025-W-0693", "B", False, None, False, False),
    ("连花清瘟胶囊", "NRDL2025-Z-0129", "A", False, None, False, False),
    ("磷酸奥司他韦胶囊", "NRDL2025-W-0803", "B", False, None, False, False),
]


class Search(Home):
    def test_held_out_names(self):
        for text, key, cls, neg, restr, new, cidl in HELD_OUT:
            o = json.loads(self.ok(["catalog", "search", "-f", "json", "-n", "3", text])[0])
            hit = o["hits"][0]
            d = hit["drug"]
            self.assertEqual(hit["key"], key, text)
            self.assertEqual(d["category"], cls, text)
            self.assertEqual(d["negotiated"], neg, text)
            if restr:
                self.assertIn(restr, d["restriction"], text)
                self.assertIn(restr, labels(hit)["nrdl.restricted"]["text"], text)
            self.assertEqual(hit["new_2025"], new, text)
            self.assertEqual("nrdl.new_2025" in labels(hit), new, text)
            self.assertEqual(hit["commercial_innovative"], cidl, text)
            self.assertEqual("list.commercial_innovative" in labels(hit), cidl, text)

    def test_text_says_section_number_class_standard_period(self):
        out, _ = self.ok(["catalog", "search", "盐酸二甲双胍缓释片(Ⅳ)"])
        self.assertTrue(out.startswith("1. 协议期内谈判药品部分-西药 18 · 盐酸二甲双胍缓释片(Ⅳ) · NRDL2025-NW-0018\n"), out)
        self.assertIn("class B (乙类)", out)
        self.assertIn("payment standard 1.17元(1.0g/片); agreement until 2026-12-31", out)
        out, _ = self.ok(["catalog", "search", "--lang", "zh", "戊二酸利那拉生酯胶囊"])
        self.assertIn("医保支付标准不公开（目录标“*”）；协议有效期 2026年1月1日至2027年12月31日", out)
        self.assertIn("限定支付范围（目录备注原文）：限反流性食管炎。", out)
        self.assertIn("2025年目录新增药品", out)
        self.assertIn("比对得出", out)  # the flag is derived, and says so
        out, _ = self.ok(["catalog", "search", "仑卡奈单抗"])
        self.assertIn("not paid by basic insurance", out)

    def test_variants_find_the_same_row(self):
        keys = set()
        for text in ("人凝血因子Ⅷ", "人凝血因子VIII", "人凝血因子ⅷ", "人凝血因子ＶＩＩＩ", "（人凝血因子Ⅷ）", "人凝血因子Ⅷ注射剂"):
            keys.add(json.loads(self.ok(["catalog", "search", "-f", "json", text])[0])["hits"][0]["key"])
        self.assertEqual(keys, {"NRDL2025-W-0255"})

    def test_exact_first_limit_and_none(self):
        o = json.loads(self.ok(["catalog", "search", "-f", "json", "-n", "2", "凝血因子"])[0])
        self.assertEqual(len(o["hits"]), 2)
        self.assertGreater(o["total"], 2)
        o = json.loads(self.ok(["catalog", "search", "-f", "json", "人凝血因子Ⅷ"])[0])
        self.assertEqual([h["rank"] for h in o["hits"][:2]], [0, 3])
        out, _ = self.ok(["catalog", "search", "没有这种药"])
        self.assertIn("no list row matches", out)
        rc, _, err = run(["catalog", "search"], self.home)
        self.assertEqual(rc, 2)
        rc, _, err = run(["catalog", "search", "-n", "0", "x"], self.home)
        self.assertEqual(rc, 2)

    def test_ratio_for_the_chosen_insurance(self):
        o = json.loads(self.ok(["catalog", "search", "-f", "json", "--insurance", "resident", "帕拉米韦注射液"])[0])
        l = labels(o["hits"][0])["policy.outpatient_inpatient_level"]
        self.assertEqual(l["ratio"], 0.8)
        self.assertIn("80%", l["text"])


class Mapping(Home):
    def test_map_by_name_then_every_command_shows_the_drug(self):
        rc, out, err = run(["catalog", "map", "8100046", "--to", "头孢克肟"], self.home)
        self.assertEqual(rc, 2)  # ambiguous: three forms
        self.assertIn("ambiguous", err)
        for key in ("NRDL2025-W-0693", "NRDL2025-W-0693-S1", "NRDL2025-W-0693-S2"):
            self.assertIn(key, err)
        out, _ = self.ok(["catalog", "map", "8100046", "--to", "头孢克肟分散片"])
        self.assertIn("trace_prefix 8100046 -> NRDL2025-W-0693 头孢克肟 (西药部分 693)", out)
        out, _ = self.ok(["catalog", "map", "81000464033958964338"])  # a whole code shows its mapping
        self.assertIn("NRDL2025-W-0693", out)
        o = jsonl(self.ok(["check", "-f", "json", "81000464033958964338"])[0])[0]
        self.assertEqual(o["drug"]["list_key"], "NRDL2025-W-0693")
        self.assertEqual(o["drug"]["generic_name"], "头孢克肟")
        self.assertTrue(o["drug"]["local_mapping"])
        self.assertIn("nrdl.class_b", labels(o))
        self.assertNotIn("catalog.unmapped", labels(o))
        out, _ = self.ok(["check", "81000464033958964338"])
        self.assertIn("头孢克肟 · 口服常释剂型\n    list: 西药部分 693 (NRDL2025-W-0693)", out)
        photo = os.path.join(SRC, "fixtures", "scan", "rot0-code128.jpg")  # the box says 头孢克肟分散片
        o = jsonl(self.ok(["scan", "-f", "jsonl", photo])[0])[0]
        self.assertEqual(trace_code(o)["drug"]["list_key"], "NRDL2025-W-0693")
        rc, out, err = run(["counter", "receive", "-q", "-f", "jsonl", "--station", "A", "81000464033958964338"],
                           self.home)
        self.assertEqual(rc, 0, err)
        self.assertEqual(jsonl(out)[0]["drug"]["list_key"], "NRDL2025-W-0693")
        photos = os.path.join(self.home, "photos")
        os.makedirs(photos)
        shutil.copy(photo, photos)
        rc, out, err = run(["audit", "-o", os.path.join(self.home, "report"), photos], self.home)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(self.home, "report", "results.jsonl")) as f:
            rec = [json.loads(l) for l in f][0]
        self.assertEqual(trace_code(rec)["drug"]["list_key"], "NRDL2025-W-0693")
        out, _ = self.ok(["catalog", "map", "8100046", "--remove"])
        self.assertIn("removed", out)
        o = jsonl(self.ok(["check", "-f", "json", "81000464033958964338"])[0])[0]
        self.assertIsNone(o["drug"])
        self.assertIn("drugscan catalog map 8100046 --to", labels(o)["catalog.unmapped"]["text"])

    def test_targets_and_usage(self):
        out, _ = self.ok(["catalog", "map", "(01)06901234567892(21)X", "--to", "W:★(406)"])
        self.assertIn("gtin 06901234567892 -> NRDL2025-W-0406-S1", out)
        out, _ = self.ok(["catalog", "map", "MA.156.M0.100204.13351764", "--to", "谈判西药:35", "--package-level", "2",
                          "--units", "10"])
        self.assertIn("ma_di MA.156.M0.100204.13351764 -> NRDL2025-NW-0035", out)
        self.assertIn("package level 2 (10 units)", out)
        for args in (["catalog", "map", "8100046", "--to", "没有这种药"], ["catalog", "map", "123", "--to", "W:1"],
                     ["catalog", "map", "8100046"] + ["--to", "W:1", "--remove"],
                     ["catalog", "map", "8100046", "--to", "W:99999"]):
            rc, out, err = run(args, self.home)
            self.assertEqual(rc, 2, (args, err))

    def test_round_trip(self):
        self.ok(["catalog", "map", "8100046", "--to", "W:693", "--note", "供货商 A, \"一批\""])
        self.ok(["catalog", "map", "06901234567892", "--to", "替尔泊肽注射液", "--demo"])
        self.ok(["catalog", "map", "8123457", "--to", "W:656", "--package-level", "2", "--units", "10"])
        first, _ = self.ok(["catalog", "export-map"])
        self.assertEqual(first.count("\n"), 4)
        path = os.path.join(self.home, "mapping.csv")
        with open(path, "w") as f:
            f.write(first)
        other = tempfile.mkdtemp(prefix="drugscan-nrdl-other-")
        try:
            rc, out, err = run(["catalog", "import", path], other)
            self.assertEqual(rc, 0, err)
            rc, second, err = run(["catalog", "export-map"], other)
            self.assertEqual(second, first)
            o = jsonl(run(["check", "-f", "json", "(01)06901234567892(21)X"], other)[1])[0]
            self.assertEqual(o["drug"]["list_key"], "NRDL2025-NW-0035")
            self.assertIn("catalog.demo_mapping", labels(o))
        finally:
            shutil.rmtree(other)

    def test_demo_mapping_file_is_announced(self):
        out, _ = self.ok(["catalog", "import", os.path.join(SRC, "fixtures", "demo", "mapping.csv")])
        out, _ = self.ok(["catalog", "info"])
        self.assertIn("DEMO MAPPINGS", out)
        o = jsonl(self.ok(["scan", "-f", "jsonl", os.path.join(SRC, "fixtures", "scan", "rot270-code128.jpg")])[0])[0]
        d = trace_code(o)["drug"]
        self.assertEqual(d["generic_name"], "氯沙坦")  # the photo says 氯沙坦钾片
        self.assertTrue(d["demo_mapping"])
        self.assertIn("catalog.demo_mapping", labels(trace_code(o)))

    def test_mapping_file_errors(self):
        path = os.path.join(self.home, "bad.csv")
        with open(path, "w") as f:
            f.write("identifier,target\n8100046,W:693\n810004,W:693\n8100047,NOPE\nXYZ,W:1\n8100048,W:★(693)\n")
        rc, out, err = run(["catalog", "import", path], self.home)
        self.assertEqual(rc, 1)
        self.assertIn("bad.csv:3:1: cannot tell what identifier '810004' is", err)
        self.assertIn("bad.csv:4:2: target 'NOPE' is not in the catalog", err)
        self.assertIn("bad.csv:5:1: cannot tell what identifier 'XYZ' is", err)
        self.assertIn("bad.csv:6:2: target 'W:★(693)' names several ★ rows", err)
        self.assertIn("4 bad rows: nothing was imported", err)


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Survival(Home):
    def mapped(self):
        o = jsonl(self.ok(["check", "-f", "json", "--insurance", "employee", "81000120000000000001"])[0])[0]
        return o

    def test_mappings_and_local_policies_survive_replace_and_update(self):
        self.ok(["catalog", "map", "8100012", "--to", "替尔泊肽注射液"])
        pol = os.path.join(self.home, "local")
        os.makedirs(pol)
        with open(os.path.join(pol, "lists.csv"), "w") as f:
            f.write("list_id,name_zh,name_en,source,label_id,severity\n"
                    "dual-gd,广东双通道,Guangdong dual channel,粤医保发,policy.dual_channel,info\n")
        with open(os.path.join(pol, "members.csv"), "w") as f:
            f.write("list_id,nhsa_code\ndual-gd,NRDL2025-NW-0035\n")
        with open(os.path.join(pol, "policies.csv"), "w") as f:
            f.write("scope,insurance,setting,label_id,ratio,text_zh,text_en,source\n"
                    "dual-gd,*,*,policy.dual_channel,,双通道：定点医院或药店,dual channel (local policy),粤医保发\n")
        self.ok(["catalog", "import", "--local", pol])
        self.assertIn("policy.dual_channel", labels(self.mapped()))
        # the national list imported again, replacing the national data
        self.ok(["catalog", "import", "--replace", os.path.join(SRC, "data", "nrdl-2025")])
        o = self.mapped()
        self.assertEqual(o["drug"]["list_key"], "NRDL2025-NW-0035")
        self.assertIn("policy.dual_channel", labels(o))
        out, _ = self.ok(["catalog", "import", "--builtin"])  # the same, from the binary
        self.assertIn("nrdl-2025", out)
        o = self.mapped()
        self.assertEqual(o["drug"]["list_key"], "NRDL2025-NW-0035")
        self.assertIn("policy.dual_channel", labels(o))
        # an update from a server with the list's files
        serve = os.path.join(self.home, "serve")
        shutil.copytree(os.path.join(SRC, "data", "nrdl-2025"), serve)
        files = []
        for name in sorted(os.listdir(serve)):
            if name.endswith(".csv"):
                with open(os.path.join(serve, name), "rb") as f:
                    data = f.read()
                files.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        with open(os.path.join(serve, "manifest.json"), "w") as f:
            json.dump({"version": "nrdl-2025-test", "files": files}, f)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: Handler(*a, directory=serve, **k))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            out, _ = self.ok(["catalog", "update", "--url", "http://127.0.0.1:%d/manifest.json" % httpd.server_address[1]])
        finally:
            httpd.shutdown()
            httpd.server_close()
        self.assertIn("nrdl-2025-test", out)
        o = self.mapped()
        self.assertEqual(o["drug"]["list_key"], "NRDL2025-NW-0035")
        self.assertIn("policy.dual_channel", labels(o))
        info = json.loads(self.ok(["catalog", "info", "-f", "json"])[0])
        self.assertEqual(info["version"], "nrdl-2025-test")
        self.assertEqual(info["local"], {"mappings": 1, "demo_mappings": 0, "unresolved": 0, "lists": 1,
                                         "policies": 1})
        # ratios per insurance type, in JSON and in the text
        l = labels(o)["policy.outpatient_inpatient_level"]
        self.assertEqual(l["ratio"], 0.95)
        self.assertIn("95%", l["text"])
        o = jsonl(self.ok(["check", "-f", "json", "--insurance", "resident", "81000120000000000001"])[0])[0]
        l = labels(o)["policy.outpatient_inpatient_level"]
        self.assertEqual(l["ratio"], 0.8)
        self.assertIn("80%", l["text"])
        self.assertNotIn("95%", l["text"])
        o = jsonl(self.ok(["check", "-f", "json", "81000120000000000001"])[0])[0]
        self.assertNotIn("ratio", labels(o)["policy.outpatient_inpatient_level"])  # two insurance types: no one ratio
        out, _ = self.ok(["check", "--insurance", "employee", "--lang", "zh", "81000120000000000001"])
        self.assertIn("职工医保最高95%", out)
        self.assertIn("以参保地医保经办机构为准", out)
        out, _ = self.ok(["check", "--insurance", "resident", "81000120000000000001"])
        self.assertIn("resident insurance up to 80%", out)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    SRC = os.path.abspath(sys.argv.pop(1))
    unittest.main(argv=[sys.argv[0], "-v"] if os.environ.get("VERBOSE") else [sys.argv[0]])

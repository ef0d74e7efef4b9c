#!/usr/bin/env python3
"""CLI tests of the languages: every --help, usage errors, diagnostics and tables in
Chinese and in English (GNU gettext, po/zh_CN.po), chosen by --lang or the
environment, without a generated zh_CN locale; English plurals; columns padded by
display width.

usage: test_i18n.py path/to/drugscan path/to/fixtures
$DRUGSCAN_WRAPPER, when set, prefixes every run (e.g. "valgrind -q --error-exitcode=99").
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import unittest

BIN = None
FIXTURES = None
WRAP = shlex.split(os.environ.get("DRUGSCAN_WRAPPER", ""))
HOME = tempfile.mkdtemp(prefix="drugscan-i18n-")
CODE = "81234567890123456789"  # 阿莫西林胶囊 in the demo catalog
# CJK ideographs, CJK punctuation, full-width forms
CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
HELPS = [["--help"], ["check", "--help"], ["scan", "--help"], ["catalog", "--help"], ["counter", "--help"],
         ["ledger", "--help"], ["audit", "--help"], ["audit", "merge", "--help"], ["serve", "--help"],
         ["help", "counter"]]


def run(args, lang_env=None, stdin=b"", home=HOME):
    """drugscan as `env -i` runs it: only the variables given (and the test's own)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DRUGSCAN_HOME": home, "DRUGSCAN_TODAY": "2026-06-01",
           "DRUGSCAN_CATALOG_SEED": "demo"}
    env.update(lang_env or {})
    p = subprocess.run(WRAP + [BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=300)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def width(s):
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in s)


def column(line, needle):
    """The display column where needle starts in line."""
    return width(line[:line.index(needle)])


ZH = {"LANG": "zh_CN.UTF-8"}  # not generated on a fresh Debian, nor here


class Help(unittest.TestCase):
    def test_every_help_in_chinese(self):
        for args in HELPS:
            rc, out, err = run(args, ZH)
            self.assertEqual((rc, err), (0, ""), args)
            self.assertTrue(out.startswith("用法："), (args, out[:80]))
            for english in ("usage:", "options:", "show this help", "exit status", "examples:", "language of"):
                self.assertNotIn(english, out, args)
            # every option's help is translated
            rows = [l for l in out.splitlines() if re.match(r"  (-\w, |    )--", l)]
            self.assertTrue(rows or args == ["--help"], args)
            for row in rows:
                self.assertRegex(row[28:], CJK, (args, row))

    def test_every_help_in_english(self):
        for env, extra in ((ZH, ["--lang", "en"]), ({"LANG": "en_US.UTF-8"}, []), ({"LANG": "C"}, []), ({}, []),
                           ({"LANG": "C.UTF-8"}, [])):
            for args in HELPS:
                if args == ["--help"] and extra:
                    continue  # the top level takes no --lang
                rc, out, err = run(args + extra, env)
                self.assertEqual((rc, err), (0, ""), (env, args))
                self.assertTrue(out.startswith("usage: drugscan "), (env, args, out[:80]))
                self.assertIsNone(CJK.search(out), (env, args, CJK.findall(out)))

    def test_help_columns_line_up_by_display_width(self):
        for args in HELPS[1:]:
            _, out, _ = run(args, ZH)
            rows = [l for l in out.splitlines() if re.match(r"  (-\w, |    )--", l)]
            for row in rows:  # "  -f, --format FMT           输出格式…": the help at column 29
                self.assertEqual(width(row[:29]), 29, row)
                self.assertNotEqual(row[29], " ", row)
            _, out, _ = run(["--help"], ZH)
            cmds = [l for l in out.splitlines() if re.match(r"  [a-z]+ +\S", l)]
            self.assertEqual({column(l, l.split()[1]) for l in cmds}, {13}, cmds)

    def test_lang_option_anywhere_also_for_help(self):
        _, out, _ = run(["check", "--help", "--lang", "zh"], {"LANG": "C"})
        self.assertIn("显示本帮助", out)
        _, out, _ = run(["check", "--lang=zh", "--help"], {"LANG": "C"})
        self.assertIn("显示本帮助", out)


class UsageErrors(unittest.TestCase):
    def test_usage_error_in_each_language(self):
        rc, out, err = run(["check", "--bogus", CODE], ZH)
        self.assertEqual((rc, out), (2, ""))
        self.assertEqual(err, "drugscan check：未知选项 '--bogus'\n请试试 'drugscan check --help'\n")
        rc, out, err = run(["check", "--bogus", CODE], {"LANG": "en_US.UTF-8"})
        self.assertEqual((rc, out), (2, ""))
        self.assertEqual(err, "drugscan check: unknown option '--bogus'\ntry 'drugscan check --help'\n")

    def test_lang_is_read_before_the_options_that_fail(self):
        rc, _, err = run(["counter", "--bogus", "--lang", "zh", "sell"], {"LANG": "C"})
        self.assertEqual(rc, 2)
        self.assertIn("未知选项 '--bogus'", err)
        rc, _, err = run(["catalog", "--lang", "en", "frobnicate"], ZH)
        self.assertEqual(rc, 2)
        self.assertIn("unknown action: use import", err)

    def test_every_command_usage_error_in_chinese(self):
        for args, want in ((["counter"], "缺少操作"), (["ledger", "frob"], "请用 history"),
                           (["catalog", "search"], "search 需要"), (["scan", "--jobs", "0", "x.jpg"], "--jobs 需要"),
                           (["audit", "--shard", "9/4", "x"], "--shard 需要"), (["audit", "merge", "a"], "必须给出 --out DIR"),
                           (["serve", "extra"], "serve 不接受参数"), (["check", "-f", "xml", CODE], "无效"),
                           (["check", "--expiring-days", "x", CODE], "天数"), (["nosuch"], "未知命令 'nosuch'")):
            rc, out, err = run(args, ZH)
            self.assertEqual(rc, 2, args)
            self.assertIn(want, err, args)
            self.assertNotIn("try '", err, args)

    def test_diagnostics_in_chinese(self):
        rc, out, err = run(["check", "-"], ZH, stdin=b"\n" + CODE.encode() + b"\n")
        self.assertIn("drugscan: 第 1 行: 空行，已跳过", err)
        empty = tempfile.mkdtemp(prefix="drugscan-i18n-empty-")
        rc, out, err = run(["scan", empty], ZH)
        os.rmdir(empty)
        self.assertEqual((rc, err), (4, "drugscan：没有找到图片\n"))


class Environment(unittest.TestCase):
    def want_zh(self, env, args=None):
        rc, out, err = run(args or ["check", CODE], env)
        self.assertEqual(rc, 0, err)
        self.assertIn("药品标识码 8123456", out, env)
        self.assertIn("本地检查", out, env)

    def want_en(self, env, args=None):
        rc, out, err = run(args or ["check", CODE], env)
        self.assertEqual(rc, 0, err)
        self.assertIn("product code 8123456", out, env)
        self.assertIn("not the national medical-insurance sales record", out, env)

    def test_without_a_generated_zh_locale(self):
        self.want_zh(ZH)                             # env -i LANG=zh_CN.UTF-8
        self.want_zh({"LANG": "C"}, ["check", "--lang", "zh", CODE])
        self.want_zh({}, ["check", CODE, "--lang", "zh"])
        self.want_zh({"LC_ALL": "zh_CN.GB18030"})
        self.want_zh({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"})

    def test_english(self):
        self.want_en({})
        self.want_en({"LANG": "C"})
        self.want_en({"LANG": "en_US.UTF-8"})
        self.want_en(ZH, ["check", "--lang", "en", CODE])
        self.want_en({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"})

    def test_language_list_as_gettext_reads_it(self):
        self.want_zh({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"})
        self.want_zh({"LANGUAGE": "fr:zh_TW", "LANG": "de_DE.UTF-8"})
        self.want_en({"LANGUAGE": "en_GB:zh_CN", "LANG": "zh_CN.UTF-8"})
        self.want_en({"LANGUAGE": "zh_CN", "LANG": "C"})         # ignored under the C locale
        self.want_en({"LANGUAGE": "zh_CN", "LANG": "C.UTF-8"})
        self.want_en({"LANGUAGE": "zh_CN"})
        self.want_en({"LANGUAGE": "zh_CN", "LANG": "zh_CN.UTF-8"}, ["check", "--lang", "en", CODE])

    def test_json_is_the_same_in_both_languages_but_its_texts(self):
        _, zh, _ = run(["check", "-f", "json", CODE], ZH)
        _, en, _ = run(["check", "-f", "json", CODE], {"LANG": "C"})
        key = re.compile(r'"([a-z_]+)":')
        self.assertEqual(key.findall(zh), key.findall(en))
        self.assertIn('"kind":"nmpa20"', zh)


class Plurals(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="drugscan-i18n-plural-")

    def tearDown(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def assertNoOnePlural(self, text):
        self.assertIsNone(re.search(r"\b1 (code|row|file|event|photo|frame|duplicate|scan|unit|mapping|list|polic)"
                                    r"(s|ies)\b", text), text)

    def test_counter_and_sync(self):
        rc, out, err = run(["counter", "receive", "-q", "--station", "A", CODE], home=self.home)
        self.assertEqual(rc, 0, err)
        self.assertIn("drugscan: 1 code this session, 1 ok,", err)
        rc, out, err = run(["ledger", "sync", "--status"], home=self.home)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^queued 1 event; oldest ")
        rc, out, err = run(["ledger", "sync", "--status"], ZH, home=self.home)
        self.assertRegex(out, r"^队列中 1 条记录；最早的在 ")
        rc, out, err = run(["counter", "scan", "-q", "--station", "A", CODE, "81234567890123456780"], home=self.home)
        self.assertIn("drugscan: 2 codes this session,", err)
        rc, out, err = run(["ledger", "sync", "--status"], home=self.home)
        self.assertRegex(out, r"^queued 3 events; oldest ")

    def test_catalog(self):
        d = os.path.join(self.home, "in")
        os.makedirs(d)
        with open(os.path.join(d, "drugs.csv"), "w") as f:
            f.write("nhsa_code,generic_name,category\nX1,好,甲\n")
        rc, out, err = run(["catalog", "import", d], home=self.home)
        self.assertEqual(rc, 0, err)
        self.assertIn("imported 1 row from 1 file into", out)
        self.assertNoOnePlural(out + err)
        rc, out, err = run(["catalog", "info"], home=self.home)
        self.assertNoOnePlural(out)
        self.assertIn("local        0 mappings (0 demo, 0 not resolved), 0 lists, 0 policies\n", out)

    def test_audit_report_line(self):
        photo = os.path.join(FIXTURES, "scan", sorted(f for f in os.listdir(os.path.join(FIXTURES, "scan"))
                                                      if f.endswith(".jpg"))[0])
        out_dir = os.path.join(self.home, "audit")
        rc, out, err = run(["audit", "--jobs", "1", "--out", out_dir, photo], home=self.home)
        self.assertRegex(err, r"\(1 photo, \d+ codes?, 0 duplicates\)\n")
        self.assertNoOnePlural(err)
        rc, out, err = run(["audit", "--jobs", "1", "--out", out_dir + "-zh", photo], ZH, home=self.home)
        self.assertRegex(err, r"（1 张照片，\d+ 个码，0 个重复）\n")


class Tables(unittest.TestCase):
    """Text columns padded by display width: a Chinese character takes two columns."""

    def test_catalog_info_labels(self):
        _, out, _ = run(["catalog", "info"], ZH)
        rows = [l for l in out.splitlines() if l.split(" ")[0] in ("来源", "版本", "导入时间", "药品", "标识码", "名单",
                                                                    "政策", "召回", "本地数据")]
        self.assertEqual(len(rows), 9, out)
        for row in rows:
            value = row.split()[1]
            self.assertEqual(column(row, value), 13, row)

    def test_ledger_history_and_lists_line_up(self):
        home = tempfile.mkdtemp(prefix="drugscan-i18n-ledger-")
        try:
            run(["counter", "receive", "-q", "--station", "收银台 2", CODE], home=home)
            run(["counter", "sell", "-q", "--station", "A", "--operator", "王药师", CODE], home=home)
            run(["counter", "sell", "-q", "--station", "A", CODE], home=home)
            for env in (ZH, {"LANG": "C"}):
                rc, out, err = run(["ledger", "history", CODE], env, home=home)
                self.assertEqual(rc, 0, err)
                lines = out.splitlines()
                self.assertEqual(len(lines), 3, out)
                self.assertEqual(len({column(l, "->") for l in lines}), 1, out)
                for l in lines:  # the state after "->" padded to 9 columns, then a space
                    self.assertEqual(width(re.match(r"\S+ +", l[l.index("->") + 3:]).group(0)), 10, l)
            _, out, _ = run(["ledger", "history", CODE], ZH, home=home)
            self.assertIn("入库", out)
            self.assertIn("已售出", out)
            _, out, _ = run(["catalog", "lists"], ZH, home=home)
            rows = out.splitlines()
            self.assertTrue(any(CJK.search(r) for r in rows), out)
            self.assertEqual({column(r, r.split()[2]) for r in rows}, {33}, out)
        finally:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    BIN = os.path.abspath(sys.argv.pop(1))
    FIXTURES = os.path.abspath(sys.argv.pop(1))
    try:
        unittest.main(verbosity=1)
    finally:
        shutil.rmtree(HOME, ignore_errors=True)

#!/usr/bin/python3
"""The counter page of `drugscan serve` in a real headless Chromium (Debian's chromium,
chromium-driver and python3-selenium, which Debian's own /usr/bin/python3 imports):
a handheld scanner's keystrokes (a code and Enter, twice: a sale, then an already-sold
alert), the camera path through Chromium's fake camera playing a box photo, English,
the token prompt, and scans kept while the server is down and sent when it is back.

usage: /usr/bin/python3 test_page.py path/to/drugscan path/to/fixtures
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

BIN = None
FIXTURES = None
TMP = None


def env_for(home):
    return dict(os.environ, LANG="C.UTF-8", LC_ALL="", DRUGSCAN_TODAY="2026-06-01", DRUGSCAN_HOME=home,
                DRUGSCAN_CATALOG_SEED="demo")  # the synthetic demo catalog, whose codes the tests use


def clean(i):
    return "8100031%09d1234" % i  # 阿托伐他汀钙片: no warning or alert of its own


def new_home():
    home = tempfile.mkdtemp(dir=TMP)
    shutil.copy(os.path.join(TMP, "seed", "catalog.db"), home)  # built once, in __main__
    return home


def start(home, *args):
    p = subprocess.Popen([BIN, "serve", "--data-dir", home] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env_for(home))
    url = p.stdout.readline().decode().strip()
    if not url.startswith("http://"):
        p.kill()
        raise AssertionError("serve did not start: " + p.stderr.read().decode())
    return p, url


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)
    return p.returncode


def post(url, path, body, token=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url.rstrip("/") + path, data=json.dumps(body).encode(), headers=h)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def y4m(jpeg, out):
    """A two-frame .y4m (4:2:0, grey) of a photo, for Chromium's fake camera."""
    gray = subprocess.run(["convert", jpeg, "-colorspace", "gray", "-depth", "8", "gray:-"], stdout=subprocess.PIPE,
                          check=True).stdout
    size = subprocess.run(["identify", "-format", "%w %h", jpeg], stdout=subprocess.PIPE, check=True).stdout.split()
    w, h = int(size[0]), int(size[1])
    with open(out, "wb") as f:
        f.write(b"YUV4MPEG2 W%d H%d F5:1 Ip A1:1 C420jpeg\n" % (w, h))
        for _ in range(2):
            f.write(b"FRAME\n" + gray + b"\x80" * (w * h // 2))


def browser(*extra):
    o = webdriver.ChromeOptions()
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,1000",
              "--user-data-dir=" + tempfile.mkdtemp(dir=TMP)] + list(extra):
        o.add_argument(a)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=o)


def wait_for(d, fn, timeout=45):  # generous: CI machines are shared (it failed once at load 12)
    end = time.time() + timeout
    while time.time() < end:
        v = fn(d)
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out; the page says: " + d.find_element(By.TAG_NAME, "main").text[:1500])


class Page(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = new_home()
        cls.p, cls.url = start(cls.home, "--listen", "127.0.0.1:0")
        cls.d = browser()

    @classmethod
    def tearDownClass(cls):
        cls.d.quit()
        assert stop(cls.p) == 0

    def answer(self):
        a = self.d.find_element(By.ID, "answer")
        return a.get_attribute("data-outcome"), a.text, [li.get_attribute("data-id") for li in a.find_elements(By.CSS_SELECTOR, "#labels li")]

    def scan(self, code):
        """What a USB handheld scanner does: the keystrokes of the code, then Enter, into whatever has the focus."""
        before = len(self.d.find_elements(By.CSS_SELECTOR, "#history li"))
        self.d.switch_to.active_element.send_keys(code + Keys.ENTER)
        wait_for(self.d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history li")) > before)
        return self.answer()

    def test_scanner_keystrokes_sell_then_already_sold(self):
        c = clean(1)
        post(self.url, "/v1/counter/receive", {"code": c})
        self.d.get(self.url)
        self.assertEqual(self.d.switch_to.active_element.get_attribute("id"), "code")  # focused for the scanner
        outcome, text, ids = self.scan(c)
        self.assertEqual(outcome, "ok", text)
        self.assertIn("阿托伐他汀钙片", text)
        self.assertIn("已销售", text)
        outcome, text, ids = self.scan(c)
        self.assertEqual(outcome, "alert", text)
        self.assertIn("ledger.already_sold", ids)
        self.assertIn("未执行", text)
        self.assertIn("alert", self.d.find_element(By.ID, "answer").get_attribute("class"))
        self.assertEqual(len(self.d.find_elements(By.CSS_SELECTOR, "#history li")), 2)

    def test_actions_split_and_not_a_box(self):
        c = clean(2)
        self.d.get(self.url)
        self.d.find_element(By.CSS_SELECTOR, "button[data-action=receive]").click()
        self.assertEqual(self.scan(c)[0], "ok")
        self.d.switch_to.active_element.send_keys(Keys.F3)  # 拆零
        self.assertTrue(self.d.find_element(By.ID, "qty").is_displayed())
        qty = self.d.find_element(By.ID, "qty")
        qty.clear()
        qty.send_keys("4")
        self.d.find_element(By.ID, "code").click()
        outcome, text, _ = self.scan(c)
        self.assertEqual(outcome, "ok", text)
        self.assertIn("剩 6", text)
        self.d.find_element(By.CSS_SELECTOR, "button[data-action=sell]").click()
        outcome, text, ids = self.scan("6901234567892")  # the product barcode, not the trace code
        self.assertEqual(outcome, "alert")
        self.assertIn("不是单盒追溯码", text)
        self.assertIn("code.product_barcode", ids)

    def test_english(self):
        self.d.get(self.url + "?lang=en")
        self.assertEqual(self.d.find_element(By.CSS_SELECTOR, "button[data-action=sell] b").text, "Sell")
        outcome, text, _ = self.scan(clean(3))
        self.assertEqual(outcome, "warn", text)  # sold without a receipt: ledger.not_in_stock
        self.assertIn("Sell: done, check it", text)
        self.assertIn("no receipt recorded", text)


class Camera(unittest.TestCase):
    def test_fake_camera_shows_the_drug(self):
        jpeg = os.path.join(FIXTURES, "scan", "rot0-code128.jpg")
        with open(os.path.join(FIXTURES, "scan", "rot0-code128.expect")) as f:
            want = f.readline().strip()
        cam = os.path.join(TMP, "box.y4m")
        y4m(jpeg, cam)
        home = new_home()
        p, url = start(home, "--listen", "127.0.0.1:0")
        d = browser("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                    "--use-file-for-fake-video-capture=" + cam)
        try:
            d.get(url)
            d.find_element(By.CSS_SELECTOR, "button[data-action=scan]").click()  # 查询: a look, nothing moves
            d.find_element(By.ID, "cam").click()
            wait_for(d, lambda d: d.find_element(By.ID, "answer").get_attribute("data-outcome"))
            text = d.find_element(By.ID, "answer").text
            drug = json.loads(subprocess.run([BIN, "check", "--format", "json", want], stdout=subprocess.PIPE,
                                             env=env_for(home)).stdout)["drug"]["generic_name"]  # exit 3: recalled
            self.assertIn(drug, text)
            self.assertIn(want, text)
            time.sleep(1.5)  # the box stays in view: no second answer within the repeat window
            self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, "#history li")), 1)
            self.assertIn("服务器识别", d.find_element(By.ID, "camstatus").text)
        finally:
            d.quit()
            stop(p)
        hist = subprocess.run([BIN, "ledger", "history", "--format", "jsonl", want], stdout=subprocess.PIPE,
                              env=env_for(home), check=True).stdout.decode().splitlines()
        self.assertEqual([json.loads(l)["action"] for l in hist], ["scan"])


class Offline(unittest.TestCase):
    def test_token_prompt_and_scans_kept_while_the_server_is_down(self):
        home = new_home()
        token = os.path.join(home, "token")
        with open(token, "w") as f:
            f.write("page-token-42\n")
        p, url = start(home, "--listen", "127.0.0.1:0", "--token-file", token)
        port = re.search(r":(\d+)/", url).group(1)
        d = browser()
        try:
            d.get(url)
            wait_for(d, lambda d: d.find_element(By.ID, "settings").is_displayed())  # asked for the token
            self.assertTrue(d.find_element(By.ID, "settings-why").is_displayed())
            d.switch_to.active_element.send_keys("page-token-42")
            d.find_element(By.ID, "s-save").click()
            wait_for(d, lambda d: "demo" in d.find_element(By.ID, "catalog").text or "演示" in d.find_element(By.ID, "catalog").text)
            d.switch_to.active_element.send_keys(clean(5) + Keys.ENTER)
            wait_for(d, lambda d: d.find_element(By.ID, "answer").get_attribute("data-outcome") == "warn")
            self.assertEqual(stop(p), 0)  # the server goes away
            d.switch_to.active_element.send_keys(clean(6) + Keys.ENTER)
            wait_for(d, lambda d: d.find_element(By.ID, "pending").is_displayed())
            self.assertIn("未记录", d.find_element(By.ID, "answer").text)
            self.assertEqual(d.find_element(By.ID, "pending-count").text, "1")
            p, url = start(home, "--listen", "127.0.0.1:" + port, "--token-file", token)  # back
            wait_for(d, lambda d: not d.find_element(By.ID, "pending").is_displayed(), timeout=45)
            self.assertIn("补录", d.find_element(By.ID, "history").text)
            st = post(url, "/v1/counter/scan", {"code": clean(6)}, token="page-token-42")
            self.assertEqual(st["ledger"]["state_before"], "sold")  # the kept sale was recorded
        finally:
            d.quit()
            stop(p)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FIXTURES = os.path.abspath(sys.argv.pop(1))
    TMP = tempfile.mkdtemp(prefix="drugscan-page-")
    seed = os.path.join(TMP, "seed")
    subprocess.run([BIN, "catalog", "info", "--data-dir", seed], stdout=subprocess.DEVNULL, env=env_for(seed), check=True)
    try:
        unittest.main(verbosity=1)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)

#!/usr/bin/env python3
"""receiver.py - the reference receiver of docs/sync-protocol.md.

Stores every event in its own SQLite file keyed by uuid (a resend is stored
once) and answers {"acked": [uuid, ...]} listing every uuid of the request that
it now holds. Standard library only.

usage: receiver.py DB [--port N] [--host 127.0.0.1]
Prints "listening on PORT" when ready. For tests it can misbehave on purpose:
POST /control with {"mode": M, "count": N} makes the next N requests (or all,
without count) behave as M:
  ok        answer normally
  500       answer HTTP 500 without storing
  drop      read the request, store nothing, close the connection without answering
  store-drop  store the events, then close without answering (the ack is lost)
  slow      wait 5 s before answering normally
  garbage   answer 200 with a body that is not the protocol
"""
import http.server
import json
import sqlite3
import sys
import threading
import time

LOCK = threading.Lock()
STATE = {"mode": "ok", "count": None}


class Handler(http.server.BaseHTTPRequestHandler):
    db_path = None

    def log_message(self, *args):
        pass

    def next_mode(self):
        with LOCK:
            mode = STATE["mode"]
            if STATE["count"] is not None:
                STATE["count"] -= 1
                if STATE["count"] <= 0:
                    STATE["mode"], STATE["count"] = "ok", None
            return mode

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/count":
            con = sqlite3.connect(self.db_path)
            n = con.execute("SELECT count(*) FROM events").fetchone()[0]
            con.close()
            return self.reply(200, {"events": n})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path == "/control":
            req = json.loads(raw)
            with LOCK:
                STATE["mode"], STATE["count"] = req.get("mode", "ok"), req.get("count")
            return self.reply(200, {"mode": STATE["mode"]})
        mode = self.next_mode()
        if mode == "500":
            return self.reply(500, {"error": "try later"})
        if mode == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "garbage":
            return self.reply(200, {"hello": "world"})
        try:
            req = json.loads(raw)
            events = req["events"]
            assert req.get("protocol") == 1
        except Exception:
            return self.reply(400, {"error": "not a sync request"})
        con = sqlite3.connect(self.db_path, timeout=30)
        with con:
            for e in events:
                con.execute("INSERT OR IGNORE INTO events (uuid, body) VALUES (?, ?)", (e["uuid"], json.dumps(e)))
        acked = [e["uuid"] for e in events
                 if con.execute("SELECT 1 FROM events WHERE uuid = ?", (e["uuid"],)).fetchone()]
        con.close()
        if mode == "store-drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "slow":
            time.sleep(5)
        self.reply(200, {"acked": acked})


def main():
    db = sys.argv[1]
    port, host = 0, "127.0.0.1"
    args = sys.argv[2:]
    while args:
        if args[0] == "--port":
            port = int(args[1])
        elif args[0] == "--host":
            host = args[1]
        args = args[2:]
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE IF NOT EXISTS events (uuid TEXT PRIMARY KEY, body TEXT NOT NULL,"
                " received REAL DEFAULT (julianday('now')))")
    con.commit()
    con.close()
    Handler.db_path = db
    httpd = http.server.ThreadingHTTPServer((host, port), Handler)
    print("listening on %d" % httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()

"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl from Debian's
postgresql-15, run as an unprivileged user, in a temporary folder, on a free port
of 127.0.0.1. Used by tests/cli/test_chain.py and bench/ledger.

    c = PgCluster(); c.start(); url = c.url(); ...; c.stop(); c.cleanup()
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

PASSWORD = "drugscan-test-pw"


def pg_bin():
    """The folder of initdb and pg_ctl (PostgreSQL 15 first), or None."""
    for d in ["/usr/lib/postgresql/15/bin"] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def unprivileged_user():
    """(uid, gid) to run the server as: ourselves when not root, else postgres or drugscan-pg."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "drugscan-pg"):
        try:
            p = pwd.getpwnam(name)
            return p.pw_uid, p.pw_gid
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "drugscan-pg"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p = pwd.getpwnam("drugscan-pg")
    return p.pw_uid, p.pw_gid


class PgCluster:
    def __init__(self):
        self.bin = pg_bin()
        if not self.bin:
            raise RuntimeError("PostgreSQL's initdb and pg_ctl are not installed (scripts/install-deps installs postgresql-15)")
        self.user = unprivileged_user()
        self.dir = tempfile.mkdtemp(prefix="drugscan-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.mkdir(self.sock)
        if self.user:
            os.chown(self.sock, *self.user)
            os.chown(self.dir, *self.user)
        self.port = free_port()
        self.running = False

    def _as_user(self):
        if not self.user:
            return None
        uid, gid = self.user

        def demote():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        return demote

    def run(self, args, **kw):
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", PGTZ="UTC")
        return subprocess.run(args, preexec_fn=self._as_user(), env=env, cwd=self.dir, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=120, **kw)

    def init(self):
        pw = os.path.join(self.dir, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        if self.user:
            os.chown(pw, *self.user)
        p = self.run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "--pwfile", pw,
                      "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])
        if p.returncode != 0:
            raise RuntimeError("initdb failed: " + p.stdout.decode(errors="replace"))
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                    "max_connections = 60\nshared_buffers = 64MB\nfsync = on\nlogging_collector = off\n"
                    % (self.port, self.sock))

    def start(self):
        if not os.path.exists(self.data):
            self.init()
        p = self.run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w",
                      "-t", "60", "start"])
        if p.returncode != 0:
            log = ""
            try:
                log = open(os.path.join(self.dir, "log")).read()[-2000:]
            except OSError:
                pass
            raise RuntimeError("pg_ctl start failed: " + p.stdout.decode(errors="replace") + log)
        self.running = True

    def stop(self, mode="fast"):
        if self.running:
            self.run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"])
            self.running = False

    def url(self, user="postgres", password=PASSWORD, db="postgres"):
        return "postgresql://%s:%s@127.0.0.1:%d/%s" % (user, password, self.port, db)

    def psql(self, sql, db="postgres"):
        """Run SQL as the superuser over the socket; the rows, '|'-separated."""
        p = self.run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.sock,
                      "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql])
        if p.returncode != 0:
            raise RuntimeError("psql failed: " + p.stdout.decode(errors="replace"))
        return [l for l in p.stdout.decode().splitlines() if l]

    def cleanup(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

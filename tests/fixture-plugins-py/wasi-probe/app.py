"""Fixture plugin `fixture-wasi-probe`: a Python plugin that tries every way
out of the sandbox WASI could give it (files, directories, environment,
sockets, stdio) and reports what each attempt got, so the tests can check
that the agent links WASI deny-all. Each attempt's result is an attribute
of one connector record: `denied: <error>` or `ALLOWED: <what it got>`.
"""

import os
import socket
import sys
import time

import wit_world
from wit_world.imports import host_info
from wit_world.imports.types import (
    Attribute, Capabilities, Category, ConnectorRecord, PluginInfo, Report, SettingKind_Text, SettingSpec,
)


def attempt(fn):
    try:
        return "ALLOWED: " + repr(fn())[:200]
    except BaseException as e:  # noqa: BLE001 - every failure is the answer
        return "denied: " + type(e).__name__ + ": " + str(e)[:200]


def read_file(path):
    with open(path, "rb") as f:
        return f.read(64)


def write_file(path):
    with open(path, "w") as f:
        f.write("escaped")
    return path


def connect(target):
    host, port = target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=2)
    s.sendall(b"escaped\n")
    return s.getpeername()


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return PluginInfo(
            "fixture-wasi-probe", "0.1.0", "Tries WASI's files, environment, sockets and stdio; reports what it got",
            [Category.WEBHOOK_REFERENCE], Capabilities([], [], []),
            [SettingSpec("file", SettingKind_Text(), False, "/etc/passwd", "a file to try to read"),
             SettingSpec("connect", SettingKind_Text(), False, "127.0.0.1:9", "host:port to try to connect to"),
             SettingSpec("secret_env", SettingKind_Text(), False, "HOME", "an environment variable to look for")],
            [], [])

    def scan(self, ctx):
        given = {a.name: a.value for a in ctx.settings}
        file = given.get("file", "/etc/passwd")
        tried = {
            "read_file": attempt(lambda: read_file(file)),
            "list_root": attempt(lambda: os.listdir("/")),
            "list_cwd": attempt(lambda: os.listdir(".")),
            "write_file": attempt(lambda: write_file("/tmp/plumbline-wasi-probe")),
            "env_count": str(len(os.environ)),
            "env_secret": attempt(lambda: os.environ[given.get("secret_env", "HOME")]),
            "argv": repr(sys.argv)[:200],
            "connect": attempt(lambda: connect(given.get("connect", "127.0.0.1:9"))),
            "resolve": attempt(lambda: socket.getaddrinfo("localhost", 80)),
            "stdout": attempt(lambda: print("WASI-PROBE-STDOUT", flush=True)),
            "stderr": attempt(lambda: print("WASI-PROBE-STDERR", file=sys.stderr, flush=True)),
            "clock_ok": str(abs(time.time() * 1000 - host_info.now_ms()) < 60_000).lower(),
            "random_bytes": str(len(os.urandom(16))),
        }
        return Report([ConnectorRecord(
            "wasi-probe", Category.WEBHOOK_REFERENCE, "WASI probe", "sandbox", None, [], None, None, None, None, None,
            [Attribute(k, v) for k, v in tried.items()])], [])

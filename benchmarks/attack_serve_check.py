# ruff: noqa: E501, E741, UP031, B007, B905, F841
"""Adversarial pass, part 2: `handbill serve` (raw HTTP) and `handbill check` (odd files), via the CLI.

python benchmarks/attack_serve_check.py
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="attack2-"))
RESULTS: list[tuple[str, str, list[str]]] = []


def record(cls: str, name: str, problems: list[str]) -> None:
    RESULTS.append((cls, name, problems))
    if problems:
        print(f"FAIL [{cls}] {name}: {'; '.join(problems)}")


def raw(port: int, request: bytes, timeout: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except TimeoutError:
            data += b"<<timeout>>"
        except ConnectionResetError:
            data += b"<<reset>>"
        return data


def status(response: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d+)", response)
    return int(match.group(1)) if match else -1


def serve_cases() -> None:
    books = []
    for i, title in enumerate(["Same Title", "Same Title", "Same-Title", "Ünïcode Tïtle / ../x"]):
        book = ROOT / f"b{i}"
        book.mkdir()
        (book / "book.toml").write_text(f'title = "{title}"\n')
        (book / "01.md").write_text("# One\n\ntext\n")
        books.append(str(book))
    proc = subprocess.Popen(
        [sys.executable, "-m", "handbill", "serve", "--host", "127.0.0.1", "--port", "0", *books],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    port = None
    started = time.monotonic()
    output = b""
    while time.monotonic() - started < 60 and port is None:
        line = proc.stdout.readline()
        output += line
        match = re.search(rb"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            port = int(match.group(1))
    if port is None:
        record("serve", "start", [f"no address printed: {output[-300:]!r}"])
        proc.kill()
        return
    S = "serve"
    try:
        index = raw(port, b"GET / HTTP/1.0\r\n\r\n")
        slugs = sorted(set(re.findall(rb'href="/books/([^".]+)\.epub"', index)))
        record(S, "four books, distinct slugs", [] if len(slugs) == 4 else [f"slugs {slugs}"])
        slug = slugs[0].decode() if slugs else "same-title"
        full = raw(port, f"GET /books/{slug}.epub HTTP/1.0\r\n\r\n".encode())
        body = full.split(b"\r\n\r\n", 1)[1]
        size = len(body)
        for name, header, want in [
            ("range ok", "bytes=0-9", 206),
            ("range reversed", "bytes=9-0", 200),
            ("range multi", "bytes=0-0,2-3", 200),
            ("range suffix 0", "bytes=-0", 200),
            ("range past end", f"bytes={size + 10}-", 200),
            ("range other unit", "items=0-1", 200),
            ("range garbage", "bytes=abc", 200),
            ("range huge numbers", "bytes=0-99999999999999999999999999", 206),
            ("range negative start", "bytes=--5", 200),
            ("range whitespace", "bytes = 0-1", (200, 206)),
        ]:
            response = raw(
                port,
                f"GET /books/{slug}.epub HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: {header}\r\n\r\n".encode(),
            )
            got = status(response)
            record(
                S,
                name,
                []
                if got in (want if isinstance(want, tuple) else (want,))
                else [f"status {got}, want {want}: {response[:200]!r}"],
            )
        forged = raw(port, b"GET / HTTP/1.1\r\nHost: evil.example:666\r\nConnection: close\r\n\r\n")
        again = raw(port, b"GET /opds HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        clean = raw(port, b"GET / HTTP/1.0\r\n\r\n") + raw(port, b"GET /opds HTTP/1.0\r\n\r\n")
        record(S, "forged Host", [] if b"evil.example" not in forged + again + clean else ["forged host reflected"])
        redirect = raw(port, f"GET /read/{slug} HTTP/1.0\r\n\r\n".encode())
        record(
            S,
            "read redirect",
            []
            if status(redirect) in (301, 308) and f"/read/{slug}/".encode() in redirect
            else [redirect[:200].decode(errors="replace")],
        )
        for name, path, ok in [
            ("traversal", f"/read/{slug}/../../../../etc/passwd", lambda r: b"root:" not in r),
            ("encoded traversal", f"/read/{slug}/%2e%2e/%2e%2e/etc/passwd", lambda r: b"root:" not in r),
            ("double encoded", f"/read/{slug}/..%252f..%252fetc%252fpasswd", lambda r: b"root:" not in r),
            ("missing slug", "/read/nope/", lambda r: status(r) == 404),
            ("long url", "/" + "a" * 20000, lambda r: status(r) in (404, 414, 431, 400) or r.endswith(b"<<reset>>")),
            ("nul in path", "/read/%00/", lambda r: 400 <= status(r) < 500),
            ("cover bad ext", f"/covers/{slug}.exe", lambda r: 400 <= status(r) < 500),
            ("page in zip META-INF", f"/read/{slug}/META-INF/container.xml", lambda r: True),
            ("mimetype file", f"/read/{slug}/mimetype", lambda r: True),
        ]:
            response = raw(port, f"GET {path} HTTP/1.0\r\n\r\n".encode())
            problems = (
                []
                if ok(response) and status(response) != 500 and (status(response) != -1 or b"<<reset>>" in response)
                else [f"{response[:150]!r}"]
            )
            record(S, name, problems)
        for name, request, want in [
            ("POST", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", (405, 413)),
            ("TRACE", b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", (405,)),
            (
                "huge header",
                b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 40000 + b"\r\nConnection: close\r\n\r\n",
                (431, 400),
            ),
            (
                "chunked body GET",
                b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                (413, 400),
            ),
            ("bad request line", b"GARBAGE\r\n\r\n", (400, 405)),
            ("HEAD", f"HEAD /books/{slug}.epub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(), (200,)),
        ]:
            response = raw(port, request)
            got = status(response)
            record(S, name, [] if got in want else [f"status {got}: {response[:150]!r}"])
        # slowloris: 150 trickling clients, then a normal request must answer within 1 s
        slow = []
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET / HTTP/1.1\r\n")
            slow.append(s)
        t0 = time.monotonic()
        try:
            response = raw(port, b"GET / HTTP/1.0\r\n\r\n", timeout=3)
            took = time.monotonic() - t0
            record(
                S,
                "slowloris 150",
                [] if status(response) == 200 and took < 1.0 else [f"{status(response)} after {took:.2f}s"],
            )
        except OSError as e:
            record(S, "slowloris 150", [f"{e}"])
        for s in slow:
            s.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    # port in use / bad host
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    used = blocker.getsockname()[1]
    for name, args in [
        ("port in use", ["--host", "127.0.0.1", "--port", str(used)]),
        ("host 999.1.1.1", ["--host", "999.1.1.1", "--port", "0"]),
        ("host not ours", ["--host", "8.8.8.8", "--port", "0"]),
        ("port 70000", ["--host", "127.0.0.1", "--port", "70000"]),
    ]:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "handbill", "serve", *args, books[0]], capture_output=True, timeout=30
            )
            err = done.stderr.decode(errors="replace")
            lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning:")]
            problems = []
            if done.returncode == 0 or "Traceback" in err or "internal error" in err or len(lines) != 1:
                problems.append(f"rc={done.returncode} {err[-300:]!r}")
        except subprocess.TimeoutExpired:
            problems = ["hang"]
        record(S, name, problems)
    blocker.close()


def check_cases() -> None:
    C = "check"
    work = ROOT / "check"
    work.mkdir()
    good = work / "good.epub"
    subprocess.run(
        [sys.executable, "-m", "handbill", "build", str(ROOT / "b0"), "-o", str(good)], check=True, capture_output=True
    )
    shutil.copyfile(good, work / "-bad.epub")
    os.mkfifo(work / "fifo.epub")
    (work / "dir.epub").mkdir()
    (work / "empty.epub").write_bytes(b"")
    (work / "text.epub").write_text("hello")
    shutil.copyfile(good, work / "name with\nnewline.epub")
    shutil.copyfile(good, work / "sp ace $(id).epub")
    shutil.copyfile(good, os.fsdecode(os.fsencode(work) + b"/bad\xff.epub"))
    with zipfile.ZipFile(work / "bomb.epub", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", "<container/>")
        z.writestr("OEBPS/big.xhtml", b"\0" * (120 * 1024 * 1024))
    with zipfile.ZipFile(work / "many.epub", "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        for i in range(25000):
            z.writestr(f"x/{i}", b"")
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(work / "traversal.epub", "w") as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        z.writestr("../../evil.txt", "x")
        z.writestr("/abs.txt", "x")
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(work / "nocontainer.epub", "w") as z:
        for info in src.infolist():
            if "container" not in info.filename:
                z.writestr(info, src.read(info))
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(work / "badopf.epub", "w") as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".opf"):
                data = (
                    b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><package>&x;</package>'
                )
            z.writestr(info, data)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(work / "laughs.epub", "w") as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".opf"):
                data = b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]><package>&h;</package>'
            z.writestr(info, data)
    data = good.read_bytes()
    (work / "truncated.epub").write_bytes(data[: len(data) // 2])
    (work / "cd-corrupt.epub").write_bytes(data[:-30] + b"\xff" * 30)
    # lie about sizes: header says small, data is big
    cases = [
        ("-- -bad.epub", ["--", str(work / "-bad.epub")], "ok"),
        ("-bad.epub relative", ["--", "-bad.epub"], "ok"),
        ("/dev/zero", ["/dev/zero"], "error"),
        ("FIFO", [str(work / "fifo.epub")], "error"),
        ("directory", [str(work / "dir.epub")], "error"),
        ("empty", [str(work / "empty.epub")], "error"),
        ("text", [str(work / "text.epub")], "error"),
        ("missing", [str(work / "missing.epub")], "error"),
        ("newline name", [str(work / "name with\nnewline.epub")], "ok"),
        ("shell chars name", [str(work / "sp ace $(id).epub")], "ok"),
        ("non-utf8 name", [os.fsdecode(os.fsencode(work) + b"/bad\xff.epub")], "ok"),
        ("zip bomb entry", [str(work / "bomb.epub"), "--no-epubcheck"], "error"),
        ("25000 entries", [str(work / "many.epub"), "--no-epubcheck"], "error"),
        ("traversal names", [str(work / "traversal.epub")], "error"),
        ("no container", [str(work / "nocontainer.epub"), "--no-epubcheck"], "error"),
        ("opf xxe", [str(work / "badopf.epub"), "--no-epubcheck"], "error"),
        ("opf laughs", [str(work / "laughs.epub"), "--no-epubcheck"], "error"),
        ("truncated", [str(work / "truncated.epub")], "error"),
        ("central dir corrupt", [str(work / "cd-corrupt.epub")], "error"),
        ("timeout 0", ["--timeout", "0", str(good)], "error"),
        ("good", [str(good)], "ok"),
    ]
    for name, args, expect in cases:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "handbill", "check", *args], capture_output=True, timeout=120, cwd=work
            )
            text = (done.stdout + done.stderr).decode(errors="replace")
            problems = []
            if "Traceback" in text or "internal error" in text.lower():
                problems.append("traceback")
            if expect == "error" and done.returncode == 0:
                problems.append("exit 0 (fails open)")
            if expect == "ok" and done.returncode != 0:
                problems.append(f"exit {done.returncode}")
            if "root:x" in text:
                problems.append("passwd leaked")
            if problems:
                problems.append(repr(text[-300:]))
        except subprocess.TimeoutExpired:
            problems = ["hang"]
        record(C, name, problems)


if __name__ == "__main__":
    serve_cases()
    check_cases()
    for cls in ("serve", "check"):
        rows = [r for r in RESULTS if r[0] == cls]
        print(f"{cls:10} {len(rows):4} cases {sum(1 for r in rows if r[2]):3} failed")

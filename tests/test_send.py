"""`handbill send`: e-mail through a real SMTP server on 127.0.0.1, and copies onto fake e-readers."""

from __future__ import annotations

import email
import email.policy
import errno
import io
import os
import shutil
import socket
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill.build import build
from handbill.cli import cli
from handbill.config import load_config
from handbill.send import SendError, check_for_kindle, detect_device

from .conftest import CONTENT, Epub, register

aiosmtpd = pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

PASSWORD = "s3cret-Pa55word-never-shown"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the server received; recipients starting with "nobody" are refused."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address.startswith("nobody"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def only_this_password(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == b"me@example.org" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd replies 535 itself


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=only_this_password, auth_require_tls=False
    )
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    env = {
        "HANDBILL_SMTP_HOST": "127.0.0.1",
        "HANDBILL_SMTP_PORT": str(port),
        "HANDBILL_SMTP_USER": "me@example.org",
        "HANDBILL_SMTP_PASSWORD": PASSWORD,
        "HANDBILL_SMTP_FROM": "me@example.org",
        "HANDBILL_SMTP_TLS": "none",
        "HANDBILL_SMTP_TIMEOUT": "5",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def statement(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("statement") / "statement.epub"
    build(load_config(CONTENT), output, ("epub", "kepub"))
    register(output)
    register(output.with_name("statement.kepub.epub"))
    return output


def attachment(raw: bytes):
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    (part,) = list(parsed.iter_attachments())
    return parsed, part


def test_the_epub_arrives_intact_as_application_epub_zip(smtp_server, statement: Path, tmp_path: Path) -> None:
    port, inbox = smtp_server
    named = tmp_path / "Grève générale – Minneapolis.epub"
    shutil.copy(statement, named)
    code, out, err = run("-v", "send", str(named), "--to", "reader@kindle.com", env=smtp_env(port))
    assert code == 0, err
    assert "sent Grève générale – Minneapolis.epub" in out and "reader@kindle.com" in out
    assert PASSWORD not in out + err
    ((sender, recipients, raw),) = inbox.messages
    assert sender == "me@example.org" and recipients == ["reader@kindle.com"]
    parsed, part = attachment(raw)
    assert part.get_content_type() == "application/epub+zip"
    assert part.get_filename() == "Grève générale – Minneapolis.epub"
    assert b"filename*" in raw and b"utf-8''Gr%C3%A8ve" in raw  # RFC 2231, not raw UTF-8
    assert part.get_content() == statement.read_bytes()
    assert parsed["Subject"] == "For a general strike against ICE violence and Trump's dictatorship!"
    assert PASSWORD.encode() not in raw


def test_a_book_folder_is_built_and_sent(smtp_server) -> None:
    port, inbox = smtp_server
    code, out, err = run("send", str(CONTENT), "--to", "reader@kindle.com", env=smtp_env(port))
    assert code == 0, err
    _, part = attachment(inbox.messages[0][2])
    assert part.get_filename() == "for-a-general-strike-against-ice-violence-and-trump-s-dictatorship.epub"
    with zipfile.ZipFile(io.BytesIO(part.get_content())) as book:
        assert book.namelist()[0] == "mimetype"


def one_line_error(code: int, err: str) -> str:
    assert code == 1, err
    lines = [line for line in err.strip().splitlines() if not line.startswith(("info:", "debug:"))]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert PASSWORD not in err
    return lines[0]


def test_a_refused_login_is_one_line_without_the_password(smtp_server, statement: Path) -> None:
    port, inbox = smtp_server
    env = smtp_env(port, HANDBILL_SMTP_PASSWORD=PASSWORD + "-wrong")
    line = one_line_error(*run("-vv", "send", str(statement), "--to", "reader@kindle.com", env=env)[::2])
    assert "refused the login of 'me@example.org'" in line and "HANDBILL_SMTP_PASSWORD" in line
    assert "-wrong" not in line
    assert inbox.messages == []


def test_a_refused_recipient_is_one_line(smtp_server, statement: Path) -> None:
    port, inbox = smtp_server
    line = one_line_error(*run("send", str(statement), "--to", "nobody@kindle.com", env=smtp_env(port))[::2])
    assert "refused the recipient nobody@kindle.com" in line and "550" in line
    assert inbox.messages == []


def test_a_closed_port_is_one_line(statement: Path) -> None:
    port = free_port()  # bound, then closed: nothing listens
    line = one_line_error(*run("send", str(statement), "--to", "r@kindle.com", env=smtp_env(port))[::2])
    assert f"cannot connect to the SMTP server at 127.0.0.1:{port}: connection refused" in line


def test_a_server_that_never_answers_times_out_in_one_line(statement: Path) -> None:
    with socket.socket() as silent:  # the kernel accepts the connection; nobody ever says anything
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        env = smtp_env(port, HANDBILL_SMTP_TIMEOUT="0.5")
        line = one_line_error(*run("send", str(statement), "--to", "r@kindle.com", env=env)[::2])
        assert "did not answer within 0.5 s" in line
        line = one_line_error(*run("send", str(statement), "--to", "r@kindle.com", "--timeout", "0.3", env=env)[::2])
        assert "did not answer within 0.3 s" in line


def test_starttls_to_a_server_without_it_and_ssl_to_a_plain_server(smtp_server, statement: Path) -> None:
    port, inbox = smtp_server
    env = smtp_env(port)
    del env["HANDBILL_SMTP_TLS"]  # starttls, the default
    line = one_line_error(*run("send", str(statement), "--to", "r@kindle.com", env=env)[::2])
    assert "does not offer STARTTLS" in line
    line = one_line_error(
        *run("send", str(statement), "--to", "r@kindle.com", env=smtp_env(port, HANDBILL_SMTP_TLS="ssl"))[::2]
    )
    assert "TLS with 127.0.0.1" in line and "failed" in line
    assert inbox.messages == []


@pytest.mark.parametrize(
    "env, complaint",
    [
        ({"HANDBILL_SMTP_HOST": ""}, "HANDBILL_SMTP_HOST is not set"),
        ({"HANDBILL_SMTP_TLS": "maybe"}, "give starttls, ssl or none"),
        ({"HANDBILL_SMTP_PORT": "smtp"}, "give a port number"),
        ({"HANDBILL_SMTP_FROM": "me@example.org\nBcc: all@example.org"}, "HANDBILL_SMTP_FROM is not one plain"),
        ({"HANDBILL_SMTP_TIMEOUT": "soon"}, "HANDBILL_SMTP_TIMEOUT"),
        ({"HANDBILL_SMTP_HOST": "smtp.example.org"}, "would send the password unencrypted to smtp.example.org"),
    ],
)
def test_bad_settings_are_one_line(statement: Path, env: dict[str, str], complaint: str) -> None:
    line = one_line_error(*run("send", str(statement), "--to", "r@kindle.com", env=smtp_env(1, **env))[::2])
    assert complaint in line


def test_a_forged_recipient_is_refused(smtp_server, statement: Path) -> None:
    port, inbox = smtp_server
    line = one_line_error(
        *run("send", str(statement), "--to", "r@kindle.com\r\nBcc: x@example.org", env=smtp_env(port))[::2]
    )
    assert "not one plain e-mail address" in line
    assert inbox.messages == []


def test_kindle_checks_and_the_size_limit_run_first(smtp_server, tmp_path: Path) -> None:
    port, inbox = smtp_server
    book = tmp_path / "no-language.epub"
    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles>'
            '<rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        archive.writestr(
            "content.opf",
            '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<dc:title>T</dc:title></metadata><manifest/><spine/></package>",
        )
    line = one_line_error(*run("send", str(book), "--to", "r@kindle.com", env=smtp_env(port))[::2])
    assert "Send to Kindle would reject it: KINDLE-LANGUAGE" in line and "no-language.epub" in line
    assert inbox.messages == []
    with pytest.raises(SendError, match="at most 50 MB"):
        check_for_kindle(b"PK" + bytes(50_000_000), "huge.epub")
    line = one_line_error(*run("send", str(tmp_path / "missing.epub"), "--to", "r@kindle.com", env=smtp_env(port))[::2])
    assert "no such EPUB file or book folder" in line


# -- devices --------------------------------------------------------------------------------------


def device(tmp_path: Path, *folders: str) -> Path:
    root = tmp_path / "mnt"
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    root.mkdir(exist_ok=True)
    return root


def test_a_kobo_gets_the_kobo_edition_built_from_a_book_folder(tmp_path: Path) -> None:
    root = device(tmp_path, ".kobo")
    code, out, err = run("send", str(CONTENT), "--device", str(root))
    assert code == 0, err
    (copied,) = [path for path in root.iterdir() if path.is_file()]
    assert copied.name.endswith(".kepub.epub") and "Kobo" in out
    assert b"koboSpan" in b"".join(Epub(copied).files.values())
    register(copied)
    assert not [path for path in root.iterdir() if path.name.startswith(".handbill")]


def test_a_kobo_gets_the_kepub_beside_an_epub_file_or_else_the_epub(statement: Path, tmp_path: Path) -> None:
    root = device(tmp_path, ".kobo")
    assert run("send", str(statement), "--device", str(root))[0] == 0
    assert (root / "statement.kepub.epub").read_bytes() == statement.with_name("statement.kepub.epub").read_bytes()
    alone = tmp_path / "alone" / "statement.epub"
    alone.parent.mkdir()
    shutil.copy(statement, alone)
    assert run("send", str(alone), "--device", str(root))[0] == 0
    assert (root / "statement.epub").read_bytes() == statement.read_bytes()


@pytest.mark.parametrize(
    "folders, where, model",
    [
        (("Books",), "Books", "e-reader"),
        ((), "", "e-reader"),
        (("system/config",), "", "PocketBook"),
        (("koreader", "documents", "system"), "documents", "KOReader"),
    ],
)
def test_other_readers_get_the_epub_in_their_books_folder(
    statement: Path, tmp_path: Path, folders, where, model
) -> None:
    root = device(tmp_path, *folders)
    code, out, err = run("send", str(statement), "--device", str(root))
    assert code == 0, err
    assert (root / where / "statement.epub").read_bytes() == statement.read_bytes()
    assert f"the {model} at" in out


def test_a_kindle_is_told_to_use_send_to(statement: Path, tmp_path: Path) -> None:
    root = device(tmp_path, "documents", "system/thumbnails")
    line = one_line_error(*run("send", str(statement), "--device", str(root))[::2])
    assert "Kindle" in line and "--to" in line
    assert list((root / "documents").iterdir()) == []


def test_missing_or_read_only_device_and_a_users_file(statement: Path, tmp_path: Path, monkeypatch) -> None:
    line = one_line_error(*run("send", str(statement), "--device", str(tmp_path / "unplugged"))[::2])
    assert "no such folder" in line
    root = device(tmp_path)
    (root / "statement.epub").write_text("my own notes")
    line = one_line_error(*run("send", str(statement), "--device", str(root))[::2])
    assert "is not an e-book" in line and (root / "statement.epub").read_text() == "my own notes"
    (root / "statement.epub").unlink()
    if os.geteuid() != 0:  # root writes anywhere: a read-only mount is what stops it
        root.chmod(0o555)
    else:

        def read_only_mount(*args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr("handbill.send.open", read_only_mount, raising=False)
    try:
        line = one_line_error(*run("send", str(statement), "--device", str(root))[::2])
    finally:
        root.chmod(0o755)
    assert "is read-only" in line and not (root / "statement.epub").exists()
    with pytest.raises(SendError, match="not a folder"):
        detect_device(statement)

"""Deliver a book to a reader: by e-mail (Send to Kindle) or onto a mounted e-reader (`handbill send`).

E-mail: the SMTP settings come from the environment (`HANDBILL_SMTP_*`), never from the command
line, so the password is in no shell history, process list or message: errors name the host,
port and user, never the password. The EPUB is checked first by handbill's own Kindle rules
(`check`, without EPUBCheck): what Send to Kindle rejects is refused here, with its reason.

Device: the reader is recognised from the marker files on its storage (`DEVICES`); a Kobo gets
the Kobo edition (`.kepub.epub`), other readers the EPUB, in their books folder, copied through a
part file beside its final name, so an unplugged reader never holds half a book.

In: a `.epub` file or a book folder (built in memory), an address or a folder. Out: a sent
message, or the path written on the device; `SendError` (one line) for anything that fails.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .errors import HandbillError

log = logging.getLogger(__name__)

KINDLE_MAX_BYTES = 50_000_000
"""Send to Kindle takes attachments of at most 50 MB."""
DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for the SMTP server at each step (connect, each reply)."""
_TLS_MODES = {"starttls": 587, "ssl": 465, "none": 25}


class SendError(HandbillError):
    """The book cannot be delivered; the message says why, in one line."""


class Edition(NamedTuple):
    """The bytes to deliver and the file name they go under."""

    name: str
    data: bytes
    title: str


# -- which edition -------------------------------------------------------------------------------


def edition(source: Path, kind: str = "epub") -> Edition:
    """The book to deliver: a `.epub` file as it is, or a book folder (or Markdown file) built in
    memory as `kind` (`epub` or `kepub`)."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".epub":
        try:
            data = source.read_bytes()
        except OSError as error:
            raise SendError(f"cannot be read ({error.strerror})", source) from error
        return Edition(source.name, data, _title_of(source) or source.stem)
    if not source.exists():
        raise SendError("no such EPUB file or book folder", source)
    from .build import build, kepub_path
    from .config import load_config

    buffer = io.BytesIO()
    result = build(load_config(source), buffer, (kind,))
    name = f"{result.book.slug or 'book'}.epub"
    if kind == "kepub":
        name = kepub_path(Path(name)).name
    return Edition(name, buffer.getvalue(), result.book.title)


def _title_of(path: Path) -> str | None:
    from .check.reader import NS, Unreadable, open_epub

    try:
        book = open_epub(path)
    except Unreadable:
        return None
    title = book.opf.find("opf:metadata/dc:title", NS)
    return " ".join((title.text or "").split()) or None if title is not None else None


# -- e-mail --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)  # never shown, not even in a debugger's repr
    sender: str
    tls: str = "starttls"
    timeout: float = DEFAULT_TIMEOUT

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_settings(environ: Mapping[str, str] | None = None, timeout: float | None = None) -> SmtpSettings:
    """The SMTP settings from HANDBILL_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM, _TLS (starttls,
    ssl or none) and _TIMEOUT (seconds); every problem is named at once."""
    env = os.environ if environ is None else environ
    problems = []
    host = env.get("HANDBILL_SMTP_HOST", "").strip()
    if not host:
        problems.append("HANDBILL_SMTP_HOST is not set (the SMTP server, such as smtp.example.org)")
    tls = env.get("HANDBILL_SMTP_TLS", "starttls").strip().lower() or "starttls"
    if tls not in _TLS_MODES:
        problems.append(f"HANDBILL_SMTP_TLS is {tls!r}; give starttls, ssl or none")
        tls = "starttls"
    port_text = env.get("HANDBILL_SMTP_PORT", "").strip()
    port = _TLS_MODES[tls]
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            problems.append(f"HANDBILL_SMTP_PORT is {port_text!r}; give a port number such as 587")
        else:
            port = int(port_text)
    user = env.get("HANDBILL_SMTP_USER") or None
    password = env.get("HANDBILL_SMTP_PASSWORD") or None
    if password and not user:
        problems.append("HANDBILL_SMTP_PASSWORD is set but HANDBILL_SMTP_USER is not")
    sender = (env.get("HANDBILL_SMTP_FROM") or (user if user and "@" in user else "")).strip()
    if not sender:
        problems.append("HANDBILL_SMTP_FROM is not set (your address, approved in your Kindle's settings)")
    elif not _plain_address(sender):
        problems.append("HANDBILL_SMTP_FROM is not one plain e-mail address")
    if timeout is None:
        timeout_text = env.get("HANDBILL_SMTP_TIMEOUT", "").strip()
        try:
            timeout = float(timeout_text) if timeout_text else DEFAULT_TIMEOUT
        except ValueError:
            problems.append(f"HANDBILL_SMTP_TIMEOUT is {timeout_text!r}; give seconds such as 30")
            timeout = DEFAULT_TIMEOUT
        if not 0 < timeout <= 3600:
            problems.append("HANDBILL_SMTP_TIMEOUT must be from 0 to 3600 seconds")
    if tls == "none" and password and host and not _on_this_machine(host):
        problems.append(
            f"HANDBILL_SMTP_TLS=none would send the password unencrypted to {host}; use starttls or ssl"
            " (none is for a server on this machine)"
        )
    if problems:
        raise SendError("cannot send: " + "; ".join(problems))
    return SmtpSettings(host, port, user, password, sender, tls, timeout)


def _on_this_machine(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _plain_address(address: str) -> bool:
    """One address, `name@domain`, nothing a header could be forged with."""
    from email.utils import parseaddr

    if any(not character.isprintable() for character in address) or "," in address:
        return False
    _, parsed = parseaddr(address)
    local, at, domain = parsed.partition("@")
    return parsed == address and bool(local and at and "." in domain and " " not in address)


def check_for_kindle(data: bytes, name: str) -> None:
    """Send to Kindle's own reasons to reject a book (handbill check's Kindle rules), before sending.

    Errors refuse the book; Kindle's warnings are logged."""
    import tempfile

    from .check import check_epub

    if len(data) > KINDLE_MAX_BYTES:
        raise SendError(f"is {len(data) / 1e6:.1f} MB; Send to Kindle takes at most 50 MB", name)
    with tempfile.TemporaryDirectory(prefix="handbill-send-") as folder:
        path = Path(folder) / "book.epub"
        path.write_bytes(data)
        report = check_epub(path, run_epubcheck=False)
    refused = ("KINDLE-", "EPUB-", "XHTML-", "NCX-")
    for finding in report.findings:
        if not finding.code.startswith(refused):
            continue
        message = finding.message.replace(str(path), name)
        if finding.severity == "error":
            raise SendError(f"Send to Kindle would reject it: {finding.code}: {message}", name)
        log.warning("%s: %s: %s", name, finding.code, message)


def message(book: Edition, to: str, sender: str):  # type: ignore[no-untyped-def]
    """The e-mail: a short text, and the EPUB attached as application/epub+zip under its file name
    (RFC 2231-encoded when it is not ASCII)."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = " ".join(book.title.split())[:200] or book.name
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(f"{book.title}\n\nThe e-book is attached ({book.name}). Sent with handbill.\n")
    mail.add_attachment(book.data, maintype="application", subtype="epub+zip", filename=book.name)
    return mail


def send_mail(book: Edition, to: str, settings: SmtpSettings) -> None:
    """Send the book to `to`; each way it can fail is one SendError naming the server."""
    import smtplib
    import socket
    import ssl

    if not _plain_address(to):
        raise SendError(f"--to {to!r} is not one plain e-mail address such as name@kindle.com")
    mail = message(book, to, settings.sender)
    where = settings.where
    log.info("sending %s to %s through %s (%s) as %s", book.name, to, where, settings.tls, settings.user or "nobody")
    try:
        context = ssl.create_default_context()
        if settings.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.tls == "starttls":
                if not client.has_extn("starttls"):
                    raise SendError(
                        f"the SMTP server at {where} does not offer STARTTLS; set HANDBILL_SMTP_TLS=ssl"
                        " (port 465), or none only for a server on this machine"
                    )
                client.starttls(context=context)
                client.ehlo()
            if settings.user:
                _login(client, settings)
            client.send_message(mail, from_addr=settings.sender, to_addrs=[to])
    except SendError:
        raise
    except smtplib.SMTPAuthenticationError as error:
        raise SendError(
            f"the SMTP server at {where} refused the login of {settings.user!r} ({_reply(error)});"
            " check HANDBILL_SMTP_USER and HANDBILL_SMTP_PASSWORD"
        ) from None
    except smtplib.SMTPNotSupportedError as error:
        raise SendError(f"the SMTP server at {where} does not support this ({_reply(error)})") from None
    except smtplib.SMTPRecipientsRefused as error:
        replies = "; ".join(f"{code} {_text(text)}" for code, text in error.recipients.values())
        raise SendError(f"the SMTP server at {where} refused the recipient {to} ({replies})") from None
    except smtplib.SMTPSenderRefused as error:
        raise SendError(f"the SMTP server at {where} refused the sender {settings.sender} ({_reply(error)})") from None
    except smtplib.SMTPDataError as error:
        raise SendError(f"the SMTP server at {where} refused the message ({_reply(error)})") from None
    except smtplib.SMTPServerDisconnected as error:
        if isinstance(error.__context__, TimeoutError):  # smtplib turns a time-out while reading into this
            raise SendError(f"the SMTP server at {where} did not answer within {settings.timeout:g} s") from None
        raise SendError(
            f"the SMTP server at {where} closed the connection (wrong port, or HANDBILL_SMTP_TLS=ssl"
            " for a STARTTLS port?)"
        ) from None
    except smtplib.SMTPException as error:
        raise SendError(f"the SMTP server at {where} failed: {_text(str(error))}") from None
    except ssl.SSLCertVerificationError as error:
        raise SendError(f"TLS with {where} failed: its certificate is not valid ({error.verify_message})") from None
    except ssl.SSLError as error:
        raise SendError(
            f"TLS with {where} failed ({error.reason or error}); is HANDBILL_SMTP_TLS right for port {settings.port}?"
        ) from None
    except TimeoutError:
        raise SendError(f"the SMTP server at {where} did not answer within {settings.timeout:g} s") from None
    except ConnectionRefusedError:
        raise SendError(f"cannot connect to the SMTP server at {where}: connection refused") from None
    except socket.gaierror as error:
        raise SendError(f"cannot find the SMTP server {settings.host!r} ({error.strerror})") from None
    except OSError as error:
        raise SendError(f"cannot reach the SMTP server at {where} ({error.strerror or error})") from None


def _login(client, settings: SmtpSettings) -> None:  # type: ignore[no-untyped-def]
    """Log in with one mechanism the server offers (PLAIN, else LOGIN), so that a refusal is the
    server's own reply: smtplib's login() tries the next mechanism after a refusal, and a server that
    hangs up after the first then looks like a broken connection."""
    import smtplib

    offered = client.esmtp_features.get("auth", "").upper().split()
    mechanism = next((name for name in ("PLAIN", "LOGIN") if name in offered), None)
    if mechanism is None:
        if not offered:
            raise SendError(
                f"the SMTP server at {settings.where} offers no login (AUTH) here; unset HANDBILL_SMTP_USER,"
                " or use HANDBILL_SMTP_TLS=starttls or ssl (many servers offer a login only then)"
            )
        client.login(settings.user, settings.password or "")
        return
    client.user, client.password = settings.user, settings.password or ""
    try:
        client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
    except smtplib.SMTPServerDisconnected:
        raise SendError(
            f"the SMTP server at {settings.where} hung up at the login of {settings.user!r};"
            " check HANDBILL_SMTP_USER and HANDBILL_SMTP_PASSWORD"
        ) from None
    finally:
        client.password = ""


def _reply(error) -> str:  # type: ignore[no-untyped-def]
    code = getattr(error, "smtp_code", None)
    text = getattr(error, "smtp_error", b"")
    return f"{code} {_text(text)}".strip() if code else _text(text) or type(error).__name__


def _text(reply: bytes | str) -> str:
    """A server's reply as one short printable line."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    text = " ".join(text.split())
    return "".join(character for character in text if character.isprintable())[:200]


# -- devices -------------------------------------------------------------------------------------


class Device(NamedTuple):
    model: str
    folder: Path
    """Where the book goes."""
    kepub: bool


DEVICES = (
    ("Kobo", (".kobo",), "the storage's top folder (Kobo finds books anywhere), as the Kobo edition *.kepub.epub"),
    ("Kobo (with NickelMenu/KOReader)", (".adds",), "as for Kobo"),
    ("KOReader", ("koreader",), "documents/ when there is one (a Kindle running KOReader), else the top folder"),
    ("PocketBook", ("system/config",), "the top folder (PocketBook finds books anywhere)"),
    ("Kindle", ("documents", "system"), "nothing: Kindle reads no EPUB over USB; use send --to"),
)
"""The readers handbill knows by their marker folders (checked in this order), and where a book goes."""
_BOOK_FOLDERS = ("Books", "books", "Documents", "documents", "eBooks", "Digital Editions")


def detect_device(root: Path) -> Device:
    """Which reader is mounted at `root`, and where a book goes on it."""
    root = Path(root)
    if not root.exists():
        raise SendError("no such folder; is the e-reader connected and mounted?", root)
    if not root.is_dir():
        raise SendError("is not a folder; give the folder where the e-reader is mounted", root)
    if (root / ".kobo").is_dir() or (root / ".adds").is_dir():
        return Device("Kobo", root, True)
    if (root / "koreader").is_dir():
        return Device("KOReader", root / "documents" if (root / "documents").is_dir() else root, False)
    if (root / "system" / "config").is_dir():
        return Device("PocketBook", root, False)
    if (root / "documents").is_dir() and (root / "system").is_dir():
        raise SendError(
            "is a Kindle, which reads no EPUB copied over USB; e-mail it instead:"
            " handbill send BOOK --to your-name@kindle.com (with HANDBILL_SMTP_* set)",
            root,
        )
    folder = next((root / name for name in _BOOK_FOLDERS if (root / name).is_dir()), root)
    return Device("e-reader", folder, False)


def device_edition(source: Path, device: Device) -> Edition:
    """A Kobo gets the Kobo edition: built for a book folder; for an .epub file, the .kepub.epub
    beside it if there is one, else the EPUB itself (a Kobo opens it in its older engine)."""
    source = Path(source)
    is_file = source.is_file() and source.suffix.lower() == ".epub"
    if not device.kepub:
        return edition(source, "epub")
    if not is_file:
        return edition(source, "kepub")
    from .build import kepub_path

    beside = kepub_path(source)
    if beside != source and beside.is_file():
        return edition(beside)
    if not source.name.lower().endswith(".kepub.epub"):
        log.info(
            "%s: no Kobo edition beside it (%s); the Kobo gets the EPUB and opens it in its older engine"
            " (handbill build --format all writes both)",
            source,
            beside.name,
        )
    return edition(source)


def copy_to_device(book: Edition, device: Device) -> Path:
    """Write the book into the device's folder through a part file; only an earlier e-book of the
    same name is replaced."""
    from .write.epub import check_target

    folder = device.folder
    target = folder / book.name
    check_target(target)
    part = folder / f".handbill-{os.getpid()}.part"
    try:
        with open(part, "wb") as file:
            file.write(book.data)
            file.flush()
            os.fsync(file.fileno())
        check_target(target)
        os.replace(part, target)
    except OSError as error:
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise SendError("is read-only; unlock the e-reader or mount it writable", folder) from None
        raise SendError(f"cannot write the book here ({error.strerror or error})", target) from None
    finally:
        try:
            if stat.S_ISREG(os.lstat(part).st_mode):
                os.unlink(part)
        except OSError:
            pass
    return target

"""`handbill publish --to s3://bucket/prefix`: the site uploaded to an S3-compatible store,
here moto's server on 127.0.0.1. Each object gets the content type `serve` sends (an EPUB
application/epub+zip, the catalog Atom's OPDS type); a second publish sends only what changed
and deletes only the objects of files publish removed; failures are one line each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill.cli import cli

from .conftest import register

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def store(endpoint: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3")
    client.create_bucket(Bucket="leaflets")
    yield client
    for item in client.list_objects_v2(Bucket="leaflets").get("Contents", []):
        client.delete_object(Bucket="leaflets", Key=item["Key"])
    client.delete_bucket(Bucket="leaflets")


def book(folder: Path, title: str, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "book.toml").write_text(
        f'title = "{title}"\nauthors = "A. Writer"\ndate = "2026-01-22"\n', encoding="utf-8"
    )
    (folder / "01.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    return folder


def objects(client, prefix: str = "") -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    return {item["Key"]: item for item in client.list_objects_v2(Bucket="leaflets", Prefix=prefix).get("Contents", [])}


def test_the_site_is_uploaded_with_content_types_and_later_only_what_changed(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one, two = book(tmp_path / "one", "First Leaflet", "Strike."), book(tmp_path / "two", "Second Leaflet", "Organise.")
    site, base = tmp_path / "site", "https://leaflets.example.org/june/"
    store.put_object(Bucket="leaflets", Key="june/mine.txt", Body=b"mine")  # not publish's: never deleted
    code, stdout, stderr = run(
        "publish", str(one), str(two), "-o", str(site), "--base-url", base, "--to", "s3://leaflets/june"
    )
    assert code == 0, stderr
    local = {path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file()} - {
        ".handbill-publish.json"
    }
    for epub in (site / "books").iterdir():
        register(epub, one)
    assert f"uploaded {len(local)} of {len(local)} files to s3://leaflets/june" in stdout
    assert set(objects(store, "june/")) == {f"june/{path}" for path in local} | {"june/mine.txt"}
    for path, content_type in {
        "books/first-leaflet.epub": "application/epub+zip",
        "books/first-leaflet.kepub.epub": "application/epub+zip",
        "opds.xml": "application/atom+xml;profile=opds-catalog;kind=acquisition",
        "opds.json": "application/opds+json",
        "index.html": "text/html; charset=utf-8",
    }.items():
        head = store.get_object(Bucket="leaflets", Key=f"june/{path}")
        assert head["ContentType"] == content_type and head["Body"].read() == (site / path).read_bytes()

    (two / "01.md").write_text("# Second Leaflet\n\nOrganise everywhere.\n", encoding="utf-8")
    code, stdout, stderr = run("publish", str(two), "-o", str(site), "--base-url", base, "--to", "s3://leaflets/june")
    assert code == 0, stderr
    keys = set(objects(store, "june/"))
    assert not [key for key in keys if "first-leaflet" in key]  # the removed book's objects are gone
    assert "june/mine.txt" in keys and "june/books/second-leaflet.epub" in keys
    sent = int(stdout.split("uploaded ")[1].split(" ")[0])
    assert 0 < sent < len(local) // 2  # the changed book and the catalogs, not the whole site again
    assert (
        store.get_object(Bucket="leaflets", Key="june/books/second-leaflet.epub")["Body"].read()
        == (site / "books" / "second-leaflet.epub").read_bytes()
    )


@pytest.mark.parametrize(
    ("destination", "problem"),
    [
        ("s3://no-such-bucket/june", "the store refused"),
        ("https://leaflets/june", "give a bucket"),
        ("s3://leaflets/../june", "plain names"),
    ],
)
def test_an_upload_that_cannot_be_done_is_one_line(store, tmp_path: Path, destination: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    one = book(tmp_path / "one", "First Leaflet", "Strike.")
    code, _, stderr = run(
        "publish", str(one), "-o", str(tmp_path / "site"), "--base-url", "https://x.org/", "--to", destination
    )
    assert code == 1 and problem in stderr and len(stderr.splitlines()) == 1 and "Traceback" not in stderr


def test_a_closed_port_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    one = book(tmp_path / "one", "First Leaflet", "Strike.")
    code, _, stderr = run(
        "publish", str(one), "-o", str(tmp_path / "site"), "--base-url", "https://x.org/", "--to", "s3://leaflets/june"
    )
    assert code == 1 and "--to s3://leaflets/june" in stderr and len(stderr.splitlines()) == 1
    assert (tmp_path / "site" / "index.html").is_file()  # the site itself was published

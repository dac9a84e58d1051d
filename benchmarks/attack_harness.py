# ruff: noqa: E501, E741, UP031, B007, B905, F841
"""Adversarial pass over handbill's promise (issue 9): hostile cases through the real CLI.

Each case gets a fake $HOME holding secrets, a book folder at $HOME/Downloads/book, and runs
`python -m handbill ...` with a timeout. A case fails if: exit 0 but EPUBCheck reports anything;
a traceback or "internal error"; more than one error line; a hang; a secret inside an EPUB; a
file the user owns changed; a leftover .part or a new empty folder after a failure.

    python benchmarks/attack_harness.py [CLASS_OR_NAME_SUBSTRING ...]
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

TIMEOUT = 20
SECRET = b"SECRET-7f3a9c"
ROOT = Path(tempfile.mkdtemp(prefix="attack-"))


def png(w=20, h=20, color=(200, 30, 30), extra=b"") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, "PNG")
    return out.getvalue() + extra


def jpeg(w=20, h=20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (10, 100, 200)).save(out, "JPEG")
    return out.getvalue()


def gif(frames=1, w=20, h=20) -> bytes:
    out = io.BytesIO()
    images = [Image.new("P", (w, h), i % 200) for i in range(frames)]
    images[0].save(out, "GIF", save_all=frames > 1, append_images=images[1:])
    return out.getvalue()


def secret_png() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("k", SECRET.decode())
    out = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


BASE = {"01.md": "# Chapter one\n\nSome text.\n", "book.toml": 'title = "Attack"\nauthors = ["A"]\n'}


@dataclass
class Case:
    cls: str
    name: str
    files: dict = field(default_factory=dict)
    args: list = field(default_factory=list)
    cmd: str = "build"
    env: dict = field(default_factory=dict)
    setup: object = None
    expect: str = "any"  # ok | error | any
    base: bool = True
    after: object = None  # callable(case_dir, proc) -> problem or None


CASES: list[Case] = []


def case(cls, name, files=None, args=None, **kw):
    CASES.append(Case(cls, name, files or {}, args or [], **kw))


# ---------------------------------------------------------------- paths / symlinks / book.toml
def toml(extra):
    return {"book.toml": 'title = "Attack"\nauthors = ["A"]\n' + extra}


P = "paths"
case(P, "stylesheet absolute /etc/passwd", toml('stylesheet = "/etc/passwd"\n'))
case(P, "assets / + stylesheet secret", toml('assets = "/"\nstylesheet = ["{home}/.ssh/id_rsa"]\n'))
case(P, "stylesheet ../../.ssh", toml('stylesheet = "../../.ssh/id_rsa"\n'))
case(P, "chapters ../../secret.md", toml('chapters = ["01.md", "../../secret.md"]\n'))
case(P, "chapters absolute", toml('chapters = ["01.md", "{home}/secret.md"]\n'))
case(P, "chapters ~/secret.md", toml('chapters = ["01.md", "~/secret.md"]\n'))
case(P, "cover ../../secret.png", toml('cover = "../../secret.png"\n'))
case(P, "cover absolute secret", toml('cover = "{home}/secret.png"\n'))
case(P, "symlink chapter out", setup=lambda c, b: os.symlink(c / "home/secret.md", b / "02.md"))
case(
    P,
    "symlinked images dir out",
    {"01.md": "# C\n\n![x](images/secret.png)\n"},
    setup=lambda c, b: os.symlink(c / "home", b / "images"),
)
case(P, "image ../../secret.png", {"01.md": "# C\n\n![x](../../secret.png)\n"})
case(P, "image absolute", {"01.md": "# C\n\n![x]({home}/secret.png)\n"})
case(P, "image file://", {"01.md": "# C\n\n![x](file://{home}/secret.png)\n"})
case(P, "image %2e%2e", {"01.md": "# C\n\n![x](%2e%2e/%2e%2e/secret.png)\n"})
case(P, "raw img ../../", {"01.md": '# C\n\n<img src="../../secret.png" alt="x">\n'})
case(
    P,
    "raw srcset/poster/object",
    {
        "01.md": '# C\n\n<img src="a.png" srcset="../../secret.png 2x" alt="x"><video poster="../../secret.png" src="../../secret.md"></video><object data="../../secret.md">f</object><audio src="../../secret.md"></audio>\n',
        "a.png": png(),
    },
)
case(
    P,
    "svg image href out",
    {
        "01.md": "# C\n\n![x](a.svg)\n",
        "a.svg": '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><image xlink:href="../../secret.png" width="5" height="5"/><image href="file:///etc/passwd"/></svg>',
    },
)
case(
    P,
    "inline svg image out",
    {"01.md": '# C\n\n<svg width="10" height="10"><image href="../../secret.png" width="5" height="5"/></svg>\n'},
)
case(P, "style attr url out", {"01.md": '# C\n\n<p style="background:url(../../secret.png)">x</p>\n'})
case(
    P,
    "css url out",
    {
        **toml('stylesheet = "s.css"\n'),
        "s.css": "@font-face{font-family:x;src:url(../../secret.png)} p{background:url('/etc/passwd')}",
    },
)
case(
    P,
    "css url symlink out",
    {**toml('stylesheet = "s.css"\n'), "s.css": "@font-face{font-family:x;src:url(f.ttf)}"},
    setup=lambda c, b: os.symlink(c / "home/secret.md", b / "f.ttf"),
)
case(P, "mdbook src ../..", {"book.toml": '[book]\ntitle = "A"\nsrc = "../.."\n'}, base=False)
case(P, "mdbook src absolute", {"book.toml": '[book]\ntitle = "A"\nsrc = "{home}"\n'}, base=False)
case(P, "SUMMARY ../../secret.md", {"SUMMARY.md": "# S\n\n- [One](01.md)\n- [S](../../secret.md)\n"})
case(P, "SUMMARY absolute", {"SUMMARY.md": "# S\n\n- [One](01.md)\n- [S]({home}/secret.md)\n"})
case(P, "SUMMARY symlink out", setup=lambda c, b: os.symlink(c / "home/SUMMARY.md", b / "SUMMARY.md"))
case(
    P,
    "book.toml symlink out",
    base=False,
    files={"01.md": "# C\n\ntext\n"},
    setup=lambda c, b: os.symlink(c / "home/evil.toml", b / "book.toml"),
)
case(P, "hidden dir chapter", {**toml('chapters = ["01.md", ".env/x.md"]\n'), ".env/x.md": "# H\n\nSECRET-7f3a9c\n"})
case(P, ".git dir image", {"01.md": "# C\n\n![x](.git/x.png)\n", ".git/x.png": secret_png()})
case(
    P,
    "project root .git reach above",
    toml('stylesheet = "../../secret.css"\n'),
    setup=lambda c, b: (b.parent / ".git").mkdir(),
)
case(
    P,
    "pyproject in HOME (home never project)",
    toml('stylesheet = "../../secret.css"\n'),
    setup=lambda c, b: (c / "home/pyproject.toml").write_text(""),
)
case(
    P,
    "allow-outside file ok",
    toml('stylesheet = "{home}/ok.css"\n'),
    ["--allow-outside", "{home}/ok.css"],
    expect="ok",
)
case(
    P,
    "allow-outside file then ../ from css",
    toml('stylesheet = "{home}/ok2.css"\n'),
    ["--allow-outside", "{home}/ok2.css"],
)
case(
    P,
    "allow-outside prefix sibling",
    toml('stylesheet = "{home}/okdir-evil/x.css"\n'),
    ["--allow-outside", "{home}/okdir"],
)
case(P, "assets = .git", {**toml('assets = ".git"\n'), "01.md": "# C\n\n![x](x.png)\n", ".git/x.png": secret_png()})
case(
    P,
    "css font in hidden dir",
    {
        **toml('stylesheet = "s.css"\n'),
        "s.css": "@font-face{font-family:x;src:url(.fonts/k.woff)}",
        ".fonts/k.woff": b"wOFF" + SECRET,
    },
)
case(
    P,
    "symlink into .git",
    {"01.md": "# C\n\n![x](pics/x.png)\n", ".git/x.png": secret_png()},
    setup=lambda c, b: os.symlink(b / ".git", b / "pics"),
)
case(P, "chapter FIFO", setup=lambda c, b: os.mkfifo(b / "02.md"))
case(P, "stylesheet FIFO", toml('stylesheet = "s.css"\n'), setup=lambda c, b: os.mkfifo(b / "s.css"))
case(P, "image FIFO", {"01.md": "# C\n\n![x](p.png)\n"}, setup=lambda c, b: os.mkfifo(b / "p.png"))
case(P, "cover /dev/zero", toml('cover = "/dev/zero"\n'))
case(P, "--cover /dev/zero", args=["--cover", "/dev/zero"])
case(P, "--cover dir", args=["--cover", "{home}"])
case(P, "chapter symlink loop", setup=lambda c, b: os.symlink(b / "02.md", b / "02.md"))
case(P, "chapters = directory", toml('chapters = ["01.md", "sub"]\n'), setup=lambda c, b: (b / "sub").mkdir())
case(P, "chapters dup", toml('chapters = ["01.md", "01.md", "./01.md"]\n'))
case(P, "chapters not list", toml('chapters = "01.md"\n'))
case(P, "book is a file /etc/passwd", cmd="build-raw", args=["/etc/passwd", "-o", "{out}/x.epub"])
case(P, "book is /dev/zero", cmd="build-raw", args=["/dev/zero", "-o", "{out}/x.epub"])
case(P, "include directive", {"01.md": "# C\n\n{{#include ../../secret.md}}\n"})

# ---------------------------------------------------------------- -o targets
O = "output"
case(O, "-o 01.md", args=["-o", "{book}/01.md"], expect="error")
case(O, "-o book.toml", args=["-o", "{book}/book.toml"], expect="error")
case(
    O,
    "-o symlink to secret",
    args=["-o", "{out}/link.epub"],
    expect="error",
    setup=lambda c, b: ((c / "out").mkdir(), os.symlink(c / "home/secret.txt", c / "out/link.epub")),
)
case(O, "-o /dev/null", args=["-o", "/dev/null"], expect="error")
case(
    O,
    "-o device node copy",
    args=["-o", "{out}/null"],
    expect="error",
    setup=lambda c, b: ((c / "out").mkdir(), os.mknod(c / "out/null", 0o666 | 0o020000, os.makedev(1, 3))),
)
case(O, "-o existing dir", args=["-o", "{home}"], expect="error")
case(O, "-o trailing slash", args=["-o", "{out}/newdir/"])
case(O, "-o non-zip file", args=["-o", "{home}/secret.txt"], expect="error")
case(
    O,
    "-o empty file",
    args=["-o", "{out}/e.epub"],
    expect="ok",
    setup=lambda c, b: ((c / "out").mkdir(), (c / "out/e.epub").write_bytes(b"")),
)
case(O, "all -o x.kepub.epub", args=["--format", "all", "-o", "{out}/x.kepub.epub"])
case(O, "all -o x.zip", args=["--format", "all", "-o", "{out}/x.zip"])
case(
    O,
    "all kepub sibling is symlink",
    args=["--format", "all", "-o", "{out}/x.epub"],
    expect="error",
    setup=lambda c, b: ((c / "out").mkdir(), os.symlink(c / "home/secret.txt", c / "out/x.kepub.epub")),
)
case(
    O,
    "all kepub sibling is source",
    args=["--format", "all", "-o", "{book}/x.epub"],
    expect="error",
    files={"x.kepub.epub": "not a zip"},
)
case(O, "deep dirs on failure", {"book.toml": "title = [\n"}, ["-o", "{out}/a/b/c/x.epub"], expect="error")
case(O, "parent is a file", args=["-o", "{home}/secret.txt/x.epub"], expect="error")
case(
    O,
    "-o FIFO",
    args=["-o", "{out}/f.epub"],
    expect="error",
    setup=lambda c, b: ((c / "out").mkdir(), os.mkfifo(c / "out/f.epub")),
)
case(O, "-o image source", {"01.md": "# C\n\n![x](p.png)\n", "p.png": png()}, ["-o", "{book}/p.png"], expect="error")
case(
    O,
    "-o zip that is a source image",
    {"01.md": "# C\n\n![x](p.epub)\n"},
    ["-o", "{book}/p.epub"],
    setup=lambda c, b: shutil.copyfile(Path(sys.argv[0]).resolve().parent / "../content/book.toml", b / "p.epub"),
)
case(O, "-o empty string", args=["-o", ""])
case(O, "-o newline name", args=["-o", "{out}/a\nb.epub"])
case(O, "-o kepub name with --format kepub", args=["--format", "kepub", "-o", "{out}/x.epub"])
case(O, "-o zip source chapter-like", args=["-o", "{book}/old.epub"], files={"old.epub": b"PK\x03\x04junk"})
case(
    O,
    "-o hardlink to source",
    args=["-o", "{out}/h.epub"],
    expect="error",
    setup=lambda c, b: ((c / "out").mkdir(), os.link(b / "01.md", c / "out/h.epub")),
)
case(
    O,
    "-o user's .docx",
    args=["-o", "{home}/thesis.docx"],
    expect="error",
    setup=lambda c, b: zipfile.ZipFile(c / "home/thesis.docx", "w").writestr("word/document.xml", "<d/>"),
)
case(
    O,
    "-o user's backup zip",
    args=["-o", "{home}/backup.zip"],
    expect="error",
    setup=lambda c, b: zipfile.ZipFile(c / "home/backup.zip", "w").writestr("notes.txt", "years of notes"),
)
case(
    O,
    "-o stale .part sweep",
    args=["-o", "{out}/s.epub"],
    expect="ok",
    setup=lambda c, b: ((c / "out").mkdir(), (c / "out/.s.epub.12345.part").write_bytes(b"x")),
)

# ---------------------------------------------------------------- raw HTML / content model
H = "html"
for name, html in {
    "bdo no dir": "<bdo>x</bdo>",
    "time datetime soon": '<time datetime="soon">soon</time>',
    "nested dfn": "<dfn>a <dfn>b</dfn></dfn>",
    "dl without dd": "<dl><dt>t</dt></dl>",
    "two summary": "<details><summary>a</summary><summary>b</summary>x</details>",
    "colgroup span + col": '<table><colgroup span="2"><col></colgroup><tr><td>1</td></tr></table>',
    "a type=x": '<a href="http://e.com/" type="x">l</a>',
    "two figcaption": "<figure><figcaption>a</figcaption><p>x</p><figcaption>b</figcaption></figure>",
    "ruby without rt": "<ruby>漢</ruby>",
    "nested a": '<a href="http://a.com/">x <a href="http://b.com/">y</a></a>',
    "button in a": '<a href="http://a.com/"><button>b</button></a>',
    "form and inputs": '<form action="http://x"><input type="text" name="q"><select><option>o</option></select><textarea>t</textarea><button>go</button></form>',
    "label for missing": '<label for="nope">l</label>',
    "map area": '<map name="m"><area shape="rect" coords="0,0,1,1" href="http://x/" alt="a"></map>',
    "meter bad value": '<meter value="x">m</meter><progress max="-1" value="2">p</progress>',
    "ol start abc li value": '<ol start="abc" reversed="no"><li value="x">a</li></ol>',
    "td colspan 0 rowspan huge": '<table><tr><td colspan="0" rowspan="99999">a</td></tr></table>',
    "img width percent": '<img src="p.png" width="50%" height="-3" alt="x">',
    "img empty src": '<img src="" alt="x"><img alt="y"><img src="p.png">',
    "video audio track": '<video controls src="v.mp4"><track src="t.vtt"></video><audio src="a.mp3"></audio><canvas>c</canvas>',
    "details no summary": "<details>x</details>",
    "main twice hgroup": "<main>a</main><main>b</main><hgroup><p>x</p></hgroup>",
    "header in footer": "<footer><header>h</header></footer><address><address>a</address></address>",
    "blockquote cite bad": '<blockquote cite="::bad::">q</blockquote><q cite="http://[x">q</q>',
    "ins del datetime": '<ins datetime="yesterday">i</ins><del datetime="2026-02-30">d</del>',
    "data output": '<data>d</data><output for="zz">o</output>',
    "wbr br with content": "a<wbr>b</wbr><br>c</br>",
    "p dir sideways hidden tabindex": '<p dir="sideways" hidden="maybe" tabindex="abc" draggable="x" spellcheck="q">p</p>',
    "role bogus aria missing": '<div role="bogus" aria-labelledby="nope" aria-hidden="maybe">d</div>',
    "epub:type attr": '<span epub:type="noteref footnote">s</span><aside epub:type="x">a</aside>',
    "html body head inside": "<html><head><title>t</title><base href='http://x/'><meta http-equiv='refresh' content='0'></head><body>b</body></html>",
    "template noscript": "<template><p>t</p></template><noscript>n</noscript>",
    "picture source": '<picture><source srcset="p.png"><img src="p.png" alt="x"></picture>',
    "link style import": '<link rel="stylesheet" href="http://x/s.css"><style>@import url(http://x);</style>p',
    "svg foreignObject": '<svg width="10" height="10"><foreignObject><p>f</p></foreignObject><a href="javascript:x"><text>t</text></a></svg>',
    "math annotation-xml": '<math><semantics><mi>x</mi><annotation-xml encoding="text/html"><p>h</p></annotation-xml></semantics></math>',
    "table in p via md": "Para <table><tr><td>a</td></tr></table> tail",
    "li outside list": "<li>orphan</li><dd>dd</dd><dt>dt</dt><tr><td>tr</td></tr><caption>c</caption>",
    "xml:lang xmlns attrs": '<p xml:lang="en" xmlns="http://evil/" xmlns:foo="urn:x" foo:bar="1">x</p>',
    "attr names weird": '<p data-x="1" data-="2" data-X:y="3" ="4" a"b="5">x</p>',
    "cdata and pi": "<![CDATA[ raw ]]> <?php echo 1; ?> text",
    "entity bombs": "&#0; &#xD800; &#x110000; &#xFFFE; &#1; text",
    "headings in summary": "<details><summary><h2>h</h2></summary>x</details>",
    "abbr title newline": '<abbr title="a\nb">x</abbr>',
    "caption twice": "<table><caption>a</caption><caption>b</caption><tr><td>x</td></tr></table>",
    "select in p": "<p><select><optgroup label='g'><option>o</option></optgroup></select></p>",
    "object param": '<object data="p.png" type="image/png"><param name="x" value="y">fb</object>',
    "iframe srcdoc": '<iframe srcdoc="<p>x</p>"></iframe>after',
    "id on nav/section": '<nav id="toc">x</nav><section epub:type="toc">y</section>',
}.items():
    case(H, name, {"01.md": "# Chapter\n\n" + html + "\n\nend\n", "p.png": png()}, expect="ok")

# ---------------------------------------------------------------- ids and URLs
I = "ids"
for name, md in {
    "{#a#b}": "## H {#a#b}\n\nx",
    'id="50%"': '<p id="50%">x</p>',
    "port 99999": "[l](http://h:99999/)",
    "/%zz": "[l](/%zz)",
    "empty id": '<p id="">x</p><p id=" ">y</p>',
    "id with spaces": '<p id="a b">x</p>',
    "duplicate attr_list ids": "## A {#x}\n\n## B {#x}\n\n<p id='x'>p</p>",
    "id starting digit": "## H {#1abc}\n\n[l](#1abc)",
    "id colliding footnote": "## H {#fn:1}\n\nt[^1]\n\n[^1]: n",
    "href #missing": "[l](#missing) [m](01.md#missing) [n](nope.md)",
    "ipv6 unterminated": "[l](http://[::1/) [m](http://[::1]:80/)",
    "space in url": "[l](<https://exa mple.com/a b>)",
    "backslash unc": "[l](\\\\\\\\server\\\\share)",
    "newline in href": '<a href="http://a\n.com/">x</a>',
    "empty link": "[a](<>) [b]() [c](#)",
    "bare percent": "[a](%) [b](%%) [c](a%2)",
    "mailto tel odd": "[a](mailto:a b@c) [b](tel:+1 2) [c](mailto:)",
    "unknown schemes": "[a](vbscript:x) [b](epubcfi(/6/4)) [c](about:blank) [d](ftp://x/) [e](//evil.com/x)",
    "idn and unicode url": "[a](http://ex\u00e4mple.com/\u00fc?\u00e9=1#\u00e7)",
    "url with quotes": '[a](http://x.com/"onmouseover="alert(1))',
    "link to image file": "[a](p.png) [b](book.toml)",
    "mdbook html link": "[a](01.html#nope) [b](02.html)",
    "data url image": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "link to nav ids": "[a](#toc) [b](nav.xhtml) [c](#landmarks)",
    "huge port and userinfo": "[a](http://user:pass@host:0/) [b](http://host:-1/) [c](http://:80/)",
}.items():
    case(I, name, {"01.md": "# Chapter\n\n" + md + "\n", "p.png": png()}, expect="ok")

# ---------------------------------------------------------------- language tags
L = "lang"
for tag in [
    "en-a",
    "i-foo",
    "en-US-US",
    "",
    "x",
    "zz-ZZ-ZZ-ZZ",
    "en_US",
    "EN",
    "x-private",
    "i-klingon",
    "sgn-BE-FR",
    "en-Latn-US-valencia-u-ca-gregory",
    "en--US",
    "en-",
    "a" * 100,
]:
    case(L, f"book.toml language {tag[:12]!r}", toml(f'language = "{tag}"\n'))
case(L, "language int", toml("language = 42\n"))
case(L, "language list", toml('language = ["en", "fr"]\n'))
case(L, "front matter en-a", {"01.md": "---\nlanguage: en-a\n---\n# C\n\nx\n"})
case(L, "front matter i-foo", {"01.md": "---\nlanguage: i-foo\n---\n# C\n\nx\n"})
case(L, "front matter int", {"01.md": "---\nlanguage: 5\n---\n# C\n\nx\n"})
case(L, "--language en-US-US", args=["--language", "en-US-US"])
case(L, "--language empty", args=["--language", ""])
case(
    L,
    "raw lang attr en-a",
    {"01.md": '# C\n\n<p lang="en-a">x</p><p lang="">y</p><p xml:lang="!!">z</p>\n'},
    expect="ok",
)

# ---------------------------------------------------------------- CSS
C = "css"
for name, css in {
    "direction": "p { direction: rtl; color: red }",
    "unicode-bidi": "p { unicode-bidi: bidi-override }",
    "escaped direction": "p { \\64irection: rtl; dir\\ection: rtl }",
    "uppercase DIRECTION": "p { DIRECTION: RTL }",
    "charset latin1": b'@charset "iso-8859-1";\np::before { content: "\xe9" }',
    "charset bogus": '@charset "x-bogus-enc"; p{color:red}',
    "syntax errors": "p { color: ; } ]]] { } p { color: red",
    "empty font-face": "@font-face {}",
    "import": "@import url(http://evil/x.css); @import 'local.css';",
    "javascript url": "p { background: url(javascript:alert(1)) }",
    "expression": "p { width: expression(alert(1)); behavior: url(x.htc) }",
    "nested rule": "p { a { color: red } }",
    "unclosed comment": "p { color: red } /* never",
    "nul byte": "p { color: red }\x00 q { }",
    "invalid utf8 no charset": b"p::before { content: '\xff\xfe' }",
    "bom": "\ufeffp { color: red }",
    "font-face src non-font": "@font-face { font-family: x; src: url(notes.txt) }",
    "font-face junk ttf": "@font-face { font-family: x; src: url(junk.ttf) }",
    "huge selector": "p" + " > p" * 5000 + " { color: red }",
    "namespace page media": "@namespace svg url(http://www.w3.org/2000/svg); @page { margin: 1em } @media print { p { color: red } } @supports (x:y) { p {} }",
    "ie hacks": "p { *zoom: 1; _height: 1px; color: red\\9; filter: progid:DXImageTransform.Microsoft.gradient() }",
    "position fixed": "p { position: fixed; -webkit-hyphens: auto; hyphens: auto }",
    "unknown at rule": "@keyframes k { from { color: red } } @-moz-document url-prefix() { p {} } @layer a;",
    "url data svg script": "p { background: url('data:image/svg+xml,<svg onload=alert(1)>') }",
    "many braces": "{" * 10000,
    "deep nested blocks": "@media screen {" * 500 + "p{}" + "}" * 500,
    "font-face local": "@font-face { font-family: x; src: local(Arial) }",
    "data url png ok": "p { background: url(data:image/png;base64,"
    + __import__("base64").b64encode(png()).decode()
    + ") }",
    "data url font junk": "@font-face { font-family: q; src: url(data:font/woff2;base64,AAAA) }",
    "data url no comma": "p { background: url(data:image/png) }",
    "url with quotes escapes": 'p { background: url("p\\2e png") }',
}.items():
    files = {
        **toml('stylesheet = "s.css"\n'),
        "notes.txt": "hello",
        "junk.ttf": b"\x00\x01\x00\x00junkjunk",
        "p.png": png(),
    }
    files["s.css"] = css
    case(C, name, files)

# ---------------------------------------------------------------- images and covers
G = "images"
big_png_header = None


def bomb_png() -> bytes:
    # 30000 x 30000 grey: tiny file, 900 Mpx
    import zlib

    w = h = 30000
    raw = zlib.compress(b"\x00" * (w + 1) * 50, 9)
    import struct

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


img_cases = {
    "png sig + junk": b"\x89PNG\r\n\x1a\n" + b"junk" * 50,
    "gif sig + junk": b"GIF89a" + b"junk" * 50,
    "jpeg cut short": jpeg(200, 200)[:300],
    "png truncated IDAT": png(300, 300, extra=b"")[:200],
    "empty file": b"",
    "png named jpg": ("p.jpg", png()),
    "uppercase ext": ("p.PNG", png()),
    "bmp": ("p.bmp", (lambda: (lambda o: (Image.new("RGB", (5, 5)).save(o, "BMP"), o.getvalue())[1])(io.BytesIO()))()),
    "tiff": (
        "p.tiff",
        (lambda: (lambda o: (Image.new("RGB", (5, 5)).save(o, "TIFF"), o.getvalue())[1])(io.BytesIO()))(),
    ),
    "webp": (
        "p.webp",
        (lambda: (lambda o: (Image.new("RGB", (5, 5)).save(o, "WEBP"), o.getvalue())[1])(io.BytesIO()))(),
    ),
    "animated gif 500 frames": ("p.gif", gif(500, 50, 50)),
    "pixel bomb png": bomb_png(),
    "svg script": (
        "p.svg",
        '<svg xmlns="http://www.w3.org/2000/svg" width="5" height="5" onload="alert(1)"><script>alert(1)</script><rect width="5" height="5"/></svg>',
    ),
    "svg xxe": (
        "p.svg",
        '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" width="5" height="5"><text>&x;</text></svg>',
    ),
    "svg billion laughs": (
        "p.svg",
        '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&g;</text></svg>',
    ),
    "svg not xml": ("p.svg", "<svg><rect></svg"),
    "cmyk jpeg": (
        "p.jpg",
        (lambda: (lambda o: (Image.new("CMYK", (9, 9)).save(o, "JPEG"), o.getvalue())[1])(io.BytesIO()))(),
    ),
    "16-bit png": (lambda: (lambda o: (Image.new("I;16", (9, 9)).save(o, "PNG"), o.getvalue())[1])(io.BytesIO()))(),
    "image name with spaces unicode": ("my pic é #1.png", png()),
}
for name, data in img_cases.items():
    fname, content = data if isinstance(data, tuple) else ("p.png", data)
    from urllib.parse import quote

    case(G, name, {"01.md": f"# C\n\n![alt text]({quote(fname)})\n\nafter\n", fname: content}, expect="ok")
for name, data in {
    "cover png junk": ("c.png", b"\x89PNG\r\n\x1a\n" + b"x" * 100),
    "cover jpeg cut": ("c.jpg", jpeg(800, 1200)[:500]),
    "cover pixel bomb": ("c.png", bomb_png()),
    "cover svg": (
        "c.svg",
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="800"><rect width="600" height="800"/></svg>',
    ),
    "cover 1x1": ("c.png", png(1, 1)),
    "cover is markdown": ("c.md", "# hi"),
    "cover gif animated": ("c.gif", gif(20, 700, 1000)),
    "cover webp": (
        "c.webp",
        (lambda: (lambda o: (Image.new("RGB", (700, 1000)).save(o, "WEBP"), o.getvalue())[1])(io.BytesIO()))(),
    ),
    "cover missing": ("zz.png", None),
}.items():
    fname, content = data
    files = toml(f'cover = "{fname}"\n')
    if content is not None:
        files[fname] = content
    case(G, name, files)
case(G, "--cover missing", args=["--cover", "{home}/nope.png"], expect="error")
case(G, "--cover secret png outside (allowed)", args=["--cover", "{home}/secret.png"], expect="ok")

# ---------------------------------------------------------------- Kobo ids
K = "kobo"
for name, md in {
    "heading Book inner": "## Book inner\n\n## Book columns\n\nx",
    "id kobo.2.1": "## H {#kobo.2.1}\n\n<p id='kobo.1.1'>x</p>",
    "raw book-columns": "<div id='book-columns'><p id='book-inner'>x</p></div>",
    "underscore collision": "## Book inner\n\n<p id='_book-inner'>x</p>\n\n[l](#book-inner)",
    "raw koboSpan": "<span class='koboSpan' id='kobo.1.1'>x</span> more. Text.",
    "sentences in odd markup": "a. <b>b. c</b>. d<sup>1</sup>. e<br>f. <code>g. h</code>. ![x](p.png). i?! j…",
}.items():
    case(
        K,
        name,
        {"01.md": "# Chapter\n\n" + md + "\n", "p.png": png()},
        ["--format", "all", "-o", "{out}/k.epub"],
        expect="ok",
    )

# ---------------------------------------------------------------- metadata characters
M = "meta"
for name, line in {
    "title control chars": 'title = "A\\u0001B\\u001fC"',
    "title U+FFFE": 'title = "A\\uFFFEB\\uFFFF"',
    "author NUL": 'authors = ["A\\u0000B"]',
    "description vtab": 'description = "a\\u000bb\\u000c"',
    "title RLO": 'title = "abc\\u202Edef"',
    "title empty": 'title = ""',
    "title whitespace": 'title = "  \\t "',
    "title 10000 chars": 'title = "' + "word " * 2000 + '"',
    "authors empty list": "authors = []",
    "authors int": "authors = 5",
    "subjects nested": 'subjects = [["a"], {x=1}]',
    "identifier spaces ctrl": 'identifier = "urn:x \\u0007 y"',
    "identifier empty": 'identifier = ""',
    "publisher markup": 'publisher = "<script>alert(1)</script>]]>&amp;"',
    "title only controls": 'title = "\\u0001\\u0002"',
    "noncharacter astral": 'title = "A\\U0001FFFEB"',
    "rights CRLF": 'rights = "a\\r\\nb"',
    "accessibility_summary empty": 'accessibility_summary = ""',
    "toc_depth negative": "toc_depth = -5",
    "toc_depth huge": "toc_depth = 99999999999",
    "split_level 0": "split_level = 0",
    "split_level str": 'split_level = "2"',
    "unknown keys": 'fonts = ["/etc/passwd"]\nbibliography = "/etc/passwd"',
}.items():
    files = {
        "book.toml": 'title = "T"\n' + line + "\n" if not line.startswith("title") else line + "\n",
        "01.md": "# Chapter\n\ntext\n",
    }
    case(M, name, files, base=False)
case(M, "--title ctrl", args=["--title", "a\x01b"])
case(M, "--author empty", args=["--author", ""])
case(M, "heading only ctrl", {"01.md": "# \x01\x02\n\ntext\n", "book.toml": ""})
case(M, "no title folder 2024", base=False, files={"01.md": "text only\n"}, cmd="build-dir", args=[])
case(M, "all toc false", {"01.md": "---\ntoc: false\n---\n# A\n\nx\n", "02.md": "---\ntoc: false\n---\nx\n"})
case(M, "book.toml not utf8", base=False, files={"book.toml": b'title = "\xff"\n', "01.md": "# C\n\nx\n"})
case(M, "book.toml invalid", base=False, files={"book.toml": "title = \n", "01.md": "# C\n\nx\n"}, expect="error")
case(
    M,
    "book.toml deep",
    base=False,
    files={"book.toml": "a = " + "[" * 5000 + "]" * 5000 + "\n", "01.md": "# C\n\nx\n"},
    expect="error",
)

# ---------------------------------------------------------------- dates / SOURCE_DATE_EPOCH
D = "dates"
for d in ["2026-13-45", "2026-02-30", "2026-00", "1979-12-31", "2108-01-01", "garbage", "2026-1-1", "+2026", "0000"]:
    case(D, f"date {d}", toml(f'date = "{d}"\n'))
case(D, "date toml datetime", toml("date = 2026-01-01\n"))
case(D, "date toml int", toml("date = 2026\n"))
case(D, "date toml offset dt", toml("date = 2026-01-01T10:00:00+05:00\n"))
for m in ["1979-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "nope", "2026-01-22T25:00:00Z"]:
    case(D, f"modified {m}", toml(f'modified = "{m}"\n'))
for e in ["abc", "-1", "99999999999", "1e9", " 1700000000 ", "0", "", "1700000000.5", "٣"]:
    case(D, f"SOURCE_DATE_EPOCH {e!r}", env={"SOURCE_DATE_EPOCH": e})

# ---------------------------------------------------------------- odd file names
F = "names"
for name in [
    "a\nb.md",
    "with space.md",
    "-o.md",
    ".hidden.md",
    "02.MD",
    "a#b?c%d.md",
    "back\\slash.md",
    "x" * 240 + ".md",
    "nav.md",
    "toc.md",
    "cover.md",
    "style.md",
    "e\u0301.md",
    "\u00e9.md",
    "con.md",
    "02-\u202eevil.md",
    "a'\"<>&.md",
]:
    case(F, f"file {name[:20]!r}", {name: f"# Named {len(name)}\n\ntext\n"}, expect="ok")
case(
    F, "non-utf8 name", setup=lambda c, b: bytes(b) and open(os.fsencode(b) + b"/02-\xff.md", "wb").write(b"# X\n\nt\n")
)
case(F, "chapter in subfolder", {"sub/02.md": "# Sub\n\n![x](../p.png)\n", "p.png": png()})
case(F, "non-utf8 chapter", {"02.md": b"# Caf\xe9\n\n\xff\xfe text\n"})
case(F, "utf16 chapter bom", {"02.md": "# UTF16\n\ntext\n".encode("utf-16")})
case(F, "NUL in chapter", {"02.md": "# N\x00ul\n\nte\x00xt\n"})
case(F, "lone surrogate arg", args=["--title", "\udcff"])
case(F, "NUL in --cover arg", args=["--cover", "a\x00b"], cmd="build-nul")

# ---------------------------------------------------------------- YAML front matter
Y = "yaml"
bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
for name, fm in {
    "alias bomb": bomb,
    "deep nesting": "x: " + "[" * 500 + "]" * 500,
    "python object": "x: !!python/object/apply:os.system ['touch /tmp/pwned-attack']",
    "title list": "title: [a, b]",
    "toc string": "toc: 'no'",
    "type bogus": "type: '<script>'",
    "duplicate keys": "title: a\ntitle: b",
    "tabs": "title:\ta\n\tbad: 1",
    "binary": "title: !!binary aGVsbG8=",
    "date bad": "date: 2026-02-30",
    "huge": "x: '" + "a" * 70000 + "'",
    "scalar not mapping": "just a string",
    "merge key": "base: &b {t: 1}\nx:\n  <<: *b",
    "set tag": "x: !!set {a, b}",
    "title null": "title: ~",
    "title int": "title: 42\ntoc: 1",
}.items():
    case(Y, name, {"02.md": f"---\n{fm}\n---\n# Y\n\ntext\n"})
case(Y, "unclosed front matter", {"02.md": "---\ntitle: a\n# Y\n\ntext\n"})
case(Y, "front matter only", {"02.md": "---\ntitle: only\n---\n"})

# ---------------------------------------------------------------- sizes / pathological
S = "sizes"
path_cases = {
    "long word title cover": ("book.toml", 'title = "' + "W" * 5000 + '"\n'),
    "many short words title": ("book.toml", 'title = "' + "ab " * 3000 + '"\n'),
    "21MB file": ("02.md", "# Big\n\n" + ("x" * 99 + "\n") * 215000),
    "20000 footnotes": (
        "02.md",
        "# F\n\n"
        + "".join(f"t[^{i}] " for i in range(20000))
        + "\n\n"
        + "".join(f"[^{i}]: n{i}\n" for i in range(20000)),
    ),
    "deep blockquote": ("02.md", "# Q\n\n" + ">" * 5000 + " x\n"),
    "deep list": ("02.md", "# L\n\n" + "".join("  " * i + "- x\n" for i in range(600))),
    "deep html div": ("02.md", "# D\n\n" + "<div>" * 1000 + "x" + "</div>" * 1000 + "\n"),
    "emphasis storm": ("02.md", "# E\n\n" + "*a " * 50000 + "\n"),
    "bracket storm": ("02.md", "# B\n\n" + "[" * 50000 + "\n"),
    "backtick storm": ("02.md", "# B\n\n" + "`a" * 50000 + "\n"),
    "lt storm": ("02.md", "# L\n\n" + "<a " * 30000 + "\n"),
    "amp storm": ("02.md", "# A\n\n" + "&#" * 50000 + "\n"),
    "6000-row table": ("02.md", "# T\n\n| a | b |\n|---|---|\n" + "| cell text here | more |\n" * 6000),
    "10000 headings": ("02.md", "# H\n\n" + "".join(f"## H{i}\n\nx\n\n" for i in range(10000))),
    "1MB paragraph no spaces": ("02.md", "# P\n\n" + "a" * 1000000 + "\n"),
    "10000 ref links": (
        "02.md",
        "# R\n\n"
        + " ".join(f"[l{i}][r{i}]" for i in range(10000))
        + "\n\n"
        + "".join(f"[r{i}]: http://example.com/{i}\n" for i in range(10000)),
    ),
    "2000 abbreviations": (
        "02.md",
        "# A\n\n" + "word " * 20000 + "\n\n" + "".join(f"*[W{i}X]: abbr {i}\n" for i in range(2000)),
    ),
    "unterminated comment 1MB": ("02.md", "# C\n\n<!-- " + "x " * 500000 + "\n"),
    "smart quote storm": ("02.md", "# S\n\n" + "'\"" * 100000 + "\n"),
    "nested deflists": ("02.md", "# D\n\n" + "".join(f"t{i}\n:   " + "    " * 0 + f"d{i}\n\n" for i in range(5000))),
    "attr_list storm": ("02.md", "# A\n\n" + "{: ." * 20000 + "\n"),
    "long line of pipes": ("02.md", "# P\n\n" + "|" * 200000 + "\n"),
    "many images same": ("02.md", "# I\n\n" + "![x](p.png) " * 5000 + "\n"),
    "10000 chapters": (None, None),
    "heading storm #": ("02.md", "#" * 100000 + "\n"),
    "link nesting": ("02.md", "# N\n\n" + "[" * 2000 + "x" + "](y)" * 2000 + "\n"),
    "html attrs storm": ("02.md", "# H\n\n<p " + " ".join(f"a{i}='x'" for i in range(50000)) + ">x</p>\n"),
    "toc_depth 6 many": ("02.md", "# H\n\n" + "".join(f"###### h{i}\n\n" for i in range(5000))),
}
for name, (fname, content) in path_cases.items():
    if fname is None:
        case(S, name, {f"c{i:05d}.md": f"# C{i}\n\nx\n" for i in range(3000)})
        continue
    files = {fname: content, "p.png": png()}
    case(S, name, files)

# ---------------------------------------------------------------- footnotes
N = "footnotes"
for name, md in {
    "ref without def": "text[^missing]",
    "def without ref": "text\n\n[^lonely]: n",
    "label with spaces": "t[^a b]\n\n[^a b]: n",
    "label markup": "t[^<script>]\n\n[^<script>]: n",
    "nested footnote": "t[^a]\n\n[^a]: n[^b]\n\n[^b]: inner",
    "footnote in heading": "## H[^h]\n\n[^h]: note",
    "footnote in table": "| a |\n|---|\n| x[^t] |\n\n[^t]: n",
    "duplicate defs": "t[^d]\n\n[^d]: one\n[^d]: two",
    "1000 refs same": "".join("t[^s] " for _ in range(1000)) + "\n\n[^s]: n",
    "label fn colon": "t[^fn:1] u[^1]\n\n[^fn:1]: a\n[^1]: b",
    "footnote with image and block": "t[^x]\n\n[^x]: para\n\n    ```\n    code\n    ```\n\n    > quote ![i](p.png)",
    "footnote in link text": "[a[^l]](http://x.com/)\n\n[^l]: n",
    "unicode label": "t[^é✓]\n\n[^é✓]: n",
}.items():
    case(N, name, {"01.md": "# Chapter\n\n" + md + "\n", "p.png": png()}, expect="ok")


# ---------------------------------------------------------------- run
def snapshot(root: Path) -> dict:
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath, d)
            state[str(p)] = "dir"
        for f in filenames:
            p = Path(dirpath, f)
            try:
                if p.is_symlink():
                    state[str(p)] = "link:" + os.readlink(p)
                elif p.is_file():
                    state[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
                else:
                    state[str(p)] = "special"
            except OSError as e:
                state[str(p)] = f"err:{e.errno}"
    return state


def prepare(index: int, c: Case) -> tuple[Path, Path]:
    cdir = ROOT / f"{index:03d}"
    home = cdir / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh/id_rsa").write_bytes(b"-----BEGIN KEY----- " + SECRET + b"\n")
    (home / "secret.md").write_bytes(b"# Secret\n\n" + SECRET + b"\n")
    (home / "secret.txt").write_bytes(SECRET)
    (home / "secret.css").write_bytes(b"/* " + SECRET + b" */ p{}")
    (home / "secret.png").write_bytes(secret_png())
    (home / "SUMMARY.md").write_bytes(b"- [S](secret.md)\n")
    (home / "evil.toml").write_bytes(
        b'title = "E"\nstylesheet = "/etc/passwd"\nchapters = ["01.md", "../../secret.md"]\n'
    )
    (home / "ok.css").write_text("p { color: red }")
    (home / "ok2.css").write_text("@font-face{font-family:q;src:url(.ssh/id_rsa)} p{background:url(secret.png)}")
    (home / "okdir-evil").mkdir()
    (home / "okdir-evil/x.css").write_bytes(b"/* " + SECRET + b" */")
    (home / "okdir").mkdir()
    book = home / "Downloads/book"
    book.mkdir(parents=True)
    files = dict(BASE) if c.base else {}
    files.update(c.files)
    for name, content in files.items():
        name = name.replace("{home}", str(home))
        p = book / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.replace("{home}", str(home)).encode("utf-8", "surrogatepass")
        p.write_bytes(content)
    if c.setup:
        c.setup(cdir, book)
    return cdir, book


def fmt(s: str, cdir: Path, book: Path) -> str:
    return s.replace("{home}", str(cdir / "home")).replace("{book}", str(book)).replace("{out}", str(cdir / "out"))


@dataclass
class Outcome:
    case: Case
    rc: int | None
    out: str
    err: str
    seconds: float
    epubs: list
    problems: list


def run_case(index: int, c: Case) -> Outcome:
    cdir, book = prepare(index, c)
    before = snapshot(cdir)
    args = [fmt(a, cdir, book) for a in c.args]
    if c.cmd == "build":
        cmd = ["build", str(book)] + (args if "-o" in c.args else args + ["-o", str(cdir / "out/book.epub")])
    elif c.cmd == "build-dir":
        two = cdir / "home/Downloads/2024"
        book.rename(two)
        book = two
        before = snapshot(cdir)
        cmd = ["build", str(two), "-o", str(cdir / "out/book.epub")]
    elif c.cmd in ("build-raw", "build-nul"):
        cmd = (
            ["build", str(book), "-o", str(cdir / "out/book.epub")] + args if c.cmd == "build-nul" else ["build"] + args
        )
    else:
        cmd = [c.cmd] + args
    env = {**os.environ, "HOME": str(cdir / "home"), **c.env}
    env.pop("SOURCE_DATE_EPOCH", None) if "SOURCE_DATE_EPOCH" not in c.env else None
    started = time.monotonic()
    problems = []
    try:
        cmd_bytes = [os.fsencode(sys.executable), b"-m", b"handbill"]
        for a in cmd:
            try:
                cmd_bytes.append(a.encode("utf-8", "surrogateescape"))
            except UnicodeEncodeError:
                cmd_bytes.append(a.encode("utf-8", "surrogatepass"))
        if any(b"\x00" in a for a in cmd_bytes):
            # argv cannot carry NUL: call through click in-process instead
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys;from handbill.cli import main;sys.argv=['handbill']+%r;main()" % cmd,
                ],
                capture_output=True,
                timeout=TIMEOUT,
                env=env,
                cwd=cdir,
            )
        else:
            proc = subprocess.run(cmd_bytes, capture_output=True, timeout=TIMEOUT, env=env, cwd=cdir)
        rc, out, err = proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        rc, out, err = None, (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace")
        problems.append(f"HANG >{TIMEOUT}s")
    seconds = time.monotonic() - started
    text = out + err
    if "Traceback" in text or "internal error" in text.lower():
        problems.append("traceback/internal error")
    error_lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning:")]
    if rc not in (0, None) and len(error_lines) > 1:
        problems.append(f"{len(error_lines)} error lines")
    if rc == 0 and c.expect == "error":
        problems.append("expected an error, got exit 0")
    if rc not in (0, None) and c.expect == "ok":
        problems.append(f"expected a book, got exit {rc}")
    after = snapshot(cdir)
    out_dir = str(cdir / "out")
    for path, state in before.items():
        if after.get(path) != state:
            problems.append(f"user file changed: {path} {state[:20]} -> {str(after.get(path))[:20]}")
    for path, state in after.items():
        if path not in before:
            name = os.path.basename(path)
            if ".part" in name:
                problems.append(f"leftover part {path}")
            if state == "dir" and rc != 0 and not os.listdir(path):
                problems.append(f"new empty folder {path}")
    epubs = []
    for path, state in after.items():
        if path not in before or after[path] != before.get(path):
            p = Path(path)
            if state not in ("dir", "special") and not state.startswith("link") and zipfile.is_zipfile(p):
                epubs.append(p)
                data = b""
                with zipfile.ZipFile(p) as z:
                    for info in z.infolist():
                        data += z.read(info)
                if SECRET in data or b"root:x:0:0" in data:
                    if "allowed" not in c.name and "allow-outside file ok" not in c.name:
                        problems.append(f"SECRET LEAKED into {p.name}")
    if c.after:
        extra = c.after(cdir, rc)
        if extra:
            problems.append(extra)
    return Outcome(c, rc, out, err, seconds, epubs, problems)


def main() -> None:
    wanted = sys.argv[1:]
    selected = [(i, c) for i, c in enumerate(CASES) if not wanted or any(w in c.cls or w in c.name for w in wanted)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda ic: run_case(*ic), selected))
    books = [(o, p) for o in outcomes if o.rc == 0 for p in o.epubs]
    if books:
        from handbill.check.epubcheck import validate_many

        flat = Path(tempfile.mkdtemp(prefix="attack-check-"))
        copies = []
        for n, (_, p) in enumerate(books):
            copies.append(flat / f"{n:04d}.epub")
            shutil.copyfile(p, copies[-1])
        results = validate_many(copies, timeout=3600)
        for (o, p), copy in zip(books, copies):
            r = results[copy]
            if not r.clean:
                o.problems.append(
                    f"EPUBCheck {r.fatal}/{r.errors}/{r.warnings}: " + " | ".join(m.text[:200] for m in r.messages[:3])
                )
    by_class: dict = {}
    for o in outcomes:
        stats = by_class.setdefault(o.case.cls, [0, 0])
        stats[0] += 1
        stats[1] += bool(o.problems)
    report = []
    for o in outcomes:
        first = (o.err.strip().splitlines() or [""])[-1][:200]
        status = "FAIL" if o.problems else "ok  "
        report.append(
            {
                "cls": o.case.cls,
                "name": o.case.name,
                "rc": o.rc,
                "seconds": round(o.seconds, 2),
                "problems": o.problems,
                "last": first,
            }
        )
        if o.problems:
            print(
                f"{status} [{o.case.cls}] {o.case.name!r} rc={o.rc} {o.seconds:.1f}s :: {'; '.join(o.problems)}\n      {first}"
            )
    print()
    for cls, (n, bad) in by_class.items():
        print(f"{cls:10} {n:4} cases {bad:3} failed")
    print(f"total {len(outcomes)} cases, {sum(1 for o in outcomes if o.problems)} failed; work dir {ROOT}")
    Path(os.environ.get("ATTACK_JSON", "/tmp/attack-results.json")).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

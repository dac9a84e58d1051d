"""Remake the statement's HTML fixtures with pandoc, not handbill (run by hand, not by the tests).

    pip install pypandoc-binary   # pandoc 3.9
    python tests/data/import_html/make_fixtures.py

statement-pandoc.html: pandoc's own standalone page of the seed statement.
footnotes-pandoc.html: a short text with footnotes (one referred to twice, one of two paragraphs).
statement-news.html: the same body written by pandoc, wrapped by hand in what a news site puts
around an article (like a WSWS page): a skip link, a cookie banner, a site header and menu,
breadcrumbs, share buttons, a newsletter form, related articles, comments, a footer, scripts,
Open Graph and JSON-LD. None of that may reach the book."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pypandoc

HERE = Path(__file__).resolve().parent
SEED = HERE.parents[3] / "shared" / "seeds" / "000_86acad7a959e0f43.txt"
TITLE = "For a general strike against ICE violence and Trump's dictatorship!"
AUTHOR = "Socialist Equality Party (US)"


def pandoc(*args: str) -> str:
    return subprocess.run(
        [pypandoc.get_pandoc_path(), *args, str(SEED)], check=True, capture_output=True, text=True
    ).stdout


NOTES = """# Notes on the strike

The strike of 1934 began in May.[^may] Its leaders were Trotskyists.[^leaders]

## The second part

The Citizens Alliance opposed it.[^alliance] The strike was won in August.[^may]

[^may]: The first strike began on 16 May 1934; the second, in July, ended on *21 August*.
[^leaders]: The Dunne brothers and Carl Skoglund, of the Communist League of America.

    A second paragraph of the same note, with [a link](https://en.wikipedia.org/wiki/Minneapolis_general_strike_of_1934).
[^alliance]: An employers' association.
"""


def main() -> None:
    (HERE / "footnotes-pandoc.html").write_text(
        subprocess.run(
            [
                pypandoc.get_pandoc_path(),
                "-f",
                "markdown",
                "-t",
                "html5",
                "-s",
                "--metadata",
                "pagetitle=Notes on the strike",
            ],
            input=NOTES,
            check=True,
            capture_output=True,
            text=True,
        ).stdout,
        encoding="utf-8",
    )
    (HERE / "statement-pandoc.html").write_text(
        pandoc(
            "-f",
            "markdown",
            "-t",
            "html5",
            "-s",
            "--metadata",
            f"pagetitle={TITLE}",
            "-M",
            f"author={AUTHOR}",
            "-M",
            "date=2026-01-22",
            "-M",
            "lang=en",
        ),
        encoding="utf-8",
    )
    body = pandoc("-f", "markdown", "-t", "html5")
    # The title and the byline go into the article's header, as a news site lays them out.
    heading, rest = re.split(r"(?s)(?<=</h1>)", body, maxsplit=1)
    byline, rest = re.split(r"(?s)(?<=</p>)", rest, maxsplit=1)
    byline = byline.replace("22 January 2026", '<time datetime="2026-01-22T09:00:00-05:00">22 January 2026</time>')
    (HERE / "statement-news.html").write_text(
        NEWS.format(heading=heading.strip(), byline=byline.strip(), body=rest.strip()), encoding="utf-8"
    )


NEWS = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>For a general strike against ICE violence and Trump's dictatorship! - World Socialist Web Site</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Statement of the Socialist Equality Party (US) for demonstrations on January 23, 2026.">
<meta property="og:title" content="For a general strike against ICE violence and Trump's dictatorship!">
<meta property="og:site_name" content="World Socialist Web Site">
<meta property="og:type" content="article">
<meta property="og:url" content="https://www.wsws.org/en/articles/2026/01/22/pers-j22.html">
<meta property="article:published_time" content="2026-01-22T09:00:00-05:00">
<link rel="canonical" href="https://www.wsws.org/en/articles/2026/01/22/pers-j22.html">
<link rel="stylesheet" href="/css/site.css">
<script type="application/ld+json">
{{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "For a general strike against ICE violence and Trump's dictatorship!",
 "author": [{{"@type": "Organization", "name": "Socialist Equality Party (US)"}}],
 "datePublished": "2026-01-22T09:00:00-05:00", "dateModified": "2026-01-23T11:12:00-05:00",
 "inLanguage": "en",
 "publisher": {{"@type": "Organization", "name": "World Socialist Web Site",
   "logo": {{"@type": "ImageObject", "url": "https://www.wsws.org/img/logo.png"}}}}}}
</script>
<script>window.dataLayer = window.dataLayer || []; function track(e) {{ dataLayer.push(e); }}</script>
<style>.cookie-banner {{ position: fixed; bottom: 0; }}</style>
</head>
<body class="article-page">
<a class="skip-link" href="#main">Skip to main content</a>
<div id="cookie-consent" class="cookie-banner" role="dialog">
  <p>We use cookies to improve your experience on our website. By continuing you accept our cookie policy.</p>
  <button>Accept all cookies</button> <button>Manage settings</button>
</div>
<header class="site-header">
  <a class="logo" href="/"><img src="/img/logo.png" alt="World Socialist Web Site"></a>
  <nav class="main-menu">
    <ul>
      <li><a href="/en/topics/site_area/news">News</a></li>
      <li><a href="/en/topics/site_area/perspectives">Perspectives</a></li>
      <li><a href="/en/topics/site_area/workers-struggles">Workers Struggles</a></li>
      <li><a href="/en/topics/site_area/history">History</a></li>
      <li><a href="/en/special/pages/donate">Donate</a></li>
    </ul>
  </nav>
  <form class="search" action="/search"><input name="q" placeholder="Search the WSWS"><button>Search</button></form>
</header>
<main id="main">
<div class="breadcrumbs"><a href="/">Home</a> / <a href="/en/topics/site_area/perspectives">Perspectives</a></div>
<article class="article">
<header class="article-header">
{heading}
{byline}
</header>
<div class="share-buttons">
  <a href="https://twitter.com/intent/tweet?url=x">Share on X</a>
  <a href="https://www.facebook.com/sharer.php?u=x">Share on Facebook</a>
  <a href="mailto:?subject=Statement">Email this article</a>
  <button onclick="print()">Print this article</button>
</div>
<div class="article-body">
{body}
</div>
<div class="newsletter-signup">
  <h3>Sign up for the WSWS newsletter</h3>
  <p>Get the latest articles in your inbox every morning, free of charge.</p>
  <form><input type="email" placeholder="Your email address"><button>Subscribe</button></form>
</div>
</article>
<aside class="related-articles">
  <h2>Related articles</h2>
  <ul>
    <li><a href="/en/articles/2026/01/21/minn-j21.html">Minneapolis workers debate general strike as ICE terror escalates</a></li>
    <li><a href="/en/articles/2026/01/20/ice-j20.html">Federal agents tear-gas protesters outside Minneapolis convenience store</a></li>
    <li><a href="/en/articles/2026/01/19/pers-j19.html">The Insurrection Act and the conspiracy against democratic rights</a></li>
  </ul>
</aside>
<section id="comments" class="comments">
  <h2>Comments</h2>
  <p>Comments are closed for this article, but readers may write to the editors at any time.</p>
</section>
</main>
<footer class="site-footer">
  <p>Copyright 1998-2026 World Socialist Web Site. All rights reserved.</p>
  <p><a href="/en/special/pages/privacy">Privacy policy</a> | <a href="/en/special/pages/contact">Contact us</a></p>
</footer>
<script>track({{"event": "pageview"}});</script>
</body>
</html>
"""

if __name__ == "__main__":
    main()

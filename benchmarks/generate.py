"""Generate a large Markdown book for benchmarks: deterministic, varied, realistic in shape.

python benchmarks/generate.py OUT_DIR --megabytes 5 --chapters 450
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

WORDS = (
    "the working class strike committee city union workers wages rights democracy power "
    "movement history struggle organize factory school street police state law court "
    "government party country world capital labor social political economic public "
    "against for with from into over under between through during before after "
    "is are was were will must can should could would has have had been being "
    "new old great small large common general national international local "
    "minneapolis detroit chicago london berlin paris tokyo lagos lima delhi"
).split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 22))]
    if rng.random() < 0.15:
        index = rng.randrange(len(words))
        words[index] = f"*{words[index]}*"
    if rng.random() < 0.08:
        index = rng.randrange(len(words))
        words[index] = f"**{words[index]}**"
    if rng.random() < 0.05:
        index = rng.randrange(len(words))
        words[index] = f"[{words[index]}](https://example.org/{words[index]})"
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "?", "!"])


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 7)))


def chapter(number: int, rng: random.Random, size: int) -> str:
    parts = [f"# Chapter {number}: {' '.join(rng.choice(WORDS) for _ in range(3)).title()}", ""]
    notes = 0
    while sum(len(part) for part in parts) < size:
        kind = rng.random()
        if kind < 0.08:
            parts.append(f"## {' '.join(rng.choice(WORDS) for _ in range(4)).title()}")
        elif kind < 0.14:
            parts.append("\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(2, 6))))
        elif kind < 0.17:
            parts.append("> " + paragraph(rng))
        elif kind < 0.19:
            parts.append("```\n" + "\n".join(f"line {n} = {rng.choice(WORDS)}" for n in range(5)) + "\n```")
        elif kind < 0.21:
            rows = "\n".join(f"| {rng.choice(WORDS)} | {rng.randint(1, 999)} |" for _ in range(4))
            parts.append("| Name | Count |\n|---|---|\n" + rows)
        elif kind < 0.23:
            notes += 1
            parts.append(paragraph(rng) + f"[^{notes}]\n\n[^{notes}]: {sentence(rng)}")
        else:
            parts.append(paragraph(rng))
        parts.append("")
    return "\n".join(parts)


def generate(out: Path, megabytes: float, chapters: int, seed: int = 2026) -> Path:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    size = int(megabytes * 1024 * 1024 / chapters)
    for number in range(1, chapters + 1):
        (out / f"{number:04d}.md").write_text(chapter(number, rng, size), encoding="utf-8")
    (out / "book.toml").write_text(
        f'title = "Benchmark book, {megabytes:g} MB"\nauthors = ["handbill benchmarks"]\n'
        'language = "en"\ndate = "2026-01-01"\n',
        encoding="utf-8",
    )
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--chapters", type=int, default=450)
    arguments = parser.parse_args()
    generate(arguments.out, arguments.megabytes, arguments.chapters)

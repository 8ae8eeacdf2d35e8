"""Write the 210 articles of the People's Daily test corpus as Markdown files for ``qa index``.

    python eval/make_pd_corpus.py OUT_DIR [--shared ../shared]

Reads the article ids of ``eval/pd_test_corpus.json`` (10 test articles + 200 distractors) from
``<shared>/corpora/peoples_daily_2023_jul_oct.jsonl`` and writes ``OUT_DIR/<id>.md`` with front
matter (``title``, ``source: 人民日报 <date> 第<page>版``) and the paragraphs joined by blank lines.
The articles are for research use only: write them outside the repository, never commit them.
Exits with status 3 (and a message) when the shared corpus is absent, so callers can skip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE / "pd_test_corpus.json"
MISSING = 3


def front_matter_value(text: str) -> str:
    """One line, no surrounding ASCII quotes or spaces (the loader strips those)."""
    return " ".join(text.split()).strip("\"'")


def render(row: dict) -> str:
    """The Markdown file of one article: front matter, then paragraphs separated by blank lines."""
    date = str(row["date"])
    source = f"人民日报 {date[:4]}-{date[4:6]}-{date[6:8]} 第{int(row['page'])}版"
    lines = ["---"]
    title = front_matter_value(row.get("title") or "")
    if title:
        lines.append(f"title: {title}")
    lines += [f"source: {source}", "---", ""]
    body = "\n\n".join(p.strip() for p in row["paragraphs"] if p.strip())
    return "\n".join(lines) + body + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write <id>.md files into (created if needed)")
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared",
                        help="the shared folder holding corpora/ (default: ../shared next to the repository)")
    args = parser.parse_args(argv)

    spec = json.loads(SPEC.read_text("utf-8"))
    source = args.shared / "corpora" / spec["source"]
    if not source.is_file():
        print(f"make_pd_corpus: {source} not found; the People's Daily test corpus cannot be built here, skipping.",
              file=sys.stderr)
        return MISSING
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() != spec.get("source_sha256", ""):
        print(f"make_pd_corpus: warning: {source.name} differs from the version the test set was written on",
              file=sys.stderr)

    wanted = spec["articles"] + spec["distractors"]
    rows = {}
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["id"] in wanted:
                rows[row["id"]] = row
    missing = [i for i in wanted if i not in rows]
    if missing:
        print(f"make_pd_corpus: {len(missing)} article ids not in {source.name}: {missing[:5]}", file=sys.stderr)
        return 1

    args.out_dir.mkdir(parents=True, exist_ok=True)
    extra = sorted(p.name for p in args.out_dir.glob("*.md") if p.stem not in rows)
    if extra:
        print(f"make_pd_corpus: warning: {len(extra)} other .md files already in {args.out_dir} "
              f"(e.g. {extra[0]}); they would be indexed too", file=sys.stderr)
    for article_id in wanted:
        (args.out_dir / f"{article_id}.md").write_text(render(rows[article_id]), encoding="utf-8")
    print(f"wrote {len(wanted)} articles ({len(spec['articles'])} test + {len(spec['distractors'])} distractors) "
          f"to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write the 210 articles of a People's Daily corpus (test or dev) as Markdown files, for ``qa index`` or ``qa serve``.

    python eval/make_pd_corpus.py OUT_DIR [--spec eval/pd.corpus.json] [--shared ../shared]
    python eval/make_pd_corpus.py OUT_DIR --spec eval/pd_dev.corpus.json     # the dev set's corpus

``qa eval eval/pd_test.jsonl`` reads these articles itself (qa.evaluation.shared_corpus);
this script is for looking at them with the other front ends. It writes ``OUT_DIR/<id>.md``
with front matter (title, source) for every article named by the corpus spec: by default
``eval/pd.corpus.json`` (the test set, eval/PD_TEST.md); ``eval/pd_dev.corpus.json`` is the
dev set's (eval/PD_DEV.md).
The articles are for research use only: write them outside the repository, never commit them.
Exits with status 3 (and a message) when the shared corpus is absent, so callers can skip.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.evaluation.shared_corpus import SharedDataMissing, load_spec_corpus

HERE = Path(__file__).resolve().parent
SPEC = HERE / "pd.corpus.json"
MISSING = 3


def render(title: str, source: str, text: str) -> str:
    """An article as Markdown: front matter on one line each, then the text."""
    one_line = lambda value: " ".join(value.split()).strip("\"'")  # noqa: E731
    return f"---\ntitle: {one_line(title)}\nsource: {one_line(source)}\n---\n\n{text}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write <id>.md files into (created if needed)")
    parser.add_argument("--spec", type=Path, default=SPEC,
                        help="the corpus spec naming the articles (default: eval/pd.corpus.json, the test set's)")
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared",
                        help="the shared folder holding corpora/ (default: ../shared next to the repository)")
    args = parser.parse_args(argv)
    if not args.spec.is_file():
        parser.error(f"no corpus spec at {args.spec}")
    try:
        corpus = load_spec_corpus(args.spec, args.shared)
    except SharedDataMissing as error:
        print(f"make_pd_corpus: {error}; skipping.", file=sys.stderr)
        return MISSING
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for article in corpus.articles:
        (args.out_dir / f"{article.id}.md").write_text(render(article.title, article.source, article.text), "utf-8")
    print(f"wrote {len(corpus.articles)} articles to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

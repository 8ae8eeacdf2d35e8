"""Benchmark corpora of a given size in chunks, from real Chinese text, generated once and cached.

A corpus of about n chunks is a folder of ``.txt`` articles with a ``metadata.json``
of titles and sources: the seed articles of the repository's ``corpus/`` first
(the questions of ``eval/seeds.jsonl`` and of the load test are about them), then
People's Daily articles as they are, in the file's order, then, beyond the
roughly 35,000 chunks those hold, new articles made of the same real sentences
recombined at random (deterministic for a seed). Each article is chunked as the
index will chunk it (``qa.chunking``, repeated paragraphs counted once), so the
count is exact to within the last article added.

The People's Daily text is for research use only: it is read from the shared
folder at run time and written under a cache folder that is never committed.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.chunking import MAX_CHARS, MIN_CHARS, chunk_article
from qa.corpus import METADATA_FILE, Article, load_corpus
from qa.text import sentence_spans

PD_FILE = Path("corpora") / "peoples_daily_2023_jul_oct.jsonl"
SEED_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
MARKER = "bench-corpus.json"  # written last; not an article (neither .txt nor .md)
VERSION = 1
GENERATED_SOURCE = "合成文章（人民日报2023年7—10月的句子随机重组，仅供基准测试）"


class SharedCorpusMissing(FileNotFoundError):
    """The People's Daily corpus the benchmark reads is not on this machine."""


@dataclass
class CorpusInfo:
    """What a benchmark corpus holds: its size in chunks and where its articles came from."""

    folder: str
    target_chunks: int
    seed: int
    chunks: int
    articles: int
    seed_articles: int
    pd_articles: int
    generated_articles: int
    characters: int
    version: int = VERSION


def pd_rows(shared_dir: str | Path):
    """The People's Daily articles, one dict per line ({id, date, page, title, paragraphs})."""
    path = Path(shared_dir) / PD_FILE
    if not path.is_file():
        raise SharedCorpusMissing(f"the benchmark reads {path}, which is not here; set QA_SHARED_DIR to the shared folder")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


class _ChunkCounter:
    """Counts the chunks the index will hold, repeated paragraphs once (as qa.duplicates does)."""

    def __init__(self, max_chars: int, min_chars: int):
        self.max_chars, self.min_chars = max_chars, min_chars
        self.seen_paragraphs: set[str] = set()
        self.seen_articles: set[str] = set()
        self.chunks = 0

    def add(self, article: Article) -> int:
        """Count an article's new chunks; 0 for an article whose text was seen before."""
        if article.sha256 in self.seen_articles:
            return 0
        self.seen_articles.add(article.sha256)
        new = 0
        for chunk in chunk_article(article, self.max_chars, self.min_chars):
            key = " ".join(chunk.text.split())
            if key not in self.seen_paragraphs:
                self.seen_paragraphs.add(key)
                new += 1
        self.chunks += new
        return new


def _sentences(paragraphs: list[str]) -> list[str]:
    """The sentences of an article's paragraphs that are long enough to stand alone."""
    out = []
    for paragraph in paragraphs:
        paragraph = paragraph.strip()
        out.extend(s for a, b in sentence_spans(paragraph) if 8 <= len(s := paragraph[a:b].strip()) <= 160)
    return out


def _title_of(sentence: str) -> str:
    """A headline-like title: the first clause of the article's first sentence."""
    clause = sentence
    for mark in "，。；：！？":
        clause = clause.split(mark)[0]
    return clause[:30] or sentence[:30]


def _generated(rng: random.Random, pool: list[str], number: int, seed: int) -> tuple[str, str, str]:
    """One recombined article: (relative path, title, text) of 3-10 paragraphs of 2-6 real sentences."""
    paragraphs = ["".join(rng.choice(pool) for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(3, 10))]
    return f"gen/s{seed}-{number:06d}.txt", _title_of(paragraphs[0]), "\n\n".join(paragraphs) + "\n"


def synthetic_corpus(
    n_chunks: int, folder: str | Path, shared_dir: str | Path, seed: int = 0,
    max_chars: int = MAX_CHARS, min_chars: int = MIN_CHARS,
) -> CorpusInfo:
    """Write (or reuse) in folder a corpus whose index holds about n_chunks chunks; returns what it holds.

    A folder already holding the corpus of this size, seed and chunk sizes is reused as it is.
    """
    folder = Path(folder)
    marker = folder / MARKER
    if marker.is_file():
        info = CorpusInfo(**json.loads(marker.read_text("utf-8")))
        if (info.target_chunks, info.seed, info.version) == (n_chunks, seed, VERSION):
            info.folder = str(folder)  # as the caller names it now (the folder may have moved)
            return info
    rows = pd_rows(shared_dir)  # fails early, before anything is written, when the corpus is absent
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    counter = _ChunkCounter(max_chars, min_chars)
    metadata: dict[str, dict[str, str]] = {}
    counts = {"seed": 0, "pd": 0, "generated": 0}
    characters = 0

    def write(path: str, title: str, source: str, text: str, kind: str) -> None:
        nonlocal characters
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        metadata[path] = {"title": title, "source": source}
        counts[kind] += 1
        characters += len(text)

    seeds = load_corpus(SEED_CORPUS)
    seed_metadata = json.loads((SEED_CORPUS / METADATA_FILE).read_text("utf-8"))
    for article in seeds.articles:
        counter.add(article)
        write(article.path, article.title, article.source, (SEED_CORPUS / article.path).read_text("utf-8"), "seed")
        metadata[article.path] = seed_metadata.get(article.path, metadata[article.path])

    pool: list[str] = []
    for row in rows:
        if counter.chunks >= n_chunks:
            break
        pool.extend(_sentences(row["paragraphs"]))
        text = "\n\n".join(p.strip() for p in row["paragraphs"] if p.strip()) + "\n"
        path = f"pd/{row['id']}.txt"
        date, page = row.get("date", ""), row.get("page", "")
        if counter.add(Article(id=path[:-4], title=row["title"] or row["id"], path=path, text=text)):
            write(path, row["title"] or row["id"], f"人民日报 {date[:4]}-{date[4:6]}-{date[6:]} 第{page}版", text, "pd")

    if counter.chunks < n_chunks:
        pool.extend(s for row in rows for s in _sentences(row["paragraphs"]))  # the rest of the file's sentences
        rng = random.Random(seed)
        number = 0
        while counter.chunks < n_chunks:
            path, title, text = _generated(rng, pool, number, seed)
            number += 1
            if counter.add(Article(id=path[:-4], title=title, path=path, text=text)):
                write(path, title, GENERATED_SOURCE, text, "generated")

    (staging / METADATA_FILE).write_text(json.dumps(metadata, ensure_ascii=False, indent=0), "utf-8")
    info = CorpusInfo(
        folder=str(folder), target_chunks=n_chunks, seed=seed, chunks=counter.chunks, articles=sum(counts.values()),
        seed_articles=counts["seed"], pd_articles=counts["pd"], generated_articles=counts["generated"],
        characters=characters,
    )
    (staging / MARKER).write_text(json.dumps(asdict(info), indent=1), "utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return info

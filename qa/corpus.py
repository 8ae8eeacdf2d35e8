"""Loading a folder of articles: UTF-8 or GB18030 text and Markdown, with titles and sources.

Titles and sources come, in this order, from Markdown front matter, from the
folder's ``metadata.json`` (``{"file.txt": {"title": ..., "source": ...}}``), or
from the article's first line. A file that cannot be decoded or read, that is
empty, or whose name is not UTF-8 is reported by name and skipped; the rest of
the corpus still loads.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pydantic import BaseModel, model_validator

SUFFIXES = (".txt", ".md", ".markdown")
METADATA_FILE = "metadata.json"
ENCODINGS = ("utf-8-sig", "gb18030")


class Article(BaseModel):
    """One article: its id (the file's path without suffix), title, source and full text."""

    id: str
    title: str
    source: str = ""
    path: str
    text: str
    markdown: bool = False

    @property
    def sha256(self) -> str:
        """Fingerprint of the text, used to tell whether an index is stale."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


class CorpusProblem(BaseModel):
    """A file that could not be loaded, and why."""

    path: str
    message: str


class Corpus(BaseModel):
    """The articles that loaded and the files that did not."""

    articles: list[Article]
    problems: list[CorpusProblem] = []

    @model_validator(mode="after")
    def _ids_are_unique(self) -> "Corpus":
        # The id keys the chunk store and an evaluation's gold paragraph: a repeated one would
        # otherwise fail deep inside an index build (sqlite3.IntegrityError) or mix two articles up.
        seen: set[str] = set()
        for article in self.articles:
            if article.id in seen:
                raise ValueError(f"two articles have the id {article.id!r}; article ids must be unique")
            seen.add(article.id)
        return self

    def fingerprint(self) -> str:
        """One hash over every article's id and text: equal fingerprints mean equal corpora."""
        digest = hashlib.sha256()
        for article in sorted(self.articles, key=lambda a: a.id):
            digest.update(f"{article.id}\0{article.sha256}\0".encode())
        return digest.hexdigest()


def unique_id(candidate: str, taken: set[str]) -> str:
    """candidate, or candidate-2, candidate-3, ... when it is taken; the id returned is added to taken."""
    article_id, number = candidate, 1
    while article_id in taken:
        number += 1
        article_id = f"{candidate}-{number}"
    taken.add(article_id)
    return article_id


def decode(data: bytes) -> str:
    """Decode article bytes as UTF-8, else GB18030; raise UnicodeDecodeError for neither."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8/gb18030", data, 0, len(data), "neither valid UTF-8 nor GB18030")


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split ``---``-delimited ``key: value`` front matter off a Markdown text."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    fields = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip().strip("\"'")
    body_start = text.find("\n", end + 4)
    return fields, "" if body_start < 0 else text[body_start + 1 :]


def first_line(text: str) -> str:
    """The first non-empty line, without Markdown heading marks, as a fallback title."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:80]
    return ""


def article_from_text(text: str, relative: str, fields: dict | None = None) -> Article:
    """An article from its decoded text and its name (a relative path: the id is the name without suffix).

    fields (title, source) come first from Markdown front matter, then from fields, then the first line.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    markdown = Path(relative).suffix.lower() != ".txt"
    fields = dict(fields or {})
    if markdown:
        front, text = split_front_matter(text)
        fields.update(front)
    return Article(
        id=relative.rsplit(".", 1)[0] if "." in Path(relative).name else relative,
        title=fields.get("title") or first_line(text) or relative,
        source=fields.get("source", ""),
        path=relative,
        text=text,
        markdown=markdown,
    )


def load_article(path: Path, root: Path, metadata: dict | None = None) -> Article:
    """Read one article file, its id the path without suffix; raises UnicodeDecodeError when it cannot be decoded."""
    relative = path.relative_to(root).as_posix()
    return article_from_text(decode(path.read_bytes()), relative, (metadata or {}).get(relative, {}))


def article_paths(root: Path) -> list[Path]:
    """The .txt/.md files under root (recursively), sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def file_stamps(root: str | Path) -> dict[str, tuple[int, int]]:
    """Size and modification time (ns) of every file a corpus is loaded from, by relative path.

    Equal stamps tell an unchanged corpus without reading a byte; different ones may
    still hold the same text (a file touched or copied), which only the fingerprint tells.
    """
    root = Path(root)
    paths = article_paths(root) + [path for path in [root / METADATA_FILE] if path.is_file()]
    stamps = {}
    for path in paths:
        stat = path.stat()
        stamps[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return stamps


def load_corpus(root: str | Path) -> Corpus:
    """Load every .txt/.md article under root (recursively), reporting files that fail."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    metadata_path = root / METADATA_FILE
    metadata = json.loads(metadata_path.read_text("utf-8")) if metadata_path.exists() else {}
    articles, problems, ids = [], [], set()
    for path in article_paths(root):
        relative = path.relative_to(root).as_posix()
        try:
            relative.encode("utf-8")
        except UnicodeEncodeError:  # the name's undecodable bytes came through as surrogates
            problems.append(CorpusProblem(path=shown_name(relative), message="the file name is not valid UTF-8; "
                                          "skipped (rename it)"))
            continue
        try:
            article = load_article(path, root, metadata)
        except UnicodeDecodeError:
            problems.append(
                CorpusProblem(path=relative, message="not valid UTF-8 or GB18030 text; skipped (re-save it as UTF-8)")
            )
        except OSError as error:
            problems.append(CorpusProblem(path=relative, message=f"cannot be read ({error.strerror}); skipped"))
        else:
            if article.text.strip():
                # a.txt and a.md would both be "a"
                articles.append(article.model_copy(update={"id": unique_id(article.id, ids)}))
            else:
                problems.append(CorpusProblem(path=relative, message="empty (no text); skipped"))
    return Corpus(articles=articles, problems=problems)


def shown_name(name: str) -> str:
    """A file name for messages: bytes that are not UTF-8 shown as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")

"""Incoming documents: files, folders and texts checked one by one before anything is written.

A batch is never refused whole for one bad document. Each document that is
empty, without a single letter, digit or Chinese character, binary, not UTF-8 or
GB18030 text, of another type than text or Markdown, larger than the limit, or the
same text as an indexed article or an earlier one of the batch gets an outcome
naming it with the reason; the others go in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel

from qa.corpus import SUFFIXES, Article, article_from_text, article_paths, decode, shown_name, unique_id

# Bytes that never occur in text (all C0 controls but tab, newline, vertical tab, form feed and carriage return).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r")
# Share of such bytes above which a file is taken for binary: GB18030 decodes almost any byte string.
MAX_CONTROL_SHARE = 0.01


@dataclass
class IncomingDocument:
    """One document to add: a file's bytes (decoded here) or a text, under a name shown in its outcome."""

    name: str  # a file name or relative path (which gives the article id), or a title
    data: bytes | None = None
    text: str | None = None
    title: str = ""
    source: str = ""
    error: Rejection | None = None  # why the file could not even be read


# Why a document was not added, for programs (the page words them in Chinese); reason says it for people.
Problem = Literal["unreadable", "not_found", "type", "too_large", "binary", "undecodable", "empty", "no_words",
                  "duplicate", "unknown_id"]


class Outcome(BaseModel):
    """What happened to one document or article id of a write."""

    name: str
    status: Literal["added", "replaced", "removed", "duplicate", "rejected"]
    article_id: str | None = None
    problem: Problem | None = None
    reason: str | None = None
    chunks: int = 0


@dataclass(frozen=True)
class Rejection:
    """Why a document cannot be added: a code and words for people."""

    problem: str
    reason: str


def read_paths(paths: list[str | Path]) -> list[IncomingDocument]:
    """The documents in these files and folders (folders: their .txt/.md files, recursively).

    A file's name is its path relative to the folder given, or its own name when given as a file.
    """
    documents = []
    for given in map(Path, paths):
        if given.is_dir():
            files = [(path, path.relative_to(given).as_posix()) for path in article_paths(given)]
            if not files:
                missing = Rejection("not_found", "a folder without .txt or .md files")
                documents.append(IncomingDocument(name=str(given), error=missing))
        elif given.is_file():
            files = [(given, given.name)]
        else:
            documents.append(IncomingDocument(name=str(given), error=Rejection("not_found", "no such file or folder")))
            continue
        for path, name in files:
            try:
                documents.append(IncomingDocument(name=shown_name(name), data=path.read_bytes()))
            except OSError as error:
                unreadable = Rejection("unreadable", f"cannot be read ({error.strerror})")
                documents.append(IncomingDocument(name=shown_name(name), error=unreadable))
    return documents


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    sample = data[:65536]
    return sum(sample.count(b) for b in _CONTROL_BYTES) > MAX_CONTROL_SHARE * max(len(sample), 1)


def _clean_name(name: str) -> str:
    """A document name as a safe relative path: no leading slashes, no '..', no empty parts."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("/", "..", ".", "")]
    return "/".join(parts)


def to_article(document: IncomingDocument, max_bytes: int, taken_ids: set[str]) -> Article | Rejection:
    """The article a document holds, its id made unique against taken_ids (which it joins), or why not."""
    if document.error:
        return document.error
    if document.text is not None:
        text = document.text
        if len(text.encode("utf-8")) > max_bytes:
            return Rejection("too_large", f"larger than the limit of {max_bytes:,} bytes (QA_MAX_DOCUMENT_BYTES)")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        name = _clean_name(document.name) or f"doc-{digest[:12]}"
        fields = {"title": document.title, "source": document.source}
        if not PurePosixPath(name).suffix:
            name += ".txt"
    else:
        data = document.data or b""
        name = _clean_name(document.name)
        suffix = PurePosixPath(name).suffix.lower()
        if suffix and suffix not in SUFFIXES:
            kinds = ", ".join(SUFFIXES)
            return Rejection("type", f"a {suffix} file; only text and Markdown files ({kinds}) can be added")
        if len(data) > max_bytes:
            limit = f"larger than the limit of {max_bytes:,} (QA_MAX_DOCUMENT_BYTES)"
            return Rejection("too_large", f"{len(data):,} bytes, {limit}")
        if _looks_binary(data):
            return Rejection("binary", "binary data, not text")
        try:
            text = decode(data)
        except UnicodeDecodeError:
            return Rejection("undecodable", "not valid UTF-8 or GB18030 text (re-save it as UTF-8)")
        fields = {"title": document.title, "source": document.source}
        name = name or "document.txt"
    if not text.strip():
        return Rejection("empty", "empty (no text)")
    article = article_from_text(text, name, {k: v for k, v in fields.items() if v})
    if not any(character.isalnum() for character in article.text):
        # Punctuation or symbols alone: nothing a question could ever find, so say so instead of "added".
        return Rejection("no_words", "no letters, digits or Chinese characters (only punctuation or symbols)")
    return article.model_copy(update={"id": unique_id(article.id, taken_ids)})

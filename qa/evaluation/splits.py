"""Train / dev / test splits by article, the same on every machine and in every run.

An article's split is drawn from a hash of its data set's name and its group key,
so the questions of one article (and, for DRCD, of one Wikipedia topic, whose dev
and test paragraphs share a title) always land on the same side. Choices are made
on dev; test figures are computed once, at the end.
"""

from __future__ import annotations

import hashlib
import re

SPLITS = ("train", "dev", "test")
FRACTIONS = {"train": 0.8, "dev": 0.1, "test": 0.1}
# DRCD titles end in " (DRCD dev)" or " (DRCD test)": the topic is what comes before.
_DRCD_PART = re.compile(r"\s*\(DRCD (dev|test)\)$")


def group_of(title: str) -> str:
    """The article group a document belongs to: its title without a DRCD part suffix."""
    return _DRCD_PART.sub("", title or "")


def split_of(dataset: str, title: str) -> str:
    """The split ("train", "dev" or "test") of a document of a data set, by its group."""
    digest = hashlib.sha256(f"{dataset}\0{group_of(title)}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    if draw < FRACTIONS["train"]:
        return "train"
    return "dev" if draw < FRACTIONS["train"] + FRACTIONS["dev"] else "test"


def select(data: dict, dataset: str, split: str) -> dict:
    """The SQuAD-format data restricted to the documents of one split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    return {**data, "data": [d for d in data["data"] if split_of(dataset, d.get("title", "")) == split]}

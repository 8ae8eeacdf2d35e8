"""Where chat conversations are kept between turns: one interface, two stores, chosen by name.

``/api/chat`` takes a conversation's last question from the store, resolves the
new message against it (qa.conversation), answers, and records the turn. The
server runs as several worker processes (``qa serve --workers N``), and the two
turns of a follow-up may reach different workers, so by default conversations
live in a SQLite file that every worker of a server opens (``sqlite``, in the
server's state folder beside the index, never inside it: the index folder is
replaced whole by every write). ``memory`` keeps them in the process, for one
worker only.

Both keep the same bounds: at most ``max_conversations`` conversations (the least
recently used is forgotten first), each of at most ``max_turns`` turns (only the
last is used to resolve a follow-up), each forgotten ``ttl_seconds`` after it was
last used.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from qa.settings import Settings

StoreKind = Literal["sqlite", "memory"]
STORES: tuple[StoreKind, ...] = ("sqlite", "memory")
CONVERSATIONS_FILE = "conversations.sqlite3"

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class Turn:
    """One exchange: what was typed, what it was resolved to, what was answered."""

    message: str
    question: str
    answer: str = ""


@dataclass
class Conversation:
    """A conversation as a store gave it: its id and its last turns (a copy; ``add_turn`` records a new one)."""

    id: str
    turns: list[Turn] = field(default_factory=list)

    @property
    def last_question(self) -> str | None:
        return self.turns[-1].question if self.turns else None


def check_id(conversation_id: str | None) -> None:
    """ValueError for an id that is not 1-64 letters, digits, '-' or '_' (None asks for a new conversation)."""
    if conversation_id is not None and not _ID.match(conversation_id):
        raise ValueError("conversation_id must be 1-64 letters, digits, '-' or '_'")


class ConversationStore(ABC):
    """Conversations between turns, at most max_conversations of at most max_turns turns, each forgotten
    after ttl_seconds unused. Safe to use from many threads."""

    default_clock = staticmethod(time.monotonic)  # what "unused for ttl_seconds" is measured with

    def __init__(self, max_conversations: int = 1000, ttl_seconds: float = 3600, max_turns: int = 20, clock=None):
        self.max_conversations = max_conversations
        self.ttl_seconds = ttl_seconds
        self.max_turns = max_turns
        self._clock = clock or self.default_clock

    @abstractmethod
    def get(self, conversation_id: str | None) -> Conversation:
        """The conversation with this id (a fresh one, under this id, if unknown or expired; a new id for
        None), marked as used."""

    @abstractmethod
    def add_turn(self, conversation_id: str, turn: Turn) -> None:
        """Record turn as the conversation's last (the oldest dropped past max_turns), marked as used."""

    @abstractmethod
    def __len__(self) -> int:
        """How many conversations are kept (expired ones are forgotten first)."""

    def close(self) -> None:
        """Let go of what the store holds open."""


class MemoryConversations(ConversationStore):
    """Conversations in this process's memory: for a server of one worker process."""

    def __init__(self, max_conversations: int = 1000, ttl_seconds: float = 3600, max_turns: int = 20, clock=None):
        super().__init__(max_conversations, ttl_seconds, max_turns, clock)
        self._items: OrderedDict[str, tuple[float, deque[Turn]]] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def _use(self, conversation_id: str, turns: deque[Turn]) -> None:
        self._items.pop(conversation_id, None)
        self._items[conversation_id] = (self._clock(), turns)
        while len(self._items) > self.max_conversations:
            self._items.popitem(last=False)

    def get(self, conversation_id: str | None) -> Conversation:
        check_id(conversation_id)
        conversation_id = conversation_id or uuid.uuid4().hex
        with self._lock:
            self._expire()
            _, turns = self._items.get(conversation_id, (0.0, deque(maxlen=self.max_turns)))
            self._use(conversation_id, turns)
            return Conversation(conversation_id, list(turns))

    def add_turn(self, conversation_id: str, turn: Turn) -> None:
        check_id(conversation_id)
        with self._lock:
            _, turns = self._items.get(conversation_id, (0.0, deque(maxlen=self.max_turns)))
            turns.append(turn)
            self._use(conversation_id, turns)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def _expire(self) -> None:
        cutoff = self._clock() - self.ttl_seconds
        while self._items and next(iter(self._items.values()))[0] < cutoff:
            self._items.popitem(last=False)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    updated REAL NOT NULL,   -- wall-clock time of the last use (the workers share no other clock)
    used INTEGER NOT NULL,   -- order of use, for forgetting the least recently used first
    turns TEXT NOT NULL      -- JSON list of [message, question, answer], the last max_turns
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations (updated);
CREATE INDEX IF NOT EXISTS conversations_used ON conversations (used);
"""


class SqliteConversations(ConversationStore):
    """Conversations in a SQLite file (WAL mode) that every worker process of a server opens.

    Each get or add_turn is one short write transaction (``BEGIN IMMEDIATE``), so two workers
    recording turns of one conversation at once both land, one after the other. Writers of
    other processes are waited for up to busy_seconds. The clock is the wall clock: the
    monotonic clock of one process means nothing to another.
    """

    default_clock = staticmethod(time.time)

    def __init__(
        self, path: str | Path, max_conversations: int = 1000, ttl_seconds: float = 3600, max_turns: int = 20,
        clock=None, busy_seconds: float = 10.0,
    ):
        super().__init__(max_conversations, ttl_seconds, max_turns, clock)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per store, used by one thread at a time (sqlite3 objects are not for concurrent use).
        self._db = sqlite3.connect(self.path, timeout=busy_seconds, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a crashed process, which is what matters here
            self._db.executescript(_SCHEMA)

    def _transaction(self, work):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

    def _expire(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM conversations WHERE updated < ?", (self._clock() - self.ttl_seconds,))

    def _turns(self, db: sqlite3.Connection, conversation_id: str) -> list[Turn]:
        row = db.execute("SELECT turns FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return [Turn(*turn) for turn in json.loads(row[0])] if row else []

    def _use(self, db: sqlite3.Connection, conversation_id: str, turns: list[Turn]) -> None:
        kept = [[t.message, t.question, t.answer] for t in turns[-self.max_turns :]]
        db.execute(
            "INSERT INTO conversations (id, updated, used, turns) "
            "VALUES (?, ?, (SELECT COALESCE(MAX(used), 0) + 1 FROM conversations), ?) "
            "ON CONFLICT (id) DO UPDATE SET updated = excluded.updated, used = excluded.used, turns = excluded.turns",
            (conversation_id, self._clock(), json.dumps(kept, ensure_ascii=False)),
        )
        db.execute(
            "DELETE FROM conversations WHERE id IN "
            "(SELECT id FROM conversations ORDER BY used DESC LIMIT -1 OFFSET ?)",
            (self.max_conversations,),
        )

    def get(self, conversation_id: str | None) -> Conversation:
        check_id(conversation_id)
        conversation_id = conversation_id or uuid.uuid4().hex

        def work(db: sqlite3.Connection) -> Conversation:
            self._expire(db)
            turns = self._turns(db, conversation_id)
            self._use(db, conversation_id, turns)
            return Conversation(conversation_id, turns)

        return self._transaction(work)

    def add_turn(self, conversation_id: str, turn: Turn) -> None:
        check_id(conversation_id)
        self._transaction(lambda db: self._use(db, conversation_id, [*self._turns(db, conversation_id), turn]))

    def __len__(self) -> int:
        def work(db: sqlite3.Connection) -> int:
            self._expire(db)
            return db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]

        return self._transaction(work)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_conversations(settings: Settings, state_dir: str | Path, kind: StoreKind | None = None) -> ConversationStore:
    """The conversation store the settings name (QA_CONVERSATION_STORE), with their bounds; a SQLite store
    keeps its file in state_dir."""
    kind = kind or settings.conversation_store
    bounds = dict(max_conversations=settings.max_conversations, ttl_seconds=settings.conversation_ttl_seconds,
                  max_turns=settings.max_turns)
    if kind == "sqlite":
        return SqliteConversations(Path(state_dir) / CONVERSATIONS_FILE, **bounds)
    if kind == "memory":
        return MemoryConversations(**bounds)
    raise ValueError(f"unknown conversation store {kind!r}; choose one of {', '.join(STORES)}")

"""The engine: one object that loads an index once and answers questions, for every front end.

The command line, the web server and the evaluation harness all go through
``Engine.load(...).ask(question)``. Everything it holds is read-only after
loading, so one engine serves many threads.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TypeVar

from threadpoolctl import threadpool_limits

from qa.answer.encoding import EncodedQuestion
from qa.answer.predictor import Predictor
from qa.backends import get_backend
from qa.backends.base import LoadedIndex
from qa.background import Occupancy
from qa.heap import settle
from qa.manifest import IndexMissingError
from qa.page_cache import read_into_page_cache
from qa.reader import NeuralReader
from qa.rerank import CrossEncoderReranker
from qa.retriever import HybridRetriever
from qa.settings import MAX_TOP_K, Settings, get_settings, reads_in_parallel
from qa.store import ArticleInfo
from qa.text import sentence_around
from qa.types import Answer, Passage, PassageInfo

log = logging.getLogger(__name__)
T = TypeVar("T")


class EmptyQuestionError(ValueError):
    """The question is empty or only whitespace."""


class QuestionTooLongError(ValueError):
    """The question exceeds the configured length limit."""


# Any question will do: answering one loads what loads on first use (jieba's dictionaries and more).
WARM_UP_QUESTION = "谁在哪一年签约了多少个项目？"


class Engine:
    """Retrieval plus answer selection over one loaded index."""

    def __init__(self, index: LoadedIndex, settings: Settings, model: dict | None = None, reuse: "Engine | None" = None):
        """reuse: an engine of an earlier generation whose models (reader, optional stages) are shared, not loaded again."""
        # One BLAS thread per question: the matrices here are small, and on a machine with few cores
        # concurrent requests waiting on each other's BLAS threads were several times slower.
        threadpool_limits(limits=1, user_api="blas")
        self.index = index
        self.settings = settings
        # Set by load(check_corpus=True) when the corpus folder has changed since the index was built.
        self.stale_warning: str | None = None
        self.retriever = HybridRetriever(index, settings)
        self._asking = Occupancy()  # questions being asked now, by any thread
        title = self._title
        if reuse is not None and model is None:
            self.reranker, self.reader = reuse.reranker, reuse.reader
            self.predictor = reuse.predictor.sharing(title, reads_in_parallel(settings))
            return
        # Optional heavier stages, off unless a model is configured.
        self.reranker = CrossEncoderReranker(settings.reranker_model) if settings.reranker_model else None
        self.reader = NeuralReader(settings.reader_model) if settings.reader_model else None
        # The same for PyTorch's threads, when a PyTorch model serves (a sentence-transformers encoder,
        # loaded with the index, or one of the stages above). The shipped encoder and reader run on numpy
        # and ONNX Runtime, and PyTorch is not imported for them.
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        self.predictor = Predictor(title=title, model=model, abstain_threshold=settings.abstain_threshold,
                                   parallel=reads_in_parallel(settings))

    @classmethod
    def load(
        cls,
        index_dir: str | Path | None = None,
        settings: Settings | None = None,
        build_if_missing: bool = False,
        model: dict | None = None,
        check_corpus: bool = False,
        reuse: "Engine | None" = None,
    ) -> "Engine":
        """Load the index in index_dir (default: settings.index_dir), building it from the corpus when asked.

        The index is read through the backend the settings name (qa.backends: QA_BACKEND=local|milvus);
        for Milvus, the default index_dir stands for the collection QA_MILVUS_COLLECTION.

        model replaces the shipped reader bundle (see qa.answer.model_file), for training and experiments.
        check_corpus compares the index with the articles in settings.corpus_dir, which it is
        meant to answer from; when they have changed, a warning is logged and kept in
        stale_warning, and the index is served as it is.
        reuse: an engine loaded earlier from this folder, whose unchanged segments, encoder and
        reader are taken over (following an addition costs what the addition wrote).
        """
        settings = settings or get_settings()
        index_dir = Path(index_dir or settings.index_dir)
        backend = get_backend(settings)
        try:
            index = backend.load(index_dir, reuse=reuse.index if reuse else None)
        except IndexMissingError:
            if not build_if_missing:
                raise
            log.warning("no index in %s; building it from %s", backend.location(index_dir), settings.corpus_dir)
            backend.build(settings.corpus_dir, index_dir)
            index = backend.load(index_dir)
        engine = cls(index, settings, model, reuse=reuse)
        if check_corpus:
            engine.stale_warning = index.stale_warning(settings.corpus_dir)
            if engine.stale_warning:
                log.warning("warning: %s", engine.stale_warning)
        return engine

    def _title(self, article_id: str) -> str:
        """An article's title (its id when it has none), read when shown (one keyed read): loading reads no titles."""
        info = self.index.store.article(article_id)
        return info.title if info is not None else article_id

    def warm_up(self) -> None:
        """Read the index's files into the page cache within QA_PAGE_CACHE_MB (qa.page_cache) and answer one
        question now, so that the first real questions wait neither on the disk nor on loading models; then
        leave what loading made out of the garbage collector's full collections (qa.heap)."""
        started = time.perf_counter()
        read = read_into_page_cache(self.index.local_files(), self.settings.page_cache_mb << 20)
        log.info("read %.1f MB of index files into the page cache in %.2f s", read / 2**20, time.perf_counter() - started)
        self.ask(WARM_UP_QUESTION)
        settle()

    def check_question(self, question: str) -> str:
        """The question stripped, or a clear error for an empty or over-long one."""
        if question is None or not str(question).strip():
            raise EmptyQuestionError("the question is empty; ask something, e.g. 徐州缓缴社保多少")
        question = str(question).strip()
        if len(question) > self.settings.max_question_chars:
            raise QuestionTooLongError(
                f"the question has {len(question)} characters; the limit is {self.settings.max_question_chars}"
            )
        return question

    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]:
        """The ranked passages for a question (reranked by the cross-encoder when one is configured)."""
        return self._retrieve(question, top_k)[0]

    def _retrieve(self, question: str, top_k: int | None, work: Callable[[], T] | None = None,
                  ) -> tuple[list[Passage], Future[T] | None]:
        """retrieve, with work run in a pool thread meanwhile (HybridRetriever.retrieve_beside)."""
        question = self.check_question(question)
        if top_k is not None and not 1 <= top_k <= MAX_TOP_K:
            raise ValueError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
        top_k = top_k or self.settings.top_k
        if self.reranker is None:
            return self.retriever.retrieve_beside(question, top_k, work)
        candidates, working = self.retriever.retrieve_beside(question, max(self.settings.candidates, top_k), work)
        return self.reranker.rerank(question, candidates, top_k), working

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """Answer one question: the answer, its sentence and source, confidence, and the passages used."""
        question = self.check_question(question)
        started = time.perf_counter()
        # The reader's analysis of the question needs no passages: made in a thread while they are searched,
        # unless other questions are being answered meanwhile (qa.background.Occupancy).
        with self._asking.entered() as alone:
            analyse = partial(self.predictor.analyse, question) if alone else None
            passages, analysing = self._retrieve(question, top_k, analyse)
            answer = self.answer(question, passages, analysing.result() if analysing is not None else None)
        answer.timings_ms["retrieve"] = round((time.perf_counter() - started) * 1000 - answer.timings_ms["answer"], 3)
        return answer

    def answer(self, question: str, passages: list[Passage], analysed: EncodedQuestion | None = None) -> Answer:
        """Select the answer to a question from passages already retrieved (analysed: the reader's
        analysis of the question, Predictor.analyse, when made beforehand)."""
        started = time.perf_counter()
        answer = self.predictor.predict(question, passages, analysed)
        if self.reader is not None:
            answer = self._read(question, passages, answer)
        answer.passages = [self._passage_info(p) for p in passages]
        answer.timings_ms = {"answer": round((time.perf_counter() - started) * 1000, 3)}
        return answer

    def _read(self, question: str, passages: list[Passage], selected: Answer) -> Answer:
        """Replace the learned reader's answer with the optional transformers reader's span, in its sentence."""
        span = self.reader.read(question, passages)
        if span is None:
            return selected
        sentence = sentence_around(span.passage.chunk.text, span.start, span.end)
        return self.predictor.answer_at(question, span.passage, sentence, (span.start, span.end), span.probability)

    def articles(self) -> list[ArticleInfo]:
        """The indexed articles with titles and chunk counts."""
        return self.index.store.articles()

    def _passage_info(self, passage: Passage) -> PassageInfo:
        chunk = passage.chunk
        return PassageInfo(
            rank=passage.rank, chunk_id=chunk.id, article_id=chunk.article_id,
            title=self._title(chunk.article_id), paragraph=chunk.paragraph,
            text=chunk.text, score=passage.score, bm25=passage.bm25, dense=passage.dense,
        )

"""The reader network as ONNX graphs, run by ONNX Runtime: how answers are read when serving.

``GraphReader`` runs the graph of each member of the ensemble and averages their
scores as the ensemble does; the graphs are written when the model file is made
(qa.answer.export). Training stays in PyTorch; reading does not import it, so a
server or a one-shot ``qa ask`` never loads it (about 1.2 s and a few hundred MB
of a fresh process).

Why ONNX Runtime: on one CPU thread it reads a question's passages in about two
thirds of the time of the same network traced and frozen with TorchScript (news
dev answer step and a synthetic 3-passage batch, eval/ABLATIONS.md), because it
fuses the small per-character operations that dominate at this size. The scores
are the network's own (the tests compare them with eager PyTorch for any batch
shape); the graph records operations, not shapes, so it reads any number of
passages of any length.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from qa.answer.encoding import Batch
from qa.answer.runtime import one_thread_session
from qa.background import Occupancy, beside

INPUTS = tuple(field.name for field in fields(Batch))
OUTPUTS = ("start", "end", "no_answer", "crossing")
# Start and end logits (B, L), no-answer and crossing logits (B,), as arrays.
Scores = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class GraphReader:
    """Start, end, no-answer and crossing scores of a batch from the exported graphs of an ensemble's members
    (one graph: a single reader), averaged as qa.answer.network.ReaderEnsemble averages them.

    Each graph runs on one thread. With ``parallel`` the members run at once, all but the first in the
    shared pool of qa.background, when no other batch is being read at the time; otherwise one after the
    other. Why: while other questions are read the cores are busy with them, and handing a member to the
    pool only adds waiting (a `qa serve` of two workers at 100,006 chunks, 32 clients: 75–79 requests/s
    with every reading in threads against 89–99 one after the other; eval/ABLATIONS.md).

    One instance serves many threads (ONNX Runtime sessions are safe to run concurrently)."""

    def __init__(self, graphs: list[bytes]):
        if not graphs:
            raise ValueError("a reader needs the graph of at least one member")
        self.sessions = [one_thread_session(graph) for graph in graphs]
        self._reading = Occupancy()  # batches being read now, by any thread

    def __call__(self, batch: Batch, parallel: bool = False) -> Scores:
        feeds = {name: np.asarray(getattr(batch, name)) for name in INPUTS}
        run = lambda session: session.run(list(OUTPUTS), feeds)  # noqa: E731
        first, *others = self.sessions
        with self._reading.entered() as alone:
            if parallel and alone and others:
                pending = [beside(run, session) for session in others]
                members = [run(first)] + [future.result() for future in pending]
            else:
                members = [run(session) for session in self.sessions]
        if len(members) == 1:
            return tuple(members[0])
        return tuple(np.stack(parts).mean(0) for parts in zip(*members))

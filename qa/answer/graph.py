"""The reader network as ONNX graphs, run by ONNX Runtime: how answers are read when serving.

``export`` writes a trained network as an ONNX graph when the model file is made
(qa.answer.model_file.bundle), one graph per member of the ensemble; ``GraphReader``
runs them and averages their scores as the ensemble does. Training stays in PyTorch;
reading does not need it.

Why: on one CPU thread ONNX Runtime reads a question's passages in about two
thirds of the time of the same network traced and frozen with TorchScript (news
dev answer step and a synthetic 3-passage batch, eval/ABLATIONS.md), because it
fuses the small per-character operations that dominate at this size. The scores
are the network's own (the tests compare them with eager PyTorch for any batch
shape); the graph records operations, not shapes, so it reads any number of
passages of any length.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import fields

import numpy as np
import torch
from torch import nn

from qa.answer.encoding import FLAGS, Batch, EncodedPassage, EncodedQuestion, collate
from qa.answer.network import ReaderEnsemble, ReaderNetwork, Scores
from qa.answer.runtime import one_thread_session
from qa.background import Occupancy, beside

INPUTS = tuple(field.name for field in fields(Batch))
OUTPUTS = ("start", "end", "no_answer", "crossing")
OPSET = 17


class _TensorsIn(nn.Module):
    """The network with the batch's tensors as positional inputs, which export needs."""

    def __init__(self, network: ReaderNetwork | ReaderEnsemble):
        super().__init__()
        self.network = network

    def forward(self, *tensors: torch.Tensor) -> Scores:
        return self.network(Batch(*tensors))


def _example_batch(vocabulary_size: int) -> Batch:
    ids = np.arange(2, 10) % vocabulary_size
    asked = EncodedQuestion("", ids[:4], np.ones(4, np.int64), np.ones(4, np.int64), np.zeros(0), frozenset())
    passage = EncodedPassage("", ids, np.ones(8, np.int64), np.ones(8, np.int64), np.zeros((8, len(FLAGS)), np.float32))
    return collate([(asked, passage), (asked, passage)])


def export(network: ReaderNetwork | ReaderEnsemble) -> bytes:
    """The network in evaluation mode as ONNX bytes, batch size and both lengths left free."""
    modes = {module: module.training for module in network.modules()}
    network.eval()
    tensors = tuple(getattr(_example_batch(network.config.vocabulary_size), name) for name in INPUTS)
    free = {name: {0: "pairs", 1: "question_length" if name.startswith("question") else "passage_length"}
            for name in INPUTS}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notices about its legacy TorchScript path
        torch.onnx.export(_TensorsIn(network), tensors, buffer, input_names=list(INPUTS), output_names=list(OUTPUTS),
                          dynamic_axes=free, opset_version=OPSET, dynamo=False)
    for module, training in modes.items():  # each as it was: an ensemble made for export is in training mode
        module.train(training)
    return buffer.getvalue()


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
        feeds = {name: getattr(batch, name).numpy() for name in INPUTS}
        run = lambda session: session.run(list(OUTPUTS), feeds)  # noqa: E731
        first, *others = self.sessions
        with self._reading.entered() as alone:
            if parallel and alone and others:
                pending = [beside(run, session) for session in others]
                members = [run(first)] + [future.result() for future in pending]
            else:
                members = [run(session) for session in self.sessions]
        if len(members) == 1:
            return tuple(torch.from_numpy(scores) for scores in members[0])
        return tuple(torch.from_numpy(np.stack(parts).mean(0)) for parts in zip(*members))

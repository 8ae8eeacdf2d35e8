"""A trained reader network written as an ONNX graph (qa.answer.graph reads it): training side, PyTorch.

``export`` runs when the model file is made (qa.answer.weights.bundle), one graph
per member of the ensemble, batch size and both lengths left free.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import nn

from qa.answer.encoding import FLAGS, Batch, EncodedPassage, EncodedQuestion, collate
from qa.answer.graph import INPUTS, OUTPUTS
from qa.answer.network import ReaderEnsemble, ReaderNetwork, Scores, as_tensors

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
    return as_tensors(collate([(asked, passage), (asked, passage)]))


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

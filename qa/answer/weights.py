"""The reader's weights in a model file: made from trained networks, and networks again from them (PyTorch).

Training, refitting the heads and the format conversion use this; serving reads the
graphs alone (qa.answer.model_file.reader_of) and never imports it (an import contract
in pyproject.toml keeps it so).

A model file of an older format (PyTorch's file) converts without retraining:
``python -m qa.answer.weights PATH`` writes PATH with the suffix .zip beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from qa.answer.confidence import Calibrator
from qa.answer.export import export
from qa.answer.model_file import FORMAT, ModelMismatchError, read, save, versions
from qa.answer.network import ReaderConfig, ReaderEnsemble, ReaderNetwork
from qa.answer.vocabulary import CharVocabulary

# Formats of PyTorch's file that convert to this one without retraining: 5 holds a graph per member
# as this format does; 4 held one graph of the whole ensemble, so its members are exported again.
CONVERTIBLE_FORMATS = (4, 5)


def bundle(members: list[ReaderNetwork], vocabulary: CharVocabulary, calibrator: dict, training: dict) -> dict:
    """Everything a Predictor needs, ready for qa.answer.model_file.save: the members' weights, read
    as one ensemble, and each member exported as a graph."""
    ensemble = ReaderEnsemble(members)  # the same configuration for all, or an error now rather than at load
    return {
        "versions": versions(),
        "config": members[0].config.to_dict(),
        "vocabulary": vocabulary.chars,
        "states": [{name: tensor.detach().numpy().copy() for name, tensor in member.state_dict().items()}
                   for member in members],
        "graphs": exported(list(ensemble.members)),
        "calibrator": calibrator,
        "training": training,
    }


def exported(members: list[ReaderNetwork]) -> list[bytes]:
    """Each member's ONNX graph (qa.answer.export)."""
    return [export(member) for member in members]


def members_of(data: dict, missing_ok: str | None = None) -> list[ReaderNetwork]:
    """The bundle's members in evaluation mode. Weights whose names start with ``missing_ok`` may be
    absent (a bundle saved before that head existed: the head keeps its initial weights)."""
    config = dict(data["config"])
    for key in ("encoder_dilations", "model_dilations"):
        config[key] = tuple(config[key])
    members = []
    for state in data["states"]:
        member = ReaderNetwork(ReaderConfig(**config))
        tensors = {name: torch.as_tensor(np.asarray(value)) for name, value in state.items()}
        missing, unexpected = member.load_state_dict(tensors, strict=missing_ok is None)
        if unexpected or any(not name.startswith(missing_ok or "") for name in missing):
            raise ModelMismatchError(f"weights of another network (missing {missing}, unexpected {unexpected})")
        members.append(member.eval())
    return members


def network_of(data: dict) -> tuple[ReaderEnsemble, CharVocabulary, Calibrator]:
    """The reader (its members in evaluation mode), vocabulary and calibrator of a bundle."""
    return ReaderEnsemble(members_of(data)).eval(), CharVocabulary(data["vocabulary"]), Calibrator(data["calibrator"])


def read_any(path: str | Path) -> dict:
    """A bundle as saved, unchecked: a model file of this format, or PyTorch's file of an older one (whose
    members_of reads the same; a file saved before the crossing heads needs missing_ok="crossing.")."""
    try:
        return read(path)
    except ModelMismatchError:
        return _pytorch_file(path)


def _pytorch_file(path: str | Path) -> dict:
    return torch.load(Path(path), map_location="cpu", weights_only=True)


def upgrade(path: str | Path) -> Path:
    """Convert a model file of an older format (PyTorch's file, format 4 or 5) to this one, from its own
    weights: the same members, vocabulary, calibrator, ranker and training record. Written beside it with
    the suffix .zip (the old file is left as it is); returns that path."""
    path = Path(path)
    data = _pytorch_file(path)
    found = data.get("versions") or {}
    if found.get("format") not in CONVERTIBLE_FORMATS or {**found, "format": FORMAT} != versions():
        raise ModelMismatchError(f"{path} ({found}) cannot be converted to {versions()}; retrain the reader")
    data["states"] = [{name: tensor.numpy() for name, tensor in state.items()} for state in data["states"]]
    if "graphs" in data:
        data["graphs"] = [graph.numpy().tobytes() for graph in data["graphs"]]
    else:
        data["graphs"] = exported(members_of(data))
        data.pop("graph", None)
    if data.get("span_ranker"):
        data["span_ranker"]["graph"] = data["span_ranker"]["graph"].numpy().tobytes()
    data["versions"] = versions()
    target = path.with_suffix(".zip")
    save(data, target)
    return target


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m qa.answer.weights PATH  (converts a model file of an older format, "
                 f"written as PATH with the suffix .zip: format {FORMAT})")
    print(f"{sys.argv[1]} → {upgrade(sys.argv[1])}: model file format {FORMAT}")

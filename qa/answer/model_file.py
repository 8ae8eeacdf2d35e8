"""The reader's model file: weights, sizes, vocabulary and calibrator in one versioned bundle.

The bundle also holds the words before a number that the training answers leave out
(``left_out_prefixes``, qa.answer.prefixes; a bundle without them trims nothing) and the
span ranker (``span_ranker``: its feature names and trees as an ONNX graph, qa.answer.ranking; a
bundle without one answers the reader's most probable span).

The weights are those of every member of the reader ensemble (qa.answer.network.ReaderEnsemble;
one member is a plain reader), all of one configuration and one vocabulary, and each member
exported as an ONNX graph (qa.answer.graph), which is what reads when serving.

The bundle records the feature names and the vocabulary, tag and feature
versions it was trained with; loading refuses a bundle made for other ones,
so a model is never silently misread after the features change.
"""

from __future__ import annotations

from pathlib import Path

import torch

from qa.answer.confidence import Calibrator
from qa.answer.encoding import FEATURE_VERSION, PASSAGE_FEATURES, QUESTION_FEATURES
from qa.answer.graph import GraphReader, export
from qa.answer.network import ReaderConfig, ReaderEnsemble, ReaderNetwork
from qa.answer.vocabulary import POS_VERSION, VOCABULARY_VERSION, CharVocabulary

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "reader.pt"
FORMAT = 5  # 2: the weights of several members ("states"); 3: their ensemble as an ONNX graph ("graph");
# 4: members with a crossing head, the graph with its output; 5: a graph per member ("graphs"), read at once


def versions() -> dict:
    """What a bundle must match to be read by this code."""
    return {
        "format": FORMAT,
        "vocabulary": VOCABULARY_VERSION,
        "pos": POS_VERSION,
        "features": FEATURE_VERSION,
        "passage_features": list(PASSAGE_FEATURES),
        "question_features": list(QUESTION_FEATURES),
    }


class ModelMismatchError(ValueError):
    """The model file was made for other features or vocabularies than this code computes."""


def bundle(members: list[ReaderNetwork], vocabulary: CharVocabulary, calibrator: dict, training: dict) -> dict:
    """Everything a Predictor needs, ready for torch.save: the members' weights, read as one ensemble,
    and each member exported as a graph."""
    ensemble = ReaderEnsemble(members)  # the same configuration for all, or an error now rather than at load
    return {
        "versions": versions(),
        "config": members[0].config.to_dict(),
        "vocabulary": vocabulary.chars,
        "states": [{name: tensor.detach().clone() for name, tensor in member.state_dict().items()} for member in members],
        "graphs": exported(list(ensemble.members)),
        "calibrator": calibrator,
        "training": training,
    }


def exported(members: list[ReaderNetwork]) -> list[torch.Tensor]:
    """Each member's ONNX graph (qa.answer.graph.export) as a byte tensor: torch.save pickles plain bytes
    as text, which nearly doubles their size."""
    return [torch.frombuffer(bytearray(export(member)), dtype=torch.uint8) for member in members]


def save(data: dict, path: str | Path = MODEL_FILE) -> None:
    """Write a bundle atomically (a temporary file renamed into place)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(data, temporary)
    temporary.replace(path)


# Formats whose bundles differ from this one's only in how the weights are exported, not in the weights:
# ``upgrade`` exports them again (format 4 held one graph of the whole ensemble).
UPGRADABLE_FORMATS = (4,)


def _read(path: str | Path) -> tuple[dict, dict]:
    """A bundle as saved, unchecked, and the versions it records."""
    data = torch.load(Path(path), map_location="cpu", weights_only=True)
    return data, data.get("versions") or {}


def load(path: str | Path = MODEL_FILE) -> dict:
    """Read a bundle and check it matches this code."""
    data, found = _read(path)
    if found != versions():
        if _upgradable(found):
            raise ModelMismatchError(
                f"{path} is model file format {found['format']}; this code reads format {FORMAT}, the same weights "
                f"exported a graph per member: convert it with `python -m qa.answer.model_file {path}` (no retraining)"
            )
        raise ModelMismatchError(f"{path} was trained for {found}, this code computes {versions()}; retrain the reader")
    return data


def _upgradable(found: dict) -> bool:
    return found.get("format") in UPGRADABLE_FORMATS and {**found, "format": FORMAT} == versions()


def upgrade(path: str | Path) -> None:
    """Rewrite a bundle of an upgradable format in this one, from its own weights: the same members,
    vocabulary, calibrator, ranker and training record, each member exported again (qa.answer.graph)."""
    data, found = _read(path)
    if not _upgradable(found):
        raise ModelMismatchError(f"{path} ({found}) cannot be converted to {versions()}; retrain the reader")
    data["graphs"] = exported(members_of(data))
    data.pop("graph", None)
    data["versions"] = versions()
    save(data, path)


def network_of(data: dict) -> tuple[ReaderEnsemble, CharVocabulary, Calibrator]:
    """The reader (its members in evaluation mode), vocabulary and calibrator of a bundle."""
    return ReaderEnsemble(members_of(data)).eval(), CharVocabulary(data["vocabulary"]), Calibrator(data["calibrator"])


def members_of(data: dict, missing_ok: str | None = None) -> list[ReaderNetwork]:
    """The bundle's members in evaluation mode. Weights whose names start with ``missing_ok`` may be
    absent (a bundle saved before that head existed: the head keeps its initial weights)."""
    config = dict(data["config"])
    for key in ("encoder_dilations", "model_dilations"):
        config[key] = tuple(config[key])
    members = []
    for state in data["states"]:
        member = ReaderNetwork(ReaderConfig(**config))
        missing, unexpected = member.load_state_dict(state, strict=missing_ok is None)
        if unexpected or any(not name.startswith(missing_ok or "") for name in missing):
            raise ModelMismatchError(f"weights of another network (missing {missing}, unexpected {unexpected})")
        members.append(member.eval())
    return members


def reader_of(data: dict) -> tuple[GraphReader, CharVocabulary, Calibrator]:
    """What reading needs from a bundle: its members' graphs, ready to run, vocabulary and calibrator."""
    graphs = [graph.numpy().tobytes() for graph in data["graphs"]]
    return GraphReader(graphs), CharVocabulary(data["vocabulary"]), Calibrator(data["calibrator"])


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m qa.answer.model_file PATH  (converts a model file of an older format in place)")
    upgrade(sys.argv[1])
    print(f"{sys.argv[1]}: now model file format {FORMAT}")

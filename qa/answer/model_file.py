"""The reader's model file: graphs, weights, vocabulary, calibrator and ranker in one versioned bundle.

A bundle is a dict (``load`` returns it, ``save`` writes it) holding:
- ``graphs``: each member of the reader ensemble as an ONNX graph (bytes; qa.answer.graph reads them);
- ``states``: each member's weights by name (numpy arrays; training reads them, qa.answer.weights);
- ``config``, ``vocabulary``, ``calibrator`` (qa.answer.confidence) and the ``training`` record;
- ``left_out_prefixes``: the words before a number that the training answers leave out
  (qa.answer.prefixes; a bundle without them trims nothing);
- ``span_ranker``: its feature names and its trees as an ONNX graph (``graph``, bytes; qa.answer.ranking;
  a bundle without one answers the reader's most probable span).

On disk it is a zip archive (format 6): ``bundle.json`` for the plain values, ``graphs/N.onnx``,
``states/N.npz`` and ``span_ranker.onnx`` beside it. Why not PyTorch's own file, as before: reading it
needs PyTorch, which serving otherwise never imports (qa.answer.graph). A file of an older format
converts without retraining: ``python -m qa.answer.weights PATH``.

The bundle records the feature names and the vocabulary, tag and feature versions it was trained
with; loading refuses a bundle made for other ones, so a model is never silently misread after the
features change.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from qa.answer.confidence import Calibrator
from qa.answer.encoding import FEATURE_VERSION, PASSAGE_FEATURES, QUESTION_FEATURES
from qa.answer.graph import GraphReader
from qa.answer.vocabulary import POS_VERSION, VOCABULARY_VERSION, CharVocabulary

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "reader.zip"
FORMAT = 6  # 2: the weights of several members ("states"); 3: their ensemble as an ONNX graph ("graph");
# 4: members with a crossing head, the graph with its output; 5: a graph per member ("graphs"), read at once;
# 6: a zip archive of JSON, ONNX and numpy files instead of PyTorch's file
PLAIN = "bundle.json"


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


def save(data: dict, path: str | Path = MODEL_FILE) -> None:
    """Write a bundle atomically (a temporary file renamed into place)."""
    if "states" not in data:
        raise ValueError("this bundle was read without its weights (load(states=False)); saving it would lose them")
    path = Path(path)
    plain = {key: value for key, value in data.items() if key not in ("graphs", "states")}
    ranker = data.get("span_ranker")
    if ranker:
        plain["span_ranker"] = {key: value for key, value in ranker.items() if key != "graph"}
    temporary = path.with_name(f".{path.name}.tmp")
    # The graphs and weights are stored as they are: compressing them saves little and costs load time.
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(PLAIN, json.dumps(plain, ensure_ascii=False, indent=1), zipfile.ZIP_DEFLATED)
        for number, graph in enumerate(data.get("graphs", [])):
            archive.writestr(f"graphs/{number}.onnx", bytes(graph))
        for number, state in enumerate(data["states"]):
            buffer = io.BytesIO()
            np.savez(buffer, **state)
            archive.writestr(f"states/{number}.npz", buffer.getvalue())
        if ranker and "graph" in ranker:
            archive.writestr("span_ranker.onnx", bytes(ranker["graph"]))
    temporary.replace(path)


def read(path: str | Path, states: bool = True) -> dict:
    """A bundle as saved, unchecked (load checks it). Without ``states`` the members' weights are left
    out: reading needs only the graphs, and the weights are most of the time a load takes (11 of 15 ms)."""
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise _not_this_format(path) from None
    with archive:
        names = archive.namelist()
        if PLAIN not in names:
            raise _not_this_format(path)
        data = json.loads(archive.read(PLAIN))
        data["graphs"] = [archive.read(f"graphs/{n}.onnx") for n in range(_count(names, "graphs/"))]
        if states:
            data["states"] = []
            for number in range(_count(names, "states/")):
                with np.load(io.BytesIO(archive.read(f"states/{number}.npz"))) as arrays:
                    data["states"].append({name: arrays[name] for name in arrays.files})
        if data.get("span_ranker") and "span_ranker.onnx" in names:
            data["span_ranker"]["graph"] = archive.read("span_ranker.onnx")
    return data


def _not_this_format(path: Path) -> ModelMismatchError:
    return ModelMismatchError(
        f"{path} is not a model file of format {FORMAT}; a model file of an older format (PyTorch's file) "
        f"converts to it with `python -m qa.answer.weights {path}` (no retraining)"
    )


def _count(names: list[str], folder: str) -> int:
    return sum(1 for name in names if name.startswith(folder))


def load(path: str | Path = MODEL_FILE, states: bool = True) -> dict:
    """Read a bundle and check it matches this code (states: as read takes it)."""
    data = read(path, states)
    found = data.get("versions") or {}
    if found != versions():
        raise ModelMismatchError(f"{path} was trained for {found}, this code computes {versions()}; retrain the reader")
    return data


def reader_of(data: dict) -> tuple[GraphReader, CharVocabulary, Calibrator]:
    """What reading needs from a bundle: its members' graphs, ready to run, vocabulary and calibrator."""
    return GraphReader(list(data["graphs"])), CharVocabulary(data["vocabulary"]), Calibrator(data["calibrator"])


"""Answers: the learned extractive reader that cuts the answer span out of retrieved passages.

Layers, lowest first: ``vocabulary`` (characters and tags as named data),
``encoding`` (question and passages to named per-character features),
``network`` (the reader network, trained in PyTorch; ``export`` writes it as an ONNX graph and
``weights`` keeps its weights in the model file), ``prefixes`` (words before a
number that annotators leave out, counted in the training answers), ``graph`` (the exported
network run by ONNX Runtime when reading; ``runtime`` makes the one-thread
sessions it and the span ranker's trees run in), ``model_file`` (the versioned bundle on disk),
``decoding`` (best span per passage and the most probable spans, in numpy), ``span_features`` and ``ranking`` (the span ranker choosing the
answer among those spans),
``confidence`` (probability that the chosen span is right), and ``predictor``
(``Predictor.predict``: the one call training, evaluation and serving share).
The package depends only on shared types, text utilities and tokenization,
never on the index or retrieval; reading (``predictor`` and what it imports) never imports
PyTorch or the training side (``network``, ``export``, ``weights``): import contracts in
pyproject.toml keep both so.
"""

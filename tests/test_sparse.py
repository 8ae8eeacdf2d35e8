"""The sparse half of the index (qa.sparse) on small hand-made inputs, against bm25s's own scores."""

from __future__ import annotations

import bm25s
import numpy as np

from qa.sparse import SparseIndex, top_positive

DOCUMENTS = [
    ["徐州", "缓缴", "社保", "亿元"],
    ["株洲", "签约", "项目", "亿元"],
    ["徐州", "营商", "环境"],
    ["天气", "晴朗"],
    ["徐州", "徐州", "社保", "政策"],
]


def test_top_positive_keeps_the_k_best_positive_scores_best_first():
    ids = np.array([10, 11, 12, 13, 14, 15], dtype=np.int64)
    scores = np.array([0.5, 0.0, 2.0, 1.0, 0.0, 2.0], dtype=np.float32)
    best, which = top_positive(scores, ids, 3)
    assert which.tolist() == [12, 15, 13] and best.tolist() == [2.0, 2.0, 1.0], "ties keep their order"
    assert top_positive(scores, ids, 10)[1].tolist() == [12, 15, 13, 10], "never a chunk scoring 0"
    assert len(top_positive(np.zeros(6, np.float32), ids, 3)[1]) == 0
    assert len(top_positive(scores, ids, 0)[1]) == 0


def test_search_ranks_as_bm25s_and_weights_scale_each_token():
    index = SparseIndex.build(DOCUMENTS, np.arange(100, 105))
    reference = bm25s.BM25(k1=1.2, b=0.75)  # the parameters SparseIndex.build uses
    reference.index(DOCUMENTS, show_progress=False)
    query = ["徐州", "社保"]
    expected = reference.get_scores(query)
    scores, ids = index.search(query, 5)
    order = [i for i in np.argsort(-expected, kind="stable") if expected[i] > 0]
    assert ids.tolist() == [100 + i for i in order]
    assert np.allclose(scores, expected[order])
    assert index.document_frequency("徐州") == 3 and index.document_frequency("没有") == 0
    doubled = index.scores(query, {"徐州": 2.0, "社保": 1.0})
    assert np.allclose(doubled, 2 * reference.get_scores(["徐州"]) + reference.get_scores(["社保"]), atol=1e-6)


def test_a_segment_without_a_single_token_indexes_and_matches_nothing(tmp_path):
    index = SparseIndex.build([[], []], np.array([7, 8]))  # bm25s alone fails on such a corpus
    scores, ids = index.search(["徐州"], 5)
    assert len(ids) == 0 and index.document_frequency("徐州") == 0
    index.save(tmp_path)
    assert len(SparseIndex.load(tmp_path).search(["徐州"], 5)[1]) == 0

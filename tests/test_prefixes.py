"""Words before a number that annotators leave out (qa.answer.prefixes), on hand-made answers (the
predictor's use of them: tests/test_predictor.py)."""

from __future__ import annotations

from qa.answer.prefixes import left_out_prefixes, prefix_counts, trim


def test_counts_say_how_often_a_prefix_before_a_number_is_kept_and_left_out():
    context = "全市推广至343家，覆盖约20个县，造成2人受伤"
    answers = [
        (context, context.index("343"), context.index("家") + 1),  # 至 left out
        (context, context.index("约"), context.index("个") + 1),  # 约 kept
        (context, context.index("造成"), len(context)),  # 造成 kept (and 成 with it)
    ]
    counts = prefix_counts(answers)
    assert counts["至"] == (0, 1)
    assert counts["广至"] == (0, 1)
    assert counts["约"] == (1, 0)
    assert counts["造成"] == (1, 0)


def test_only_prefixes_seen_often_enough_and_mostly_left_out_are_listed_longest_first():
    counts = {"至": (0, 30), "达": (2, 18), "约": (21, 35), "于是": (0, 12), "偶": (0, 3), "　": (0, 50)}
    assert left_out_prefixes(counts, min_seen=10, max_kept_share=0.2) == ["于是", "至", "达"]
    assert left_out_prefixes(counts, min_seen=10, max_kept_share=0.5) == ["于是", "约", "至", "达"]


def test_trim_starts_after_a_listed_prefix_only_when_a_number_follows():
    text = "推广至343家，至今未变，达二十个"
    assert trim(text, text.index("至343"), text.index("，"), ["至", "达"]) == text.index("343")
    assert trim(text, text.index("至今"), text.index("未"), ["至", "达"]) == text.index("至今")
    assert trim(text, text.index("达"), len(text), ["至", "达"]) == text.index("二十")
    assert trim(text, text.index("至343"), text.index("至343") + 1, ["至"]) == text.index("至343")  # nothing left
    assert trim(text, text.index("达"), len(text), []) == text.index("达")

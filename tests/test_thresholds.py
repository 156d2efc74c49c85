"""Decision thresholds chosen on held-out scores, checked against answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from netralitas.training.thresholds import FALLBACK_RULE, choose_thresholds

# Sorted by score, the cumulative precision of "score >= t" is not monotone:
#   t        0.9  0.8  0.7   0.6   0.5  0.4
#   positive  1    1    0     1     0    0
#   precision 1/1  2/2  2/3   3/4   3/5  3/6
#   recall    1/3  2/3  2/3   3/3   3/3  3/3
SCORES = np.array([0.5, 0.9, 0.4, 0.7, 0.8, 0.6])  # deliberately unsorted
POSITIVE = np.array([False, True, False, False, True, True])


def _precision_recall(scores, positive, t):
    flagged = scores >= t
    return positive[flagged].mean(), positive[flagged].sum() / positive.sum()


@pytest.mark.parametrize(
    ("target", "flag"),
    [
        (0.90, 0.8),  # 0.8 is the lowest cut with precision 1.0
        (0.75, 0.6),  # 0.6 (precision 3/4) is lower than 0.8, though 0.7 in between misses
        (0.70, 0.6),
        (0.60, 0.5),  # precision 3/5
        (0.50, 0.4),  # everything
    ],
)
def test_flag_is_the_lowest_threshold_reaching_the_precision_target(target, flag):
    thresholds = choose_thresholds(
        SCORES, POSITIVE, precision_target=target, review_recall=0.95, min_flagged=1
    )
    assert thresholds.flag == flag
    assert thresholds.precision_target == target
    assert thresholds.precision_target_met is True and thresholds.fallback is None
    assert _precision_recall(SCORES, POSITIVE, thresholds.flag)[0] >= target


def test_a_cut_that_flags_too_few_posts_cannot_meet_the_target():
    # 0.9 and 0.8 have precision 1 but flag one and two posts; with three needed, 0.6 (3/4) is
    # the most precise cut left, below a 0.9 target: the fallback rule decides.
    thresholds = choose_thresholds(SCORES, POSITIVE, 0.9, 0.95, min_flagged=3)
    assert thresholds.precision_target_met is False
    assert choose_thresholds(SCORES, POSITIVE, 0.75, 0.95, min_flagged=3).flag == 0.6


def test_unreachable_precision_falls_back_to_the_best_f05_cut():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    positive = np.array([False, True, False, True])  # precisions 0, 1/2, 1/3, 2/4
    thresholds = choose_thresholds(scores, positive, precision_target=0.9, review_recall=0.95)
    assert thresholds.precision_target_met is False and thresholds.fallback == FALLBACK_RULE
    # F0.5 = 1.25 P R / (0.25 P + R): 0.9 -> 0, 0.8 -> 0.500, 0.7 -> 0.385, 0.6 -> 0.556.
    assert thresholds.flag == 0.6


@pytest.mark.parametrize(("recall", "review"), [(0.95, 0.6), (1.0, 0.6), (0.6, 0.7), (0.3, 0.7)])
def test_review_reaches_the_recall_and_the_band_is_never_empty(recall, review):
    thresholds = choose_thresholds(
        SCORES, POSITIVE, precision_target=0.9, review_recall=recall, min_flagged=1
    )
    assert thresholds.flag == 0.8
    # The lower of: the highest cut whose recall reaches the target, and the cut that puts at
    # least 5% of the posts (here one) into the band below flag (0.7). Recall 0.6 is reached at
    # 0.8 already: the old rule left the band empty there.
    assert thresholds.review == review
    assert thresholds.review < thresholds.flag
    assert _precision_recall(SCORES, POSITIVE, thresholds.review)[1] >= recall
    assert thresholds.review_share == pytest.approx(np.mean((review <= SCORES) & (SCORES < 0.8)))


def test_the_review_band_holds_the_configured_share():
    rng = np.random.default_rng(3)
    positive = rng.random(1000) < 0.3
    scores = np.clip(0.5 * positive + rng.random(1000) * 0.5, 0, 1)
    for share in (0.05, 0.2):
        t = choose_thresholds(scores, positive, 0.9, review_recall=0.5, review_min_share=share)
        assert t.review < t.flag
        assert t.review_share >= share
        assert t.review_share == pytest.approx(np.mean((scores >= t.review) & (scores < t.flag)))


def test_review_and_flag_on_random_scores():
    rng = np.random.default_rng(0)
    positive = rng.random(300) < 0.3
    scores = np.clip(0.35 * positive + rng.random(300) * 0.65, 0, 1)
    for target, recall in [(0.9, 0.95), (0.8, 0.5), (0.99, 0.99)]:
        t = choose_thresholds(scores, positive, target, recall)
        assert t.review <= t.flag
        assert _precision_recall(scores, positive, t.review)[1] >= recall
        if t.precision_target_met:
            assert _precision_recall(scores, positive, t.flag)[0] >= target
            # No lower observed score reaches the target.
            lower = np.unique(scores[scores < t.flag])
            assert all(_precision_recall(scores, positive, s)[0] < target for s in lower)


def test_tied_scores_are_cut_together():
    # Cutting "between" the two rows scored 0.8 is impossible: ">= 0.8" flags both (precision 2/3).
    scores = np.array([0.9, 0.8, 0.8, 0.1])
    positive = np.array([True, True, False, False])
    thresholds = choose_thresholds(
        scores, positive, precision_target=0.9, review_recall=0.95, min_flagged=1
    )
    assert thresholds.flag == 0.9
    # Recall 2/2 is reached only once the whole 0.8 tie is included.
    assert thresholds.review == 0.8
    assert choose_thresholds(scores, positive, 0.6, 0.95).flag == 0.8


def test_all_scores_tied():
    # Every post reaches the only cut: no score lies below flag, so the band spans half of it.
    scores = np.full(4, 0.5)
    positive = np.array([True, False, True, False])
    thresholds = choose_thresholds(scores, positive, precision_target=0.9, review_recall=0.95)
    assert (thresholds.flag, thresholds.review, thresholds.precision_target_met) == (
        0.5,
        0.25,
        False,
    )


def test_accepts_lists():
    thresholds = choose_thresholds([0.9, 0.2], [1, 0], precision_target=0.9, review_recall=0.9)
    assert (thresholds.flag, thresholds.review) == (0.9, 0.2)


@pytest.mark.parametrize(
    ("scores", "positive", "match"),
    [
        ([0.1, 0.2], [True], "equal-length 1-d"),
        ([], [], "equal-length 1-d"),
        ([[0.1, 0.2]], [[True, False]], "equal-length 1-d"),
        ([0.1, 0.2], [False, False], "no positive"),
    ],
)
def test_input_errors(scores, positive, match):
    with pytest.raises(ValueError, match=match):
        choose_thresholds(
            np.array(scores), np.array(positive), precision_target=0.9, review_recall=0.95
        )


def test_thresholds_record_what_they_rest_on_with_intervals():
    t = choose_thresholds(
        SCORES, POSITIVE, precision_target=0.75, review_recall=0.95, fitted_on="six posts"
    )
    assert t.fitted_on == "six posts"
    assert (t.flag, t.n, t.positives) == (0.6, 6, 3)
    assert t.precision == pytest.approx(3 / 4) and t.recall == pytest.approx(1.0)
    for value, (low, high) in ((t.precision, t.precision_ci95), (t.recall, t.recall_ci95)):
        assert 0.0 <= low <= value <= high <= 1.0
    assert t.precision_ci95[1] - t.precision_ci95[0] > 0.2  # six posts: a wide interval


def test_more_posts_narrow_the_precision_interval():
    rng = np.random.default_rng(1)

    def width(n: int) -> float:
        positive = rng.random(n) < 0.5
        scores = np.clip(positive * 0.4 + rng.random(n) * 0.6, 0, 1)
        t = choose_thresholds(scores, positive, precision_target=0.9, review_recall=0.95)
        low, high = t.precision_ci95
        return high - low

    assert width(4000) < width(100) / 3


def test_a_flag_that_flags_nothing_has_no_precision():
    from netralitas.training.thresholds import threshold_uncertainty

    figures = threshold_uncertainty(np.array([0.2, 0.4]), np.array([True, False]), flag=0.9)
    assert figures["precision"] is None and figures["precision_ci95"] is None
    assert figures["recall"] == 0.0 and figures["recall_ci95"] == (0.0, 0.0)

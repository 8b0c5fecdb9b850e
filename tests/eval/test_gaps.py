"""Gap fractions: the way from the floor to the target, and metrics that cannot tell them apart."""

from __future__ import annotations

import math

import pytest

from gan3dlib.eval.synthetic_eval import GAP_MIN_SPAN, gap_closed, gaps


def test_gap_closed_in_both_directions():
    assert gap_closed(0.3, floor=0.5, target=0.1) == pytest.approx(0.5)  # lower is better
    assert gap_closed(0.6, floor=0.2, target=1.0) == pytest.approx(0.5)  # higher is better
    assert math.isnan(gap_closed(0.3, floor=0.2, target=0.2))


def test_a_metric_whose_floor_scores_like_the_target_leaves_the_mean():
    floor = {"depth_error": 0.5, "front_relief": 0.006}
    score = {"depth_error": 0.3, "front_relief": 0.03}
    near = {"depth_error": 0.1, "front_relief": 0.006 + GAP_MIN_SPAN["front_relief"] / 2}  # a car: no relief
    fractions, mean = gaps(score, floor, near, ("depth_error", "front_relief"))
    assert math.isnan(fractions["front_relief"]) and mean == pytest.approx(0.5)
    far = {"depth_error": 0.1, "front_relief": 0.186}  # a face: relief to learn
    fractions, mean = gaps(score, floor, far, ("depth_error", "front_relief"))
    assert fractions["front_relief"] == pytest.approx(0.024 / 0.18) and mean == pytest.approx((0.5 + 0.024 / 0.18) / 2)

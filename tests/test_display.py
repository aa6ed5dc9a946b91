"""How results read (issue 27, item 4): one-line repr, rounding that the interval
supports, printed intervals that contain their estimate, folded warnings."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infocli
from infocli._display import (ceil_text, figures, floor_text, fold_warnings, params_text,
                              verdict_text)
from infocli.result import Estimate


def _est(value, stderr=None, interval=None, **kw):
    base = dict(measure="mutual_information", estimator="ksg", value=value, unit="nats",
                stderr=stderr, n_samples=500, dims={"x": 1, "y": 1}, params={"k": 3, "seed": 0},
                device="cpu", seconds=0.1, version="0", interval=interval)
    base.update(kw)
    return Estimate(**base)


def _bounds(text):
    """(lo, hi) of a printed interval text."""
    if text.startswith("["):
        lo, hi = text.strip("[]").split(", ")
        return float(lo), float(hi)
    if text.startswith("at least"):
        return float(text.split()[-1]), math.inf
    return -math.inf, float(text.split()[-1])


def test_repr_is_one_short_line_with_the_figures():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 1))
    est = infocli.mutual_information(x, x + rng.normal(size=(300, 1)))
    text = repr(est)
    assert "\n" not in text and len(text) <= 160, text
    assert text.startswith("Estimate(I(X;Y) = ") and "nats" in text and "95% [" in text
    assert str(est) in text
    assert "reliable" in text.lower() and "auto" in text
    html = est._repr_html_()
    assert html.startswith("<div><table>") and "95% interval" in html and len(html) < 3000


@pytest.mark.parametrize("value, stderr, interval", [
    (0.3205, 0.052, (0.1185, 0.5966)),            # ordinary
    (-0.00004, 0.00012, (0.0, 0.0005)),           # CMI clipped at 0 below a negative estimate
    (-1.2345, 0.05, (-1.33, -1.14)),              # negative value and interval
    (0.5, 0.02, (0.4, None)),                     # one-sided: at least
    (0.5, 0.02, (None, 0.6)),                     # one-sided: at most
    (0.25, None, (0.25, 0.25)),                   # zero width, no stderr
    (0.25, 0.0, (0.2, 0.3)),                      # zero stderr
    (2.0, 0.013, (1.9949, 2.0049)),               # interval ends on a rounding boundary
    (123.456, 7.8, (100.0, 150.0)),
])
def test_printed_interval_contains_printed_estimate(value, stderr, interval):
    f = figures(value, stderr, interval)
    lo, hi = _bounds(f["interval"])
    v = float(f["value"])
    assert lo <= v <= hi, f
    # the printed interval contains the true one (rounded outwards)
    if interval[0] is not None:
        assert lo <= min(interval[0], value)
    if interval[1] is not None:
        assert hi >= max(interval[1], value)
    # and is not over-rounded: the ends move by less than one printed step
    step = 10.0 ** -f["decimals"]
    if interval[0] is not None:
        assert min(interval[0], value) - lo < step + 1e-12
    if interval[1] is not None:
        assert hi - max(interval[1], value) < step + 1e-12


def test_rounding_follows_the_error_scale():
    f = figures(0.32051, 0.05193, (0.11847, 0.59660))
    assert (f["value"], f["stderr"], f["interval"]) == ("0.321", "0.052", "[0.118, 0.597]")
    f = figures(1.84588, 0.0260924)
    assert (f["value"], f["stderr"]) == ("1.846", "0.026")
    assert figures(-0.00004, 0.00012, (0.0, 0.0005))["interval"] == "[-0.00004, 0.00050]"
    assert floor_text(-0.00004, 4) == "-0.0001" and ceil_text(0.00041, 4) == "0.0005"


def test_verdict_says_when_a_warning_qualifies_it():
    assert verdict_text(True, [], 0) == "reliable"
    assert verdict_text(True, [], 1) == "reliable, but see the warning below"
    assert verdict_text(True, [], 3) == "reliable, but see the 3 warnings below"
    assert verdict_text(False, ["bias"], 1) == "UNRELIABLE (bias)"
    assert verdict_text(None, [], 2) is None


def test_auto_shows_the_parameters_of_the_candidate_that_ran():
    details = {"auto": {"chosen": "gaussian+copula"}}
    text = params_text("auto", {"k": 1, "ties": "jitter", "seed": 0}, details)
    assert text.startswith("ties=jitter, seed=0") and "not chosen: k=1" in text
    assert params_text("auto", {"k": 1, "seed": 0}, {"auto": {"chosen": "ksg(k=1)+copula"}}) \
        == "k=1, seed=0"


def test_repeated_tie_warnings_fold_into_one_line():
    warnings = [f"x: column 'p{j}' has {10 + j} repeated values (of 1797); added seeded "
                f"uniform jitter of width {0.5 + j:.3g} (the smallest gap between its distinct "
                "values, in the column's units) to make it continuous" for j in range(30)]
    folded = fold_warnings(warnings + ["something else"])
    assert len(folded) == 2 and folded[1] == "something else"
    assert folded[0].startswith("x: ties in 30 columns: 'p0', 'p1'")
    assert "(22 more)" in folded[0] and "10-39 repeated values" in folded[0]
    assert fold_warnings(warnings[:2]) == warnings[:2]  # two are kept as they are

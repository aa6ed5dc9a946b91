"""auto's Student-t copula candidate (infocli.estimators._tcopula): closed form, fit,
gate, invariance. Seeded and small."""

from __future__ import annotations

import numpy as np
import pytest

import infocli
from infocli import tasks, transforms
from infocli.estimators import _tcopula
from infocli.tasks import _closed


def _corr(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(d, d)) * 0.5
    s = a @ a.T + np.eye(d)
    sd = np.sqrt(np.diag(s))
    return s / np.outer(sd, sd)


def _t_sample(n: int, sigma: np.ndarray, nu: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(sigma))) @ np.linalg.cholesky(sigma).T
    return z / np.sqrt(rng.chisquare(nu, n) / nu)[:, None]


@pytest.mark.parametrize("dx,dy,nu", [(1, 1, 1.0), (2, 2, 1.0), (3, 3, 2.0), (5, 5, 3.0),
                                      (2, 3, 7.5)])
def test_closed_form_equals_the_task_truths(dx, dy, nu):
    for sigma in (np.eye(dx + dy), _corr(dx + dy, 1)):
        assert _tcopula.mi(sigma, dx, nu) == pytest.approx(
            _closed.student_mi(sigma, dx, nu), abs=1e-9)
    assert _tcopula.mi(np.eye(dx + dy), dx, nu) == pytest.approx(
        tasks.get(f"student-identity-{dx}-{dy}-{int(nu)}").truth, abs=1e-6) \
        if f"student-identity-{dx}-{dy}-{int(nu)}" in {t.name for t in tasks.all_tasks()} \
        else True


def test_closed_form_against_monte_carlo():
    from scipy.stats import multivariate_t

    sigma, dx, nu = _corr(4, 2), 2, 4.0
    t = _t_sample(200_000, sigma, nu, 0)
    joint = multivariate_t(np.zeros(4), sigma, df=nu).logpdf(t)
    mx = multivariate_t(np.zeros(2), sigma[:2, :2], df=nu).logpdf(t[:, :2])
    my = multivariate_t(np.zeros(2), sigma[2:, 2:], df=nu).logpdf(t[:, 2:])
    terms = joint - mx - my
    se = terms.std() / np.sqrt(len(terms))
    assert abs(terms.mean() - _tcopula.mi(sigma, dx, nu)) < 4 * se
    assert _tcopula.scale_term(2, 2, np.inf) == 0.0
    assert _tcopula.scale_term(2, 2, 1e6) == pytest.approx(0.0, abs=1e-5)


def test_fit_recovers_nu_and_the_value():
    sigma, nu = _corr(5, 3), 3.0
    t = _t_sample(4000, sigma, nu, 1)
    x, y = transforms.normal_scores(t[:, :2]), transforms.normal_scores(t[:, 2:])
    fit = _tcopula.fit(x, y, seed=0)
    truth = _closed.student_mi(sigma, 2, nu)
    assert fit["nu"] == pytest.approx(nu, abs=0.5)
    assert abs(fit["value"] - truth) < 3 * fit["stderr"] + 0.01
    assert 0.003 < fit["stderr"] < 0.03
    assert fit["usable"] and fit["lr"] > 100 and abs(fit["gof_z"]) < 3


def test_auto_takes_the_t_copula_on_a_student_law_and_margins_do_not_matter():
    task = tasks.get("student-identity-3-3-2")
    d = task.sample(2000, 0)
    r = infocli.mutual_information(d["x"], d["y"], seed=0, check="off")
    auto = r.details["auto"]
    assert auto["chosen"] == "t+copula"
    assert auto["tcopula"]["used"] and auto["tcopula"]["gate_z"] > _tcopula.GATE_Z
    assert auto["tcopula"]["nu"] == pytest.approx(2.0, abs=0.4)
    assert r.value == pytest.approx(task.truth, rel=0.1)  # KSG reads ~0.2 here
    # increasing maps of the columns change nothing (the fit sees ranks only)
    r2 = infocli.mutual_information(np.sinh(d["x"]) ** 3, np.exp(d["y"]), seed=0,
                                    check="off")
    assert r2.value == pytest.approx(r.value, abs=1e-12)


@pytest.mark.parametrize("law", ["gaussian", "independent-t-blocks", "independent"])
def test_the_gate_stays_shut_without_shared_tails(law):
    rng = np.random.default_rng(5)
    n = 2000
    if law == "gaussian":
        t = rng.standard_normal((n, 6)) @ np.linalg.cholesky(_corr(6, 4)).T
        x, y = t[:, :3], np.exp(t[:, 3:])
    elif law == "independent-t-blocks":  # heavy tails within each side, none shared
        x, y = (_t_sample(n, np.eye(3), 2.0, s) for s in (6, 7))
    else:
        x, y = rng.uniform(size=(n, 3)), rng.standard_cauchy((n, 2))
    gate = _tcopula.tail_gate(transforms.normal_scores(x), transforms.normal_scores(y))
    assert gate["z"] < _tcopula.GATE_Z
    r = infocli.mutual_information(x, y, seed=0, check="off")
    assert r.details["auto"]["chosen"] != "t+copula"
    assert r.details["auto"].get("tcopula", {}).get("used") is False
    if law != "gaussian":
        assert abs(r.value) < 0.01


def test_a_scale_mixture_that_is_not_a_t_is_not_taken_for_one():
    # two scales (0.5 and 2, equal weights): elliptical and heavy-tailed, not a t
    rng = np.random.default_rng(8)
    n = 5000
    z = rng.standard_normal((n, 6)) @ np.linalg.cholesky(_corr(6, 4)).T
    z *= rng.choice([0.5, 2.0], size=n)[:, None]
    r = infocli.mutual_information(z[:, :3], z[:, 3:], seed=0, check="off")
    tc = r.details["auto"]["tcopula"]
    assert tc["gate_z"] > _tcopula.GATE_Z  # the tails are shared ...
    assert abs(tc["gof_z"]) > _tcopula.GOF_Z and not tc["used"]  # ... but not as a t's
    assert r.details["auto"]["chosen"] != "t+copula"

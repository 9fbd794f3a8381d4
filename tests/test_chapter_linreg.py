"""The chapter's linear regression: three training loops agree with each other, the closed
form is what we say it is, and the gap between them is the one the docstring predicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chapter import linreg

F32_RTOL = float(np.finfo(np.float32).eps)  # three float32 SGD runs of 2000 steps, same
# start and batch order: measured bit for bit equal; one float32 ulp allowed
CLOSED_FORM_ATOL = 5e-7  # closed form vs the rounded figures w = 2.706908, b = 4.97
# (measured 4.6e-7: the printed w is rounded to 6 decimals)
FULL_BATCH_RTOL = 1e-6  # float32 full-batch gradient descent vs float64 least squares;
# measured 2.4e-7
STANDARDISE_ATOL = 2e-7  # float32 standardised x vs (x - 4.5) / sqrt(8.25); measured 5.7e-8
PREDICTION_ATOL = 1e-3  # first-order contraction (1 - 2 lr)^T vs the SGD end point
BOOK_ATOL = 1e-3  # the book's printed hand-written result vs its code rerun here


@pytest.fixture(scope="module")
def fits():
    return linreg.fit_all()


def test_standardise_uses_population_std():
    """x = 0..9: mean 4.5, population variance (ddof=0) 8.25; the sample std (ddof=1,
    variance 9.17) would be 5 % off."""
    x = linreg.standardise(linreg.X_RAW)
    np.testing.assert_allclose(x, (np.arange(10.0).reshape(10, 1) - 4.5) / np.sqrt(8.25),
                               rtol=0, atol=STANDARDISE_ATOL, err_msg="standardised x")
    np.testing.assert_allclose(linreg.training_data()[0], x, rtol=0, atol=STANDARDISE_ATOL)


def test_closed_form_matches_polyfit_and_stated_values():
    x, y = linreg.training_data()
    w, b = linreg.closed_form(x, y)
    np.testing.assert_allclose([w, b], np.polyfit(x[:, 0].astype(np.float64), y, 1),
                               rtol=1e-12, err_msg="lstsq vs polyfit")
    np.testing.assert_allclose([w, b], [2.706908, 4.97], atol=CLOSED_FORM_ATOL,
                               err_msg="closed form (w, b)")


@pytest.mark.parametrize("method", [m for m in linreg.METHODS if m != "NumPy, hand-written SGD"])
def test_three_methods_end_with_the_same_weights(fits, method):
    np.testing.assert_allclose(fits[method], fits["NumPy, hand-written SGD"], rtol=F32_RTOL,
                               err_msg=f"{method} vs NumPy hand-written SGD")


@pytest.mark.parametrize("method", list(linreg.METHODS))
def test_sgd_end_point_is_the_predicted_contraction(fits, method):
    x, y = linreg.training_data()
    predicted = linreg.predicted_sgd_end(linreg.initial_weight(), 0.0, x, y)
    np.testing.assert_allclose(fits[method], predicted, atol=PREDICTION_ATOL,
                               err_msg=f"{method} vs (1 - 2 lr)^2000 prediction")
    w_star = fits["closed form"][0]
    assert abs(fits[method][0] - w_star) > 10 * PREDICTION_ATOL, "200 epochs do not converge"


def test_full_batch_descent_reaches_the_closed_form():
    """The hand-written gradient is right: full-batch descent converges to least squares."""
    w, b = linreg.fit_numpy(linreg.initial_weight(), 0.0, batch_size=10, lr=0.1, epochs=300,
                            shuffle=False)
    np.testing.assert_allclose([w, b], linreg.closed_form(*linreg.training_data()),
                               rtol=FULL_BATCH_RTOL, err_msg="full-batch GD (w, b)")


def test_initial_weight_is_the_books_draw():
    torch.manual_seed(linreg.SEED)
    assert linreg.initial_weight() == torch.randn(1).item()


def test_replay_of_the_books_code_lands_on_its_printed_numbers():
    before = torch.random.get_rng_state()
    replay = linreg.replay_book()
    assert torch.equal(torch.random.get_rng_state(), before), "global RNG state changed"
    np.testing.assert_allclose(replay["hand-written SGD (book's code, rerun)"],
                               linreg.BOOK["hand-written SGD (book, printed)"], atol=BOOK_ATOL,
                               err_msg="book's hand-written loop, rerun vs printed")

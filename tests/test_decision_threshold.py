"""The decision threshold: tuned on the training rows alone, applied by predict, and by every
label the pipeline computes from probabilities."""

import functools

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from mlops.config import ErrorCosts, ThresholdTuning, load_config
from mlops.data import load_dataset
from mlops.decision_threshold import (
    decision_threshold,
    fit_with_threshold,
    negative_expected_cost,
)
from mlops.scoring import predicted_labels
from mlops.splits import holdout_split
from mlops.steps.train import fit_model
from tests.conftest import CLASSIFICATION, TIME_ORDERED, make_project

CV = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def noisy_table(labels: tuple, seed: int = 0, rows: int = 600) -> tuple[pd.DataFrame, pd.Series]:
    """One informative number, one column of noise, and a target that takes `labels` (the
    second one positive, a third of the rows), as awkward as targets come: strings, integers
    where the positive class is 0, booleans."""
    random = np.random.default_rng(seed)
    signal = random.normal(size=rows)
    positive = signal + random.normal(scale=1.5, size=rows) > 0.7
    x = pd.DataFrame({"signal": signal, "noise": random.normal(size=rows)})
    x.index = random.permutation(np.arange(10_000, 10_000 + rows))  # not 0..n-1
    return x, pd.Series(np.where(positive, labels[1], labels[0]), index=x.index)


def costs(false_positive: float, false_negative: float) -> ThresholdTuning:
    return ThresholdTuning(
        costs=ErrorCosts(false_positive=false_positive, false_negative=false_negative)
    )


def test_expected_cost_counts_each_kind_of_error_at_its_price():
    truth = np.array(["bad", "bad", "good", "good", "good"])
    predicted = np.array(["bad", "good", "bad", "bad", "good"])  # one FN, two FP
    score = negative_expected_cost(
        truth, predicted, pos_label="bad", false_positive=1.0, false_negative=10.0
    )
    assert score == pytest.approx(-(2 * 1.0 + 1 * 10.0) / 5)


@pytest.mark.parametrize(
    ("labels", "positive_class"),
    [(("good", "bad"), "bad"), ((1, 0), "0"), ((False, True), "True")],
)
def test_costs_move_the_threshold_their_way_and_predict_applies_it(labels, positive_class):
    x, y = noisy_table(labels)
    thresholds = {}
    for name, setting in {
        "false negatives dear": costs(1, 10),
        "false positives dear": costs(10, 1),
    }.items():
        model = fit_with_threshold(
            Pipeline([("model", LogisticRegression())]), setting, x, y, positive_class, CV
        ).model
        thresholds[name] = decision_threshold(model)
        probabilities = model.predict_proba(x)
        positive = model.classes_[[str(c) for c in model.classes_].index(positive_class)]
        labels = model.predict(x).astype(str)
        assert np.array_equal(labels, predicted_labels(model, probabilities))
        expected = probabilities[:, list(model.classes_).index(positive)] >= thresholds[name]
        assert np.array_equal(model.predict(x) == positive, expected)
    # Missing a positive costs more: call positive sooner. A false alarm costs more: later.
    assert thresholds["false negatives dear"] < 0.5 < thresholds["false positives dear"]


@pytest.mark.parametrize(
    ("labels", "positive_class"),
    [(("good", "bad"), "bad"), (("bad", "good"), "good"), ((1, 0), "0")],
)
def test_a_metric_blind_to_which_class_is_positive_is_tuned_on_the_positive_class(
    labels, positive_class
):
    # A third of the rows are positive: balanced accuracy is best near that share, so the
    # cut-off on the positive class's probability falls below 0.5, whichever class sorts first.
    x, y = noisy_table(labels)
    tuned = fit_with_threshold(
        Pipeline([("model", LogisticRegression())]),
        ThresholdTuning(maximize="balanced_accuracy"),
        x,
        y,
        positive_class,
        CV,
    )
    assert tuned.threshold < 0.5
    assert str(tuned.model.pos_label) == positive_class


def test_a_fixed_threshold_is_applied_as_it_is_and_none_keeps_the_estimators_predict():
    x, y = noisy_table(("no", "yes"))
    fixed = fit_with_threshold(Pipeline([("m", LogisticRegression())]), 0.2, x, y, "yes", CV)
    assert fixed.threshold == decision_threshold(fixed.model) == 0.2
    assert (fixed.model.predict(x) == "yes").mean() > (y == "yes").mean()
    plain = fit_with_threshold(Pipeline([("m", LogisticRegression())]), None, x, y, "yes", CV)
    assert plain.threshold is None and decision_threshold(plain.model) is None
    probabilities = plain.model.predict_proba(x)
    assert np.array_equal(plain.model.predict(x), predicted_labels(plain.model, probabilities))


@pytest.fixture
def project_config(tmp_path):
    def configured(setting, edit_data=None, fixture=CLASSIFICATION, split=None):
        project = make_project(tmp_path, fixture)
        raw = project.config()
        raw["model"]["decision_threshold"] = setting
        raw["split"].update(split or {})
        project.write_config(raw)
        if edit_data:
            frame = pd.read_csv(project.data_path)
            edit_data(frame, raw["data"]["target"]).to_csv(project.data_path, index=False)
        return load_config(project.config_path)

    return configured


def every_row_in_a_state(frame: pd.DataFrame, _target: str) -> pd.DataFrame:
    return frame.fillna({"stateabb": "unknown"})


@pytest.mark.parametrize(
    ("fixture", "split", "edit_data"),
    [
        (CLASSIFICATION, None, None),  # random
        (TIME_ORDERED, None, None),  # by date: the held-out rows are the most recent
        (CLASSIFICATION, {"group_column": "stateabb"}, every_row_in_a_state),  # whole states
    ],
)
def test_tuning_fits_and_scores_on_training_rows_only(
    project_config, monkeypatch, fixture, split, edit_data
):
    config = project_config(
        {"costs": {"false_positive": 1, "false_negative": 3}}, edit_data, fixture, split
    )
    held = holdout_split(load_dataset(config.data_path), config)
    seen = {"fit": [], "predict_proba": []}
    for method in seen:
        original = getattr(Pipeline, method)

        @functools.wraps(original)  # scikit-learn reads the method's name
        def spy(self, x, *args, _original=original, _rows=seen[method], **kwargs):
            _rows.append(set(x.index))
            return _original(self, x, *args, **kwargs)

        monkeypatch.setattr(Pipeline, method, spy)
    fitted = fit_model(config, held)
    assert 0 < fitted.threshold < 1
    # Inner folds fitted and scored (the split's rule may drop a fold), and one refit.
    assert len(seen["fit"]) >= 3 and len(seen["predict_proba"]) >= 2
    training, held_out = set(held.x_train.index), set(held.x_test.index)
    for rows in seen["fit"] + seen["predict_proba"]:
        assert rows <= training and not rows & held_out
    assert training in seen["fit"]  # the refit

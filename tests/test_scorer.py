"""The real-time scorer's tree walk gives predict_proba's probability for one row."""

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from mlorg.pipeline.scorer import TreeScorer


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(7)
    features = rng.normal(size=(20_000, 6))
    features[rng.random(features.shape) < 0.1] = np.nan  # missing values take each split's learned side
    signal = np.nan_to_num(features[:, 0]) + np.nan_to_num(features[:, 1]) ** 2 + np.isnan(features[:, 2])
    labels = (signal > 2.0) | (rng.random(20_000) < 0.02)
    model = HistGradientBoostingClassifier(l2_regularization=1.0, random_state=0).fit(features, labels)
    return model, features


def test_walking_the_trees_gives_predict_probas_probability(fitted):
    model, features = fitted
    rows = features[:3000]
    expected = model.predict_proba(rows)[:, 1]
    scorer = TreeScorer(model)
    walked = np.array([scorer.probability(row) for row in rows.tolist()])
    np.testing.assert_allclose(walked, expected, rtol=0, atol=1e-15)
    assert np.isnan(rows).any(axis=1).sum() > 1000  # the missing-value branches were exercised


def test_only_a_fitted_binary_numeric_model_is_accepted(fitted):
    with pytest.raises(ValueError, match="fitted"):
        TreeScorer(HistGradientBoostingClassifier())
    rng = np.random.default_rng(0)
    three = HistGradientBoostingClassifier(max_iter=5).fit(rng.normal(size=(300, 2)), rng.integers(0, 3, 300))
    with pytest.raises(ValueError, match="binary"):
        TreeScorer(three)
    categories = rng.integers(0, 4, (500, 1)).astype(float)
    categorical = HistGradientBoostingClassifier(max_iter=5, categorical_features=[0]).fit(
        categories, categories[:, 0] == 2)
    with pytest.raises(ValueError, match="categorical"):
        TreeScorer(categorical)

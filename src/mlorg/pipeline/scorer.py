"""The real-time scorer's model call: a fitted gradient-boosted model walked tree by tree for one transaction.

``predict_proba`` on a single row spends about 2 ms in input checks and a per-tree loop built for large batches;
the same trees walked in plain Python for one row take a fraction of that and give the same probability (the same
splits, leaf values and sum, in the same order). Only numeric splits are supported: the pipeline's features are all
numeric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sklearn.ensemble import HistGradientBoostingClassifier


class TreeScorer:
    """Fraud probability of one transaction's features from a fitted binary ``HistGradientBoostingClassifier``."""

    def __init__(self, model: HistGradientBoostingClassifier):
        if not hasattr(model, "_predictors"):
            raise ValueError("the model must be fitted")
        if model.n_trees_per_iteration_ != 1:
            raise ValueError("only a binary classifier can be walked (one tree per iteration)")
        self.baseline = float(model._baseline_prediction.ravel()[0])
        self.trees = []
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not supported")
            self.trees.append((nodes["feature_idx"].tolist(), nodes["num_threshold"].tolist(),
                               nodes["missing_go_to_left"].astype(bool).tolist(), nodes["left"].tolist(),
                               nodes["right"].tolist(), nodes["is_leaf"].astype(bool).tolist(),
                               nodes["value"].tolist()))

    def probability(self, features: Sequence[float]) -> float:
        """P(fraud) for one row of features in the model's column order (NaN for missing)."""
        raw = self.baseline
        for feature, threshold, missing_left, left, right, is_leaf, value in self.trees:
            node = 0
            while not is_leaf[node]:
                x = features[feature[node]]
                if x != x:  # NaN: the side the training's missing values went to
                    node = left[node] if missing_left[node] else right[node]
                elif x <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            raw += value[node]
        return 1.0 / (1.0 + math.exp(-raw)) if raw >= 0 else math.exp(raw) / (1.0 + math.exp(raw))

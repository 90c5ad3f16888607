"""The demo's reducer and metrics, in plain numpy: PCA by SVD and embedding quality scores.

Small and exact rather than fast: pairwise distances are computed in full,
so these are meant for the demo's few hundred observations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PcaFit:
    """A PCA fit: the embedding and what the SVD says about it."""

    embedding: FloatArray
    components: FloatArray
    singular_values: FloatArray
    explained_variance_ratio: FloatArray
    mean: FloatArray


def pca_svd(x: FloatArray, n_components: int) -> PcaFit:
    """PCA of ``x`` (rows are observations) through ``numpy.linalg.svd`` of the centred data."""
    mean = x.mean(axis=0)
    centred = x - mean
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    # Deterministic signs: the largest loading of each component is positive.
    signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    u, vt = u * signs, vt * signs[:, None]
    ratio = s**2 / np.sum(s**2)
    k = n_components
    return PcaFit(
        embedding=u[:, :k] * s[:k],
        components=vt[:k],
        singular_values=s[:k],
        explained_variance_ratio=ratio[:k],
        mean=mean,
    )


def _distances(x: FloatArray) -> FloatArray:
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    d: FloatArray = np.sqrt(d2)
    np.fill_diagonal(d, np.inf)
    return d


def _ranks(d: FloatArray) -> NDArray[np.int64]:
    """``ranks[i, j]``: 1-based rank of ``j`` among the neighbours of ``i`` (self excluded)."""
    order = np.argsort(d, axis=1, kind="stable")
    ranks = np.empty_like(order)
    n = d.shape[0]
    ranks[np.arange(n)[:, None], order] = np.arange(1, n + 1)[None, :]
    return ranks


def _rank_penalty(ranks_ref: NDArray[np.int64], neighbours: NDArray[np.int64], k: int) -> float:
    n = ranks_ref.shape[0]
    penalty = 0.0
    for i in range(n):
        r = ranks_ref[i, neighbours[i]]
        penalty += float(np.sum(np.maximum(r - k, 0)))
    return float(1.0 - 2.0 / (n * k * (2 * n - 3 * k - 1)) * penalty)


def neighbourhood_scores(x: FloatArray, embedding: FloatArray, k: int = 10) -> dict[str, float]:
    """Trustworthiness, continuity and k-NN preservation of ``embedding`` against ``x``."""
    ranks_x, ranks_e = _ranks(_distances(x)), _ranks(_distances(embedding))
    nn_x = np.argsort(ranks_x, axis=1)[:, :k]
    nn_e = np.argsort(ranks_e, axis=1)[:, :k]
    shared = [len(np.intersect1d(a, b)) for a, b in zip(nn_x, nn_e, strict=True)]
    return {
        "trustworthiness": _rank_penalty(ranks_x, nn_e, k),
        "continuity": _rank_penalty(ranks_e, nn_x, k),
        "knn_preservation": float(np.mean(shared) / k),
    }


def fit_metrics(x: FloatArray, fit: PcaFit, k: int = 10) -> dict[str, float]:
    """Every fit metric column for a PCA fit."""
    centred = x - fit.mean
    back = fit.embedding @ fit.components
    return {
        **neighbourhood_scores(x, fit.embedding, k),
        "explained_variance_ratio": float(np.sum(fit.explained_variance_ratio)),
        "reconstruction_error": float(np.mean((centred - back) ** 2)),
    }


def _standardise(train: FloatArray, test: FloatArray) -> tuple[FloatArray, FloatArray]:
    mu, sd = train.mean(axis=0), train.std(axis=0)
    sd[sd == 0] = 1.0
    return (train - mu) / sd, (test - mu) / sd


def _logreg_predict(
    train: FloatArray, y: NDArray[np.int64], test: FloatArray, classes: int
) -> NDArray[np.int64]:
    """Multinomial logistic regression (L2, full-batch gradient descent)."""
    train, test = _standardise(train, test)
    xb = np.hstack([train, np.ones((len(train), 1))])
    w = np.zeros((xb.shape[1], classes))
    onehot = np.eye(classes)[y]
    for _ in range(300):
        logits = xb @ w
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        w -= 0.5 * (xb.T @ (p - onehot) / len(xb) + 1e-3 * w)
    scores = np.hstack([test, np.ones((len(test), 1))]) @ w
    predicted: NDArray[np.int64] = np.argmax(scores, axis=1)
    return predicted


def balanced_accuracy(y: NDArray[np.int64], predicted: NDArray[np.int64]) -> float:
    """Mean recall over the classes present in ``y``."""
    return float(np.mean([np.mean(predicted[y == c] == c) for c in np.unique(y)]))


def separation_score(
    embedding: FloatArray, labels: NDArray[np.int64], *, folds: int = 5, seed: int = 0
) -> tuple[float, list[float]]:
    """Cross-validated logistic-regression balanced accuracy (mean, per fold).

    :raises ValueError: fewer than two classes (the score is undefined).
    """
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(f"separation needs at least two classes, got {len(classes)}")
    order = np.random.default_rng(seed).permutation(len(labels))
    scores = []
    for fold in range(folds):
        test = order[fold::folds]
        train = np.setdiff1d(order, test)
        predicted = _logreg_predict(embedding[train], labels[train], embedding[test], len(classes))
        scores.append(balanced_accuracy(labels[test], predicted))
    return float(np.mean(scores)), scores


def silhouette(embedding: FloatArray, labels: NDArray[np.int64]) -> float:
    """Mean silhouette of ``labels`` in ``embedding`` (Euclidean)."""
    d = _distances(embedding)
    np.fill_diagonal(d, 0.0)
    values = []
    for i in range(len(labels)):
        own = labels == labels[i]
        own[i] = False
        a = d[i, own].mean() if own.any() else 0.0
        b = min(d[i, labels == c].mean() for c in np.unique(labels) if c != labels[i])
        values.append((b - a) / max(a, b) if max(a, b) > 0 else 0.0)
    return float(np.mean(values))


def knn_label_accuracy(embedding: FloatArray, labels: NDArray[np.int64], k: int = 5) -> float:
    """Leave-one-out accuracy of a k-nearest-neighbour majority vote."""
    nn = np.argsort(_distances(embedding), axis=1)[:, :k]
    votes = labels[nn]
    predicted = np.array([np.bincount(v).argmax() for v in votes])
    return float(np.mean(predicted == labels))


def synthetic_dataset(seed: int = 7, per_class: int = 80, features: int = 12) -> dict[str, Any]:
    """Three Gaussian classes in ``features`` dimensions, separated in a 3-D subspace."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((features, features)))[0]
    centres = np.array([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]])
    scales = np.linspace(2.0, 0.3, features)
    rows, labels = [], []
    for c, centre in enumerate(centres):
        latent = rng.standard_normal((per_class, features)) * scales
        latent[:, :3] += centre
        rows.append(latent @ basis.T)
        labels.extend([c] * per_class)
    x = np.vstack(rows)
    ids = np.array([f"obs-{i:04d}" for i in range(len(x))])
    return {"x": x, "labels": np.array(labels, dtype=np.int64), "ids": ids}

"""Linear probe: how much of the labels a fixed feature map makes linearly readable.

Why: a GAN's discriminator (DCGAN, Radford et al. section 5.1) and a BiGAN's encoder
(Donahue et al.) are judged as feature extractors by fitting a linear classifier on their
frozen features of labelled training images and scoring it on held-out test images. The
same probe on untrained networks and on raw pixels says how much of that accuracy the
training bought.

What is fitted: multinomial logistic regression (softmax) on features standardised with
the training rows' mean and standard deviation, minimising

    J(W, b) = 1/N sum_i -log softmax(x_i W + b)[y_i]  +  l2 / 2 * ||W||^2

(the bias is not penalised). J is strictly convex for l2 > 0, so the fit has one optimum
whatever the start, and our L-BFGS from W = 0 is deterministic: the same inputs give the
same accuracy. The DCGAN paper fitted a regularised L2-SVM; a softmax regression is the
same kind of classifier (linear, L2-penalised), gives the per-class scores directly and
needs no one-vs-rest scheme, and it is the probe later papers (BiGAN's own
representation-learning comparisons) use. The accuracies of the two are close on linearly
readable features; neither is what is compared here, only features under one probe.

`l2`: by default picked from `L2_GRID` by accuracy on a validation part of the training
rows (`VALIDATION_FRACTION`, a seeded split), then refitted on all training rows; the test
rows are used only for the final score. Pure NumPy, no TensorFlow or SciPy.

Example:
    >>> result = probe_accuracy(train_x, train_y, test_x, test_y)
    >>> result["accuracy"], len(result["per_class_accuracy"])
    (0.873, 10)

Reference:
    Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep Convolutional
    GANs", ICLR 2016, section 5.1.
    Donahue, Kraehenbuehl, Darrell, "Adversarial Feature Learning", ICLR 2017, section 4.
    Nocedal & Wright, "Numerical Optimization", 2nd ed., algorithm 7.4 (L-BFGS).
"""

import numpy as np

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
VALIDATION_FRACTION = 0.1
# L-BFGS: stop when the largest gradient entry is below GTOL (the objective is a mean, so
# its gradient does not grow with N) or below GTOL_RELATIVE times its value at the start,
# or after MAX_ITER iterations. The relative test ends the slow tail on ill-conditioned
# features (a trained D's 3,072 pooled activations of 5,000 images: J within 0.1 % of its
# value after 500 iterations once the gradient has fallen 1,000-fold, after ~150).
GTOL = 1e-5
GTOL_RELATIVE = 1e-3
MAX_ITER = 500
_MEMORY = 10
_ARMIJO = 1e-4
# The loss is computed from float32 logits (the features stay float32 to halve memory), so
# near the optimum its changes drown in rounding: a step that changes J by less than this
# fraction of |J| is accepted when the slope along it stays below _CURVATURE of the
# initial descent rate (the "approximate Wolfe" test of Hager & Zhang, 2005); the
# gradient, not J, then decides convergence.
_LOSS_NOISE = 1e-6
_CURVATURE = 0.8


def standardize(train_x, test_x=None):
    """Features centred and scaled by the training rows' statistics (a constant feature
    keeps scale 1); returns (train, test) as float32 (test None if not given)."""
    train_x = np.asarray(train_x, np.float64)
    mean = train_x.mean(axis=0)
    std = train_x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    scaled = [((x - mean) / std).astype(np.float32)
              for x in (train_x, None if test_x is None else np.asarray(test_x, np.float64))
              if x is not None]
    return scaled[0], (scaled[1] if test_x is not None else None)


def objective(params, x, y, num_classes, l2):
    """J and its gradient at `params` (W [D, K] then b [K], flattened, float64).

    `x` float32 [N, D] (standardised), `y` int [N].
    """
    n, d = x.shape
    w = params[:d * num_classes].reshape(d, num_classes)
    b = params[d * num_classes:]
    logits = (x @ w.astype(np.float32)).astype(np.float64) + b
    logits -= logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(logits).sum(axis=1))
    loss = np.mean(log_norm - logits[np.arange(n), y]) + 0.5 * l2 * np.sum(w * w)
    residual = np.exp(logits - log_norm[:, None])
    residual[np.arange(n), y] -= 1.0
    residual /= n
    grad_w = (x.T @ residual.astype(np.float32)).astype(np.float64) + l2 * w
    return loss, np.concatenate([grad_w.ravel(), residual.sum(axis=0)])


def fit(x, y, num_classes, l2, *, start=None, max_iter=MAX_ITER, gtol=GTOL,
        gtol_relative=GTOL_RELATIVE):
    """Minimises J by L-BFGS with a backtracking line search (Armijo, or approximate
    Wolfe where J's float32 rounding hides the decrease).

    Args:
        x: float32 [N, D] standardised features; y: int [N] in [0, num_classes).
        l2: the penalty on W (> 0).
        start: initial flattened (W, b); default zeros.
        gtol, gtol_relative: stop when max |dJ| <= max(gtol, gtol_relative * max |dJ| at
            W = 0, b = 0) (0 for the relative one: the absolute test alone).

    Returns:
        dict(weights [D, K], bias [K], iterations, converged (bool), grad_norm (max |dJ|)).
    """
    d = x.shape[1]
    params = np.zeros(d * num_classes + num_classes) if start is None else start.copy()
    loss, grad = objective(params, x, y, num_classes, l2)
    # The scale of the relative test: the gradient at zero, whatever the start.
    zero_grad = grad if start is None else objective(np.zeros_like(params), x, y,
                                                     num_classes, l2)[1]
    gtol = max(gtol, gtol_relative * float(np.max(np.abs(zero_grad))))
    s_hist, y_hist = [], []
    iterations = 0
    while np.max(np.abs(grad)) > gtol and iterations < max_iter:
        direction = _two_loop(grad, s_hist, y_hist)
        slope = _dot(grad, direction)
        if slope >= 0 or not s_hist:  # first step, or no descent (noise): scaled -grad
            s_hist, y_hist = [], []
            direction = -grad / np.sqrt(_dot(grad, grad))
            slope = _dot(grad, direction)
        step = 1.0
        while True:
            candidate = params + step * direction
            new_loss, new_grad = objective(candidate, x, y, num_classes, l2)
            if new_loss <= loss + _ARMIJO * step * slope or step < 1e-10:
                break
            if (new_loss <= loss + _LOSS_NOISE * abs(loss)
                    and _dot(new_grad, direction) <= -_CURVATURE * slope):
                break
            step *= 0.5
        if step < 1e-10:  # no decrease is representable any more: at the optimum in float32
            break
        s, g = candidate - params, new_grad - grad
        if _dot(s, g) > 1e-12:
            s_hist.append(s)
            y_hist.append(g)
            if len(s_hist) > _MEMORY:
                s_hist.pop(0)
                y_hist.pop(0)
        params, loss, grad = candidate, new_loss, new_grad
        iterations += 1
    grad_norm = float(np.max(np.abs(grad)))
    return dict(weights=params[:d * num_classes].reshape(d, num_classes),
                bias=params[d * num_classes:], params=params, iterations=iterations,
                converged=grad_norm <= gtol, grad_norm=grad_norm, loss=float(loss))


def _two_loop(grad, s_hist, y_hist):
    """The L-BFGS direction -H grad from the stored curvature pairs (Nocedal & Wright 7.4)."""
    q = -grad.copy()
    alphas = []
    for s, g in reversed(list(zip(s_hist, y_hist))):
        alpha = _dot(s, q) / _dot(g, s)
        q -= alpha * g
        alphas.append(alpha)
    if s_hist:
        q *= _dot(s_hist[-1], y_hist[-1]) / _dot(y_hist[-1], y_hist[-1])
    for (s, g), alpha in zip(zip(s_hist, y_hist), reversed(alphas)):
        beta = _dot(g, q) / _dot(g, s)
        q += (alpha - beta) * s
    return q


def _dot(a, b):
    """a . b of two parameter vectors, without BLAS: a BLAS dot of vectors this small is
    dominated by thread hand-offs (0.2 s per L-BFGS direction on a loaded 2-core machine)."""
    return float(np.multiply(a, b).sum())


def predict(model, x):
    """Predicted classes of standardised features `x` under a `fit` result."""
    return np.argmax(x @ model["weights"].astype(np.float32) + model["bias"], axis=1)


def probe_accuracy(train_x, train_y, test_x, test_y, *, num_classes=None, l2=None, seed=0):
    """Fits the probe on (train_x, train_y) and scores it on (test_x, test_y).

    Args:
        train_x, test_x: [N, D] features (any float dtype); rows are examples.
        train_y, test_y: [N] int labels in [0, num_classes).
        num_classes: default 1 + the largest label seen.
        l2: the penalty; None picks it from `L2_GRID` on a seeded validation split of
            the training rows (`VALIDATION_FRACTION`), then refits on all of them.
        seed: the validation split's seed.

    Returns:
        dict: accuracy (test), per_class_accuracy (list, NaN for a class absent from the
        test rows), train_accuracy, l2, validation_accuracy ({l2: accuracy}, when picked),
        num_train, num_test, feature_dim, num_classes, iterations, converged, grad_norm.

    Raises:
        ValueError: shapes that do not match, labels out of range, non-finite features,
            or fewer than 2 classes among the training labels.
    """
    train_x, test_x = np.asarray(train_x), np.asarray(test_x)
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    for name, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
        if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] == 0:
            raise ValueError(f"{name} features must be [N, D] with N >= 1 and labels [N]. "
                             f"Received {list(x.shape)} and {list(y.shape)}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} features hold NaN or Inf")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{name} labels must be integers. Received dtype {y.dtype}")
    if train_x.shape[1] != test_x.shape[1]:
        raise ValueError(f"train and test features differ in size: {train_x.shape[1]} vs "
                         f"{test_x.shape[1]}")
    if num_classes is None:
        num_classes = int(max(train_y.max(), test_y.max())) + 1
    for name, y in (("train", train_y), ("test", test_y)):
        if y.min() < 0 or y.max() >= num_classes:
            raise ValueError(f"{name} labels must be in [0, {num_classes}). Received "
                             f"[{y.min()}, {y.max()}]")
    if len(np.unique(train_y)) < 2:
        raise ValueError("the training labels hold fewer than 2 classes; a probe needs 2+")
    if l2 is not None and not l2 > 0:
        raise ValueError(f"`l2` must be > 0. Received: l2={l2}")

    validation = {}
    if l2 is None:
        order = np.random.default_rng(seed).permutation(len(train_y))
        cut = max(1, int(round(len(order) * VALIDATION_FRACTION)))
        held, kept = order[:cut], order[cut:]
        fit_x, held_x = standardize(train_x[kept], train_x[held])
        start = None
        for value in sorted(L2_GRID, reverse=True):  # strongest first: warm starts help
            model = fit(fit_x, train_y[kept], num_classes, value, start=start)
            start = model["params"]
            validation[value] = float(np.mean(predict(model, held_x) == train_y[held]))
        # The best validation accuracy; ties go to the stronger penalty.
        l2 = max(sorted(L2_GRID, reverse=True), key=lambda v: validation[v])

    train_s, test_s = standardize(train_x, test_x)
    model = fit(train_s, train_y, num_classes, l2)
    predicted = predict(model, test_s)
    correct = predicted == test_y
    per_class = [float(np.mean(correct[test_y == k])) if np.any(test_y == k) else float("nan")
                 for k in range(num_classes)]
    result = dict(
        accuracy=float(np.mean(correct)),
        per_class_accuracy=per_class,
        train_accuracy=float(np.mean(predict(model, train_s) == train_y)),
        l2=float(l2),
        num_train=int(len(train_y)), num_test=int(len(test_y)),
        feature_dim=int(train_x.shape[1]), num_classes=int(num_classes),
        iterations=model["iterations"], converged=bool(model["converged"]),
        grad_norm=model["grad_norm"],
    )
    if validation:
        result["validation_accuracy"] = {repr(k): v for k, v in validation.items()}
        result["validation_fraction"] = VALIDATION_FRACTION
    return result

"""One training step of dragan, hinge, lsgan, cgan, bigan, ebgan and mcgan, in closed form.

The players are those of tests/closed_form.py: G(z) = z K + b with K = 0 at the start (every
fake is b), a linear D (or a linear auto-encoder / linear feature net), plain SGD. Each test
derives the step by hand in its docstring and compares every updated weight, and some logs,
with that numpy reference. Notation: a_i = D(x_i) (real), f = D(b) (fake, before D's
update), primes are values after D's update, N = 4 the batch size, z1 the generator's z
(draw 1 of step 0 unless said otherwise, see `closed_form.latent_draw`).

With K = 0 the generator's loss is a mean over identical fakes, so grad_b = l'(b) and
grad_K = sum_i z1_i (l'(b) / N) = mean(z1) (outer) grad_b.
"""

import keras
import numpy as np
import pytest

from tests import closed_form as cf
from tests.closed_form import B0, C0, LR, W0, X, sigmoid, softplus
from tfgan_suite import variants
from tfgan_suite.nets.autoencoder import AutoEncoder
from tfgan_suite.variants.bigan import BiGAN
from tfgan_suite.variants.cgan import ConditionalGAN
from tfgan_suite.variants.ebgan import EBGAN
from tfgan_suite.variants.mcgan import FeatureMatchingCritic, McGAN


def registered(name, **extra):
    """The registered model class of `name`, built on the linear players with the
    variant's own registered parameters (its loss, penalty, ...)."""
    spec = variants.get(name)
    params = {k: v for k, v in spec.defaults.items() if k in spec.params.names()}
    params.update(extra)
    return spec.model(cf.generator(), cf.linear_critic(), latent_dim=cf.LATENT, **params)


def gan_family_expected(x, d_real, d_fake, g_fake, z1, lr=LR, penalty_grad_w=None):
    """The closed-form step of a `(d_loss, g_loss)` game on the linear players.

    d_loss = mean_i phi_r(a_i) + phi_f(f) [+ a penalty on w], g_loss = psi(f') with
    d_real = phi_r', d_fake = phi_f', g_fake = psi' given by the caller:
        grad_w = mean_i phi_r'(a_i) x_i + phi_f'(f) b [+ penalty_grad_w(w)]
        grad_c = mean_i phi_r'(a_i) + phi_f'(f)
        w' = w - lr grad_w, c' = c - lr grad_c
        grad_b = psi'(f') w',  grad_K = mean(z1) (outer) grad_b
        b' = b - lr grad_b,  K' = -lr grad_K
    """
    a, f = x @ W0 + C0, W0 @ B0 + C0
    grad_w = (d_real(a)[:, None] * x).mean(0) + d_fake(f) * B0
    if penalty_grad_w is not None:
        grad_w = grad_w + penalty_grad_w(W0)
    grad_c = d_real(a).mean() + d_fake(f)
    w, c = W0 - lr * grad_w, C0 - lr * grad_c
    grad_b = g_fake(w @ B0 + c) * w
    return dict(w=w, c=c, b=B0 - lr * grad_b, K=-lr * np.outer(z1.mean(0), grad_b))


def gan_family_weights(model):
    w, c = cf.dense_weights(model.discriminator.layers[-1])
    kernel, b = cf.dense_weights(model.generator.layers[-1])
    return dict(w=w[:, 0], c=c[0], b=b, K=kernel)


def check(got, want, **tol):
    assert set(got) == set(want)
    for key in want:
        cf.assert_close(got[key], want[key], key, **tol)


# ------------------------------------------------------------------------------ hinge


def test_hinge_step_matches_closed_form():
    """hinge: d = mean relu(1 - a_i) + relu(1 + f), g = -f'.

    phi_r'(a) = -1[a < 1]; phi_f'(f) = 1[f > -1]; psi' = -1, so b' = b + lr w'. The last
    real point scores 1.3 > 1: it is outside the margin and gives D no gradient.
    """
    model = cf.compile_sgd(registered("hinge"))
    assert model.params.loss == "hinge"
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [4.0, 0.0]])
    assert (x @ W0 + C0)[-1] > 1 and W0 @ B0 + C0 > -1   # one real inactive, fakes active
    logs = cf.one_step(model, x)
    want = gan_family_expected(x, lambda a: -(a < 1.0).astype(float),
                               lambda f: float(f > -1.0), lambda f: -1.0,
                               cf.latent_draw(1, 4))
    check(gan_family_weights(model), want)
    a, f = x @ W0 + C0, W0 @ B0 + C0
    cf.assert_close(logs["d_loss"], np.maximum(0, 1 - a).mean() + max(0.0, 1 + f), "d_loss")
    cf.assert_close(logs["g_loss"], -(want["w"] @ B0 + want["c"]), "g_loss")


# ------------------------------------------------------------------------------ lsgan


def test_lsgan_step_matches_closed_form():
    """lsgan (a=0, b=c=1): d = 1/2 mean (a_i - 1)^2 + 1/2 f^2, g = 1/2 (f' - 1)^2.

    phi_r'(a) = a - 1; phi_f'(f) = f; psi'(f') = f' - 1.
    """
    model = cf.compile_sgd(registered("lsgan"))
    assert model.params.loss == "least_squares"
    logs = cf.one_step(model, X)
    want = gan_family_expected(X, lambda a: a - 1.0, lambda f: f, lambda f: f - 1.0,
                               cf.latent_draw(1, 4))
    check(gan_family_weights(model), want)
    a, f = X @ W0 + C0, W0 @ B0 + C0
    cf.assert_close(logs["d_loss"], 0.5 * ((a - 1) ** 2).mean() + 0.5 * f ** 2, "d_loss")
    cf.assert_close(logs["g_loss"], 0.5 * (want["w"] @ B0 + want["c"] - 1) ** 2, "g_loss")


# ------------------------------------------------------------------------------ dragan


def test_dragan_step_matches_closed_form():
    """dragan: the non-saturating pair plus lambda (||grad D(x_hat)|| - 1)^2, lambda = 10.

    d = mean softplus(-a_i) + softplus(f) + lambda (n - 1)^2, g = softplus(-f'):
        phi_r'(a) = -sigmoid(-a), phi_f'(f) = sigmoid(f), psi'(f') = -sigmoid(-f').
    D is linear, so grad_x D = w at every x_hat, wherever DRAGAN's perturbation puts it:
    n = sqrt(||w||^2 + eps) and the penalty adds 2 lambda (n - 1) w / n to grad_w (nothing
    to grad_c). The step draws z (0), alpha (1) and the perturbation (2) for D, so G's z
    is draw 3. A smaller learning rate keeps lambda's step moderate.
    """
    lr, lam, eps = 0.05, 10.0, 1e-10
    model = cf.compile_sgd(registered("dragan"), lr)
    assert (model.params.loss, model.params.penalty, model.params.gp_weight) == (
        "non_saturating", "dragan", lam)
    logs = cf.one_step(model, X)
    norm = np.sqrt(W0 @ W0 + eps)
    want = gan_family_expected(X, lambda a: -sigmoid(-a), sigmoid, lambda f: -sigmoid(-f),
                               cf.latent_draw(3, 4), lr=lr,
                               penalty_grad_w=lambda w: 2 * lam * (norm - 1) * w / norm)
    check(gan_family_weights(model), want)
    a, f = X @ W0 + C0, W0 @ B0 + C0
    cf.assert_close(logs["gradient_penalty"], lam * (norm - 1) ** 2, "gradient_penalty")
    cf.assert_close(logs["grad_norm"], norm, "grad_norm")
    cf.assert_close(logs["d_loss"], softplus(-a).mean() + softplus(f) + lam * (norm - 1) ** 2,
                    "d_loss")
    cf.assert_close(logs["g_loss"], softplus(-(want["w"] @ B0 + want["c"])), "g_loss")


# ------------------------------------------------------------------------------ cgan

CLASSES = 4
LABELS = np.array([0, 2, 2, 1])  # class 3 is absent from the batch: its rows must not move
E0 = np.array([[0.5, 0.25], [-0.5, 1.0], [1.0, -1.0], [2.0, 2.0]])  # G's label embedding
U0 = np.array([0.2, -0.1, 0.3, 0.4])                                # D's label offsets


def cgan_players():
    """G(z, y) = z K + E[y] (K = 0), D(x, y) = w.x + c + u[y]."""
    z, y = keras.Input((cf.LATENT,)), keras.Input((), dtype="int32")
    g_out = keras.layers.Add()([
        cf.dense(2, np.zeros((cf.LATENT, 2)), name="g_kernel")(z),
        keras.layers.Embedding(CLASSES, 2, embeddings_initializer=keras.initializers.Constant(
            E0.astype(np.float32)), name="g_embedding")(y)])
    x, y2 = keras.Input((2,)), keras.Input((), dtype="int32")
    d_out = keras.layers.Add()([
        cf.dense(1, W0[:, None], C0, name="d_linear")(x),
        keras.layers.Embedding(CLASSES, 1, embeddings_initializer=keras.initializers.Constant(
            U0[:, None].astype(np.float32)), name="d_offset")(y2)])
    return keras.Model([z, y], g_out), keras.Model([x, y2], d_out)


def test_cgan_step_matches_closed_form():
    """cgan, non-saturating: real (x_i, y_i) against fakes (G(z, y_i), y_i) = (E[y_i], y_i).

    a_i = w.x_i + c + u[y_i], f_i = w.E[y_i] + c + u[y_i];
    d = mean softplus(-a_i) + mean softplus(f_i), so with r_i = -sigmoid(-a_i) / N and
    s_i = sigmoid(f_i) / N:
        grad_w = sum_i r_i x_i + s_i E[y_i],  grad_c = sum_i r_i + s_i,
        grad_u[k] = sum_{i: y_i = k} r_i + s_i            (u[3] gets nothing)
    G, same labels, fresh z1: f'_i = w'.E[y_i] + c' + u'[y_i], g = mean softplus(-f'_i);
    dg/dx_i = -sigmoid(-f'_i) w' / N =: h_i, so
        grad_E[k] = sum_{i: y_i = k} h_i,  grad_K = sum_i z1_i (outer) h_i.
    """
    g, d = cgan_players()
    model = cf.compile_sgd(ConditionalGAN(g, d, latent_dim=cf.LATENT, num_classes=CLASSES,
                                          loss="non_saturating"))
    logs = cf.one_step(model, (X, LABELS))

    n = len(X)
    a = X @ W0 + C0 + U0[LABELS]
    f = E0[LABELS] @ W0 + C0 + U0[LABELS]
    r, s = -sigmoid(-a) / n, sigmoid(f) / n
    w = W0 - LR * ((r[:, None] * X).sum(0) + (s[:, None] * E0[LABELS]).sum(0))
    c = C0 - LR * (r + s).sum()
    u = U0 - LR * np.bincount(LABELS, weights=r + s, minlength=CLASSES)
    f2 = E0[LABELS] @ w + c + u[LABELS]
    h = -sigmoid(-f2)[:, None] * w[None, :] / n
    grad_e = np.zeros_like(E0)
    np.add.at(grad_e, LABELS, h)
    want = dict(w=w, c=c, u=u, E=E0 - LR * grad_e,
                K=-LR * cf.latent_draw(1, n).T @ h)

    d_w, d_c = cf.dense_weights(d.get_layer("d_linear"))
    got = dict(w=d_w[:, 0], c=d_c[0], u=d.get_layer("d_offset").get_weights()[0][:, 0],
               E=g.get_layer("g_embedding").get_weights()[0],
               K=g.get_layer("g_kernel").get_weights()[0])
    check(got, want)
    cf.assert_close(logs["d_loss"], softplus(-a).mean() + softplus(f).mean(), "d_loss")
    cf.assert_close(logs["g_loss"], softplus(-f2).mean(), "g_loss")


# ------------------------------------------------------------------------------ bigan

A0 = np.array([[0.4, -0.3, 0.2], [0.1, 0.5, -0.6]])  # E's kernel, x [2] -> z [3]
E_BIAS = np.array([0.05, -0.1, 0.2])
V0 = np.array([0.2, -0.4, 0.3])                      # D's weights on z


def bigan_players():
    """G(z) = z K + b (K = 0), E(x) = x A + e, D(x, z) = w.x + v.z + c."""
    encoder = keras.Sequential([keras.Input((2,)), cf.dense(3, A0, E_BIAS)])
    x, z = keras.Input((2,)), keras.Input((cf.LATENT,))
    joint = keras.layers.Concatenate()([x, z])
    d = keras.Model([x, z], cf.dense(1, np.concatenate([W0, V0])[:, None], C0)(joint))
    return cf.generator(), d, encoder


def test_bigan_step_matches_closed_form():
    """bigan, non-saturating, deterministic E; E and G one player with one optimizer.

    D step, z0 = draw 0, zh_i = E(x_i) = x_i A + e:
        a_i = w.x_i + v.zh_i + c,  f_i = w.b + v.z0_i + c,
        d = mean softplus(-a_i) + mean softplus(f_i); r_i = -sigmoid(-a_i)/N,
        s_i = sigmoid(f_i)/N:
        grad_w = sum_i r_i x_i + s_i b,  grad_v = sum_i r_i zh_i + s_i z0_i,
        grad_c = sum_i r_i + s_i.
    E+G step, z1 = draw 1, swapped labels through D':
        g = mean softplus(-f'_i) + mean softplus(a'_i) with f'_i = w'.b + v'.z1_i + c',
        a'_i = w'.x_i + v'.zh_i + c';
        dg/dG(z1_i) = -sigmoid(-f'_i) w' / N =: h_i -> grad_b = sum h_i,
            grad_K = sum z1_i (outer) h_i;
        dg/dzh_i = sigmoid(a'_i) v' / N =: k_i -> grad_A = sum x_i (outer) k_i,
            grad_e = sum k_i.
    Logged recon_error = mean (x - G'(E'(x)))^2 with the updated G and E.
    """
    g, d, encoder = bigan_players()
    model = cf.compile_sgd(BiGAN(g, d, encoder, latent_dim=cf.LATENT, loss="non_saturating",
                                 stochastic_encoder=False))
    logs = cf.one_step(model, X)

    n = len(X)
    z0, z1 = cf.latent_draw(0, n), cf.latent_draw(1, n)
    zh = X @ A0 + E_BIAS
    a = X @ W0 + zh @ V0 + C0
    f = W0 @ B0 + z0 @ V0 + C0
    r, s = -sigmoid(-a) / n, sigmoid(f) / n
    w = W0 - LR * ((r[:, None] * X).sum(0) + s.sum() * B0)
    v = V0 - LR * ((r[:, None] * zh).sum(0) + (s[:, None] * z0).sum(0))
    c = C0 - LR * (r + s).sum()
    f2 = w @ B0 + z1 @ v + c
    a2 = X @ w + zh @ v + c
    h = -sigmoid(-f2)[:, None] * w[None, :] / n
    k = sigmoid(a2)[:, None] * v[None, :] / n
    want = dict(w=w, v=v, c=c, b=B0 - LR * h.sum(0), K=-LR * z1.T @ h,
                A=A0 - LR * X.T @ k, e=E_BIAS - LR * k.sum(0))

    d_kernel, d_c = cf.dense_weights(d.layers[-1])
    g_kernel, g_b = cf.dense_weights(g.layers[-1])
    e_kernel, e_b = cf.dense_weights(encoder.layers[-1])
    got = dict(w=d_kernel[:2, 0], v=d_kernel[2:, 0], c=d_c[0], b=g_b, K=g_kernel,
               A=e_kernel, e=e_b)
    check(got, want)
    cf.assert_close(logs["d_loss"], softplus(-a).mean() + softplus(f).mean(), "d_loss")
    cf.assert_close(logs["g_loss"], softplus(-f2).mean() + softplus(a2).mean(), "g_loss")
    recon = (X @ want["A"] + want["e"]) @ want["K"] + want["b"]
    cf.assert_close(logs["recon_error"], ((X - recon) ** 2).mean(), "recon_error")
    assert int(model.g_optimizer.iterations.numpy()) == 1   # one update of E and G together


# ------------------------------------------------------------------------------ ebgan

P0 = np.array([[0.6, -0.2], [0.3, 0.8]])     # encoder s = x P + p (codes S = s)
P_BIAS = np.array([0.1, -0.05])
Q0 = np.array([[0.9, 0.1], [-0.2, 0.7]])     # decoder r = s Q + q
Q_BIAS = np.array([0.02, 0.03])
K_EB = np.array([[0.4, -0.1], [0.2, 0.3], [-0.3, 0.2]])  # G's kernel: the fakes differ
MARGIN, PT_WEIGHT = 0.05, 0.5


def ebgan_players():
    encoder = keras.Sequential([keras.Input((2,)), cf.dense(2, P0, P_BIAS)])
    decoder = keras.Sequential([keras.Input((2,)), cf.dense(2, Q0, Q_BIAS)])
    return cf.generator(kernel=K_EB), AutoEncoder(encoder, decoder, name="discriminator")


def _energy_grads(u, P, p, Q, q):
    """Energies E(u_i) = 1/2 ||r_i - u_i||^2 (mean over d = 2 coordinates) and, per sample,
    their gradients: dE/dr = (2/d) delta = delta (delta = r - u); s = u P + p, r = s Q + q:
        dE/dQ = s (outer) delta, dE/dq = delta, dE/ds = delta Q^T,
        dE/dP = u (outer) delta Q^T, dE/dp = delta Q^T,
        dE/du = delta (P Q)^T - delta."""
    s = u @ P + p
    delta = s @ Q + q - u
    ds = delta @ Q.T
    return dict(energy=0.5 * (delta ** 2).sum(1), s=s, delta=delta, ds=ds,
                du=delta @ (P @ Q).T - delta)


def _pull_away_grad(s):
    """f_PT(S) = sum_{i != j} C_ij^2 / (N (N - 1)), C = S^ S^T with unit rows S^ = s / |s|,
    and df/ds_i = (I - s^_i s^_i^T) / |s_i| * 4 sum_{j != i} C_ij s^_j / (N (N - 1))."""
    n = len(s)
    norms = np.linalg.norm(s, axis=1, keepdims=True)
    unit = s / norms
    cos = unit @ unit.T
    off = cos - np.diag(np.diag(cos))
    value = (off ** 2).sum() / (n * (n - 1))
    d_unit = 4 * off @ unit / (n * (n - 1))
    d_s = (d_unit - (d_unit * unit).sum(1, keepdims=True) * unit) / norms
    return value, d_s


def test_ebgan_step_matches_closed_form():
    """ebgan on a linear auto-encoder D, energy E(u) = mean_d (Dec(Enc(u)) - u)^2.

    D step, fakes g_j = z0_j K + b (z0 = draw 0; K != 0 so the fakes and their codes
    differ): d = mean_i E(x_i) + mean_j relu(m - E(g_j)); each sample's energy gradient
    (`_energy_grads`) enters with weight 1/N (real) or -1[E(g_j) < m]/N (fake). The margin
    is chosen so that some fakes are inside it and some outside.
    G step, g_j = z1_j K + b (z1 = draw 1) through D':
        g = mean_j E'(g_j) + lambda_PT f_PT(S), S_j = g_j P' + p' (the encoder's codes);
        dg/dg_j = dE'/du (g_j) / N + lambda_PT (df_PT/dS_j) P'^T =: h_j,
        grad_b = sum h_j, grad_K = sum z1_j (outer) h_j.
    """
    g, d = ebgan_players()
    model = cf.compile_sgd(EBGAN(g, d, latent_dim=cf.LATENT, ebgan_margin=MARGIN,
                                 pt_weight=PT_WEIGHT))
    logs = cf.one_step(model, X)

    n = len(X)
    z0, z1 = cf.latent_draw(0, n), cf.latent_draw(1, n)
    real = _energy_grads(X, P0, P_BIAS, Q0, Q_BIAS)
    fake = _energy_grads(z0 @ K_EB + B0, P0, P_BIAS, Q0, Q_BIAS)
    active = fake["energy"] < MARGIN
    assert active.any() and not active.all(), fake["energy"]  # both sides of the margin
    grads = dict(P=0.0, p=0.0, Q=0.0, q=0.0)
    for part, u, weight in ((real, X, np.full(n, 1.0 / n)),
                            (fake, z0 @ K_EB + B0, -active.astype(float) / n)):
        grads["Q"] = grads["Q"] + (weight[:, None] * part["s"]).T @ part["delta"]
        grads["q"] = grads["q"] + weight @ part["delta"]
        grads["P"] = grads["P"] + (weight[:, None] * u).T @ part["ds"]
        grads["p"] = grads["p"] + weight @ part["ds"]
    P, p = P0 - LR * grads["P"], P_BIAS - LR * grads["p"]
    Q, q = Q0 - LR * grads["Q"], Q_BIAS - LR * grads["q"]

    fakes = z1 @ K_EB + B0
    g_part = _energy_grads(fakes, P, p, Q, q)
    pull_away, d_codes = _pull_away_grad(g_part["s"])
    h = g_part["du"] / n + PT_WEIGHT * d_codes @ P.T
    want = dict(P=P, p=p, Q=Q, q=q, K=K_EB - LR * z1.T @ h, b=B0 - LR * h.sum(0))

    enc_k, enc_b = cf.dense_weights(d.encoder.layers[-1])
    dec_k, dec_b = cf.dense_weights(d.decoder.layers[-1])
    g_k, g_b = cf.dense_weights(g.layers[-1])
    check(dict(P=enc_k, p=enc_b, Q=dec_k, q=dec_b, K=g_k, b=g_b), want)
    cf.assert_close(logs["d_loss"], real["energy"].mean()
                    + np.maximum(0, MARGIN - fake["energy"]).mean(), "d_loss")
    cf.assert_close(logs["pull_away"], pull_away, "pull_away")
    cf.assert_close(logs["g_loss"], g_part["energy"].mean() + PT_WEIGHT * pull_away, "g_loss")
    cf.assert_close(logs["hinge_active"], active.mean(), "hinge_active")


# ------------------------------------------------------------------------------ mcgan

F0 = np.array([[0.1, -0.2, 0.25], [0.2, 0.1, -0.1]])  # Phi(x) = x F + f, m = 3
F_BIAS = np.array([0.05, 0.5, -0.1])                  # 0.5 is outside [-c, c]: clipped
CLIP = 0.3


@pytest.mark.parametrize("q, v0", [(2, [0.6, 0.8, 0.0]), (1, [1.0, 0.5, -1.0])])
def test_mcgan_step_matches_closed_form_with_constraints(q, v0):
    """mcgan, mean matching: d = -<v, mean_i Phi(x_i) - Phi(b)> = -<v, (xbar - b) F>.

    grad_v = -(xbar - b) F, grad_F = -(xbar - b) (outer) v, grad_f = 0 (the offsets
    cancel). After SGD the critic is put back in its sets: F and f clipped to [-c, c], v
    projected on the l_p ball (q = 2: v / max(1, ||v||); q = 1: v clipped to [-1, 1]). The
    start is chosen so that the projection and the clip both act.
    G, z1 = draw 1: g = -mean_i <v', Phi'(z1_i K + b)>, dg/dG(z_i) = -F' v' / N:
        grad_b = -F' v', grad_K = -mean(z1) (outer) F' v'.
    """
    v0 = np.asarray(v0)
    features = keras.Sequential([keras.Input((2,)), cf.dense(3, F0, F_BIAS)])
    critic = FeatureMatchingCritic(features, mode="mean", q=q, seed=0)
    critic.mean_v.assign(v0.astype(np.float32))
    model = cf.compile_sgd(McGAN(cf.generator(), critic, latent_dim=cf.LATENT,
                                 clip_value=CLIP))
    logs = cf.one_step(model, X)

    gap = X.mean(0) - B0
    delta_mu = gap @ F0
    v_free = v0 + LR * delta_mu
    f_free = F0 + LR * np.outer(gap, v0)
    if q == 2:
        assert np.linalg.norm(v_free) > 1
        v = v_free / max(1.0, np.linalg.norm(v_free))
    else:
        assert (np.abs(v_free) > 1).any() and (np.abs(v_free) < 1).any()
        v = np.clip(v_free, -1, 1)
    assert (np.abs(f_free) > CLIP).any() and (np.abs(f_free) < CLIP).any()
    F, f = np.clip(f_free, -CLIP, CLIP), np.clip(F_BIAS, -CLIP, CLIP)
    grad_b = -F @ v
    z1 = cf.latent_draw(1, len(X))
    want = dict(v=v, F=F, f=f, b=B0 - LR * grad_b, K=-LR * np.outer(z1.mean(0), grad_b))

    phi_k, phi_b = cf.dense_weights(features.layers[-1])
    g_k, g_b = cf.dense_weights(model.generator.layers[-1])
    check(dict(v=critic.mean_v.numpy(), F=phi_k, f=phi_b, b=g_b, K=g_k), want)
    cf.assert_close(logs["ipm"], v0 @ delta_mu, "ipm")
    cf.assert_close(logs["g_loss"], -(B0 @ F + f) @ v, "g_loss")   # fakes = b before G moves


def _stiefel(u):
    """Sign-fixed QR: the Q factor with diag(R) >= 0 (numpy's own QR)."""
    q, r = np.linalg.qr(u)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)[None, :]


def test_mcgan_mean_cov_step_matches_closed_form_with_retraction():
    """mcgan, mode mean_cov (k = 2): f(x) = <v, phi> + phi^T U V^T phi, phi = x F + f.

    With M = U V^T + V U^T, S = mean_i phi_i phi_i^T - phi_b phi_b^T (uncentred second
    moments, fakes all b), d = -(mean_i f(x_i) - f(b)):
        grad_v = -(xbar - b) F,  grad_U = -S V,  grad_V = -S U,
        grad_F = -[(xbar - b) (outer) v + mean_i x_i (outer) M phi_i - b (outer) M phi_b],
        grad_f = -[mean_i M phi_i - M phi_b]   (the mean part's offsets cancel).
    Then F, f clipped to [-c, c], v projected on the unit ball, U and V retracted onto the
    Stiefel manifold by sign-fixed QR. G (fakes b): grad_b = -F' (v' + M' phi'_b),
    grad_K = mean(z1) (outer) grad_b.
    """
    v0 = np.array([0.6, 0.8, 0.0])
    u0 = _stiefel(np.array([[1.0, 0.2], [0.3, -1.0], [0.5, 0.4]]))
    w0 = _stiefel(np.array([[0.2, 1.0], [1.0, 0.1], [-0.4, 0.6]]))
    features = keras.Sequential([keras.Input((2,)), cf.dense(3, F0, F_BIAS)])
    critic = FeatureMatchingCritic(features, mode="mean_cov", q=2, k=2, seed=0)
    for var, value in ((critic.mean_v, v0), (critic.cov_u, u0), (critic.cov_v, w0)):
        var.assign(value.astype(np.float32))
    model = cf.compile_sgd(McGAN(cf.generator(), critic, latent_dim=cf.LATENT,
                                 clip_value=CLIP))
    logs = cf.one_step(model, X)

    phi, phi_b = X @ F0 + F_BIAS, B0 @ F0 + F_BIAS
    m = u0 @ w0.T + w0 @ u0.T
    s = phi.T @ phi / len(X) - np.outer(phi_b, phi_b)
    gap = X.mean(0) - B0
    grad_f_mat = -(np.outer(gap, v0) + X.T @ (phi @ m) / len(X) - np.outer(B0, m @ phi_b))
    grad_f_bias = -((phi @ m).mean(0) - m @ phi_b)
    v_free = v0 + LR * gap @ F0
    u_free, w_free = u0 + LR * s @ w0, w0 + LR * s @ u0
    assert np.linalg.norm(v_free) > 1
    assert np.abs(u_free.T @ u_free - np.eye(2)).max() > 1e-3   # the retraction acts
    v = v_free / np.linalg.norm(v_free)
    u, w = _stiefel(u_free), _stiefel(w_free)
    F = np.clip(F0 - LR * grad_f_mat, -CLIP, CLIP)
    f = np.clip(F_BIAS - LR * grad_f_bias, -CLIP, CLIP)
    m2 = u @ w.T + w @ u.T
    grad_b = -F @ (v + m2 @ (B0 @ F + f))
    z1 = cf.latent_draw(1, len(X))
    want = dict(v=v, U=u, V=w, F=F, f=f, b=B0 - LR * grad_b,
                K=-LR * np.outer(z1.mean(0), grad_b))

    phi_k, phi_bias = cf.dense_weights(features.layers[-1])
    g_k, g_b = cf.dense_weights(model.generator.layers[-1])
    check(dict(v=critic.mean_v.numpy(), U=critic.cov_u.numpy(), V=critic.cov_v.numpy(),
               F=phi_k, f=phi_bias, b=g_b, K=g_k), want)
    cov_ipm = np.sum((phi @ u0) * (phi @ w0), 1).mean() - (phi_b @ u0) @ (phi_b @ w0)
    cf.assert_close(logs["ipm_cov"], cov_ipm, "ipm_cov")
    cf.assert_close(logs["ipm_mean"], v0 @ (gap @ F0), "ipm_mean")

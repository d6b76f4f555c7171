"""`evaluate --probe`: the linear probe of an exported model's features on its labelled data.

Why: the representation a GAN learns (a BiGAN's encoder, a DCGAN's discriminator) is
measured by how well a linear classifier reads the labels from it (`probe.py`). This
embeds the training split (or `--probe_train` images of it) and the test split (or
`--probe_test`) with one signature of the exported model and scores the probe:

    encode    z = E(x) of a bigan/ali export
    features  D's pooled conv activations of an export made with --export_features
    pixels    the images themselves (flattened, in [0, 1]): the reference row; needs no
              feature signature

Subsets of a split are fixed by `seed` (sorted, seeded without replacement), so a run is
reproducible. Only `tf.saved_model.load` and the signature are used: any export of the
suite with such a signature works, trained or not (`export --untrained`).
"""

import time

import numpy as np

from tfgan_suite.metrics import probe

SIGNATURES = ("encode", "features")
SOURCES = ("auto",) + SIGNATURES + ("pixels",)
EMBED_BATCH = 500


class ProbeError(ValueError):
    """The probe cannot run as asked; the message is one line saying why."""


def pick_source(requested: str, signatures) -> str:
    """The features to probe: `requested`, or for "auto" `encode` where the model has it,
    else `features`. Raises ProbeError naming what is accepted."""
    if requested not in SOURCES:
        raise ProbeError(f"--probe_features={requested} is not accepted; use one of: "
                         f"{', '.join(SOURCES)}")
    if requested == "pixels":
        return requested
    if requested == "auto":
        for name in SIGNATURES:
            if name in signatures:
                return name
        raise ProbeError(
            f"--probe needs a model with a feature signature, `encode` (bigan/ali) or "
            f"`features` (exported with --export_features); this one has "
            f"{sorted(signatures)}. Or use --probe_features=pixels")
    if requested not in signatures:
        raise ProbeError(f"--probe_features={requested}: the model has no `{requested}` "
                         f"signature (it has {sorted(signatures)}); accepted here: "
                         f"{', '.join([s for s in SIGNATURES if s in signatures] + ['pixels'])}")
    return requested


def subset(num: int, wanted, seed: int) -> np.ndarray:
    """Sorted indices of `wanted` of `num` rows drawn without replacement from `seed`
    (all rows when `wanted` is None or >= num)."""
    if wanted is None or wanted >= num:
        return np.arange(num)
    return np.sort(np.random.default_rng(seed).permutation(num)[:wanted])


def embed(signature, images_uint8: np.ndarray, output: str) -> np.ndarray:
    """`signature(images=x / 255)[output]` over batches of EMBED_BATCH, as float32 [N, F]."""
    import tensorflow as tf

    parts = []
    for start in range(0, len(images_uint8), EMBED_BATCH):
        batch = images_uint8[start:start + EMBED_BATCH].astype(np.float32) / 255.0
        out = signature(images=tf.constant(batch))[output].numpy()
        parts.append(out.reshape(len(batch), -1).astype(np.float32))
    return np.concatenate(parts)


def probe_model(loaded, source: str, train, test, *, seed=0, l2=None) -> dict:
    """The probe of `loaded`'s `source` features from `train` to `test` (ArrayData with
    labels, already subset); returns the JSON-ready result."""
    start = time.time()
    if source == "pixels":
        train_x = train.x.reshape(len(train.x), -1).astype(np.float32) / 255.0
        test_x = test.x.reshape(len(test.x), -1).astype(np.float32) / 255.0
    else:
        signature = loaded.signatures[source]
        output = "z" if source == "encode" else "features"
        train_x = embed(signature, train.x, output)
        test_x = embed(signature, test.x, output)
    embedded = time.time()
    result = probe.probe_accuracy(train_x, train.y, test_x, test.y,
                                  num_classes=train.num_classes, l2=l2, seed=seed)
    result["features"] = source
    result["timings"] = {"embedding_s": embedded - start, "fit_s": time.time() - embedded,
                         "total_s": time.time() - start}
    return result


def table_lines(result: dict) -> list:
    """The human-readable lines of a probe result (under evaluate's header line)."""
    chosen = (f"picked from {', '.join(result['validation_accuracy'])} on "
              f"{100 * result['validation_fraction']:.0f} % of the training rows"
              if "validation_accuracy" in result else "given")
    converged = "converged" if result["converged"] else "NOT converged"
    lines = [
        f"  features: {result['features']} ({result['feature_dim']}-d); {result['dataset']} "
        f"train {result['num_train']:,} -> test {result['num_test']:,} images "
        f"(seed {result['seed']})",
        f"  probe: softmax regression on standardised features, l2 {result['l2']:g} "
        f"({chosen}); L-BFGS {result['iterations']} iterations, {converged}",
        f"  test accuracy   {100 * result['accuracy']:.2f} %   (train "
        f"{100 * result['train_accuracy']:.2f} %, chance {100 / result['num_classes']:.1f} %)",
        "  per class       " + "  ".join(
            f"{k}: {100 * a:.1f}" for k, a in enumerate(result["per_class_accuracy"])),
        f"  time: {result['timings']['total_s']:.1f} s (embedding "
        f"{result['timings']['embedding_s']:.1f} s)",
    ]
    return lines

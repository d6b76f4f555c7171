"""Building a run's model and input pipeline the way `train.py` does, for the speed
benchmarks (no flags, so several benchmark scripts and the tests can import it)."""


def build_run(overrides):
    """(cfg, data, model, dataset) of the run `overrides` describes, as `train.py` builds it.

    `overrides` are `train.py` settings by name (variant, dataset, batch_size, precision,
    ...). The dataset is the suite's own pipeline (`data.make_dataset`) with batches of
    batch_size x d_steps real samples, one per training step.
    """
    import keras

    from tfgan_suite import data as data_lib
    from tfgan_suite import training

    cfg = training.resolve_config(dict(overrides))
    data = data_lib.load(cfg.dataset, data_dir=cfg.data_dir, image_size=cfg.image_size,
                         seed=cfg.seed)
    cfg = training.fit_to_data(cfg, data)
    keras.utils.set_random_seed(cfg.seed)
    model = training.build_model(cfg, data)
    dataset = data_lib.make_dataset(data, batch_size=cfg.batch_size * cfg.d_steps,
                                    seed=cfg.seed, with_labels=model.conditional)
    return cfg, data, model, dataset


def cached_batches(dataset):
    """A dataset repeating the first element of `dataset` forever: the same step with no
    input pipeline work (what the input-pipeline share is measured against)."""
    import tensorflow as tf

    first = next(iter(dataset))
    return tf.data.Dataset.from_tensors(first).repeat()

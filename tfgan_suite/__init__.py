"""tfgan_suite: classic GANs for TensorFlow 2 / Keras 3.

Every variant is a `keras.Model` whose `train_step` spells out its adversarial
objective with `tf.GradientTape`; `train.py` trains one by name, and the
generator is exported as a SavedModel that TensorFlow Serving can load.
"""

__version__ = "0.1.0"

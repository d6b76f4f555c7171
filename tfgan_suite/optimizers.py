"""Builds one player's optimizer from the run configuration."""

import keras


def make(name, *, learning_rate, beta1, beta2):
    """An optimizer by name.

    Args:
        name: "adam" (beta1, beta2 as Adam's), "rmsprop" (beta2 is rho, the decay of the
            squared-gradient average; set explicitly because Keras's default 0.9 differs
            from PyTorch's 0.99 that WGAN's code used) or "sgd" (beta1 is the momentum).
        learning_rate, beta1, beta2: as above.

    Returns:
        A keras.optimizers.Optimizer (unbuilt; `GANModel.compile` builds it).
    """
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=beta1, beta_2=beta2)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, rho=beta2)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=beta1)
    raise ValueError(f"unknown optimizer {name!r}; accepted: adam, rmsprop, sgd")

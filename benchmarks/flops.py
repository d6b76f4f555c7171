"""FLOPs of one training step, counted two independent ways.

Why two counts: a model-FLOP utilisation figure is only as good as its FLOP count. The
analytic count follows from the layer shapes and a written-out accounting of what the step
computes; the profiler count comes from TensorFlow's own per-op cost functions applied to
the traced graph of `model.train_step`. They are computed independently, so agreement
checks both (and disagreement says which ops the accounting leaves out).

Analytic count. A multiply-accumulate (MAC) layer costs, per example,

    Dense            2 * in * out                      (per row of the input)
    Conv2D           2 * H_out * W_out * K_h * K_w * C_in * C_out
    Conv2DTranspose  2 * H_in  * W_in  * K_h * K_w * C_in * C_out

Its backward pass costs the same again for the weight gradient, and the same again for the
input gradient; a network's first MAC layer needs no input gradient unless something
upstream wants it. With F = sum of a network's MAC layers per example, F1 = its first
layer, B the batch and k = d_steps, one step of the `gan`/`nsgan`/`dcgan` `train_step`
(`tfgan_suite.variants.gan.GAN`) costs:

    D step (k times)   G forward (outside the tape)         B * F_G
                       D forward on real and fake           2B * F_D
                       D backward, weight gradients         2B * F_D
                       D backward, input gradients          2B * (F_D - F_D1)
    G step             G forward                            B * F_G
                       D forward                            B * F_D
                       D backward, input gradients only     B * F_D        (down to G)
                       G backward, weight gradients         B * F_G
                       G backward, input gradients          B * (F_G - F_G1)

Biases, normalisation, activations, losses and the optimizer updates are not counted.

Profiler count. `tf.compat.v1.profiler.profile(graph, options=float_operation())` on the
concrete function of `model.train_step` for the pipeline's static batch shape. The tape
also writes gradients nobody uses (D's weight gradients in the G step, the input gradient
of D's first conv in the D step); the TensorFlow runtime prunes them before running the
function, so they are hidden from the count (`all` keeps them, for reference).
"""

import collections
import re

import keras
import tensorflow as tf

# Op types whose FLOPs are multiply-accumulates of a Dense/Conv layer (forward or backward).
MAC_OP_TYPES = ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv2D", "Conv2DBackpropInput",
                "Conv2DBackpropFilter")

LayerFlops = collections.namedtuple("LayerFlops", ["name", "kind", "flops"])


def layer_forward_flops(layer):
    """FLOPs of one example through a built Dense, Conv2D or Conv2DTranspose layer.

    Args:
        layer: a built Keras layer of a functional model (its input and output shapes are
            known).

    Returns:
        An int: 2 * MACs per example; 0 for layers without a kernel (activations,
        reshapes, normalisation).

    Raises:
        ValueError: a layer with a kernel of a type this count does not know.

    Example:
    >>> x = keras.Input((3,)); dense = keras.layers.Dense(4); _ = dense(x)
    >>> layer_forward_flops(dense)
    24
    """
    # A wrapper (e.g. SpectralNormalization) computes the wrapped layer's product: the
    # shapes are the wrapper's (its inner layer is not a node of the functional graph).
    shaped, inner = layer, layer
    while isinstance(inner, keras.layers.Wrapper):
        inner = inner.layer
    if isinstance(inner, keras.layers.Conv2DTranspose):
        _check_groups(inner)
        in_h, in_w = shaped.input.shape[1:3]
        return 2 * in_h * in_w * _size(inner.kernel.shape)
    if isinstance(inner, keras.layers.Conv2D):
        _check_groups(inner)
        out_h, out_w = shaped.output.shape[1:3]
        return 2 * out_h * out_w * _size(inner.kernel.shape)
    if isinstance(inner, keras.layers.Dense):
        rows = _size(shaped.output.shape[1:-1])
        return 2 * rows * _size(inner.kernel.shape)
    if getattr(layer, "kernel", None) is not None:
        raise ValueError(f"no FLOP formula for layer {layer.name!r} of type "
                         f"{type(layer).__name__}; add one to benchmarks/flops.py")
    return 0


def network_flops(model):
    """The MAC layers of a (possibly nested) functional model, in order, with FLOPs per example.

    Assumes a chain: the first MAC layer listed is the one that reads the model's input.
    """
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(network_flops(layer))
            continue
        flops = layer_forward_flops(layer)
        if flops:
            out.append(LayerFlops(layer.name, type(layer).__name__, int(flops)))
    return out


def gan_step_flops(generator, discriminator, *, batch_size, d_steps=1):
    """Analytic FLOPs of one `GAN.train_step` (module docstring), term by term.

    Args:
        generator, discriminator: built functional Keras models.
        batch_size: B, examples per player update.
        d_steps: k, discriminator updates per step.

    Returns:
        dict with `total`, `d_step` (one D update), `g_step`, the per-example network
        counts `g_forward`, `d_forward`, `g_first`, `d_first`, and `terms`: a list of
        (player, description, flops) rows whose sum is `total`.
    """
    g_layers, d_layers = network_flops(generator), network_flops(discriminator)
    if not g_layers or not d_layers:
        raise ValueError("both networks need at least one Dense/Conv layer")
    fg, fd = sum(l.flops for l in g_layers), sum(l.flops for l in d_layers)
    fg1, fd1 = g_layers[0].flops, d_layers[0].flops
    b, k = int(batch_size), int(d_steps)
    d_terms = [
        ("G forward (fake batch)", b * fg),
        ("D forward, real + fake", 2 * b * fd),
        ("D backward, weight grads", 2 * b * fd),
        ("D backward, input grads (not D's first layer)", 2 * b * (fd - fd1)),
    ]
    g_terms = [
        ("G forward", b * fg),
        ("D forward", b * fd),
        ("D backward, input grads only (all layers, down to G)", b * fd),
        ("G backward, weight grads", b * fg),
        ("G backward, input grads (not G's first layer)", b * (fg - fg1)),
    ]
    d_step = sum(v for _, v in d_terms)
    g_step = sum(v for _, v in g_terms)
    terms = ([(f"D x{k}", name, k * v) for name, v in d_terms]
             + [("G", name, v) for name, v in g_terms])
    return dict(total=k * d_step + g_step, d_step=d_step, g_step=g_step, d_steps=k,
                g_forward=fg, d_forward=fd, g_first=fg1, d_first=fd1, terms=terms,
                g_layers=g_layers, d_layers=d_layers)


def analytic_step_flops(model, batch_size):
    """`gan_step_flops` for a variant model, or None when its step is not `GAN.train_step`."""
    from tfgan_suite.variants.gan import GAN

    if type(model).train_step is not GAN.train_step:
        return None
    return gan_step_flops(model.generator, model.discriminator, batch_size=batch_size,
                          d_steps=model.d_steps)


def trace_train_step(model, element_spec):
    """The FuncGraph of `model.train_step` for one pipeline element of static shape."""
    return tf.function(model.train_step).get_concrete_function(element_spec).graph


def live_op_names(graph):
    """Names of the ops the runtime keeps: ancestors of the outputs and side effects."""
    keep = set()
    stack = [t.op for t in graph.outputs] + list(graph.control_outputs)
    while stack:
        op = stack.pop()
        if op.name in keep:
            continue
        keep.add(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return keep


def profiler_flops(graph):
    """FLOPs of a traced step by TensorFlow's profiler.

    Returns:
        dict: `live` (ops that run: the function's outputs, updates and their inputs),
        `live_mac` (of those, the MatMul/Conv ops), `live_by_type` (op type -> FLOPs),
        `all` (every op in the graph, dead gradients included), and `incomplete` (ops with
        a cost function the profiler had to skip for lack of static shapes; 0 means the
        count is complete).
    """
    profiler = tf.compat.v1.profiler
    live = live_op_names(graph)
    dead = "|".join(re.escape(op.name) for op in graph.get_operations() if op.name not in live)

    def profile(hide=None):
        builder = profiler.ProfileOptionBuilder(
            profiler.ProfileOptionBuilder.float_operation()).with_empty_output()
        if hide:
            builder.with_node_names(hide_name_regexes=[hide])
        return profiler.profile(graph, cmd="scope", options=builder.build())

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the profiler's v1 deprecation warnings
    try:
        everything, running = profile(), profile(dead)
    finally:
        logger.setLevel(level)
    by_type = collections.Counter()
    stack = list(running.children)
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        by_type[graph.get_operation_by_name(node.name).type] += int(node.float_ops)
    return dict(live=int(running.total_float_ops),
                live_mac=sum(v for k, v in by_type.items() if k in MAC_OP_TYPES),
                live_by_type=dict(by_type.most_common()),
                all=int(everything.total_float_ops),
                incomplete=_incomplete_shapes(graph))


def _incomplete_shapes(graph):
    """Ops with a registered FLOP function whose shapes are not fully static."""
    from tensorflow.python.framework import ops as ops_lib

    missing = 0
    for op in graph.get_operations():
        try:
            ops_lib.get_stats_for_node_def(graph, op.node_def, "flops")
        except ValueError:
            missing += 1
        except LookupError:
            pass
    return missing


def _size(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _check_groups(layer):
    if getattr(layer, "groups", 1) != 1:
        raise ValueError(f"grouped convolution {layer.name!r} is not counted")

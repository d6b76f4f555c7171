"""`cgan`: conditional GAN, G(z, y) and D(x, y) (Mirza & Osindero 2014).

Both players see the class label y: D judges whether x is a real example *of class y*,
so G must produce class y when asked for it. The game is that of `gan` with y added to
every call (`GANModel.train_step` with `conditional = True`), and any loss pair of
`tfgan_suite.losses` (`--loss`, default non-saturating).
Fakes are generated for the labels of the real batch they are compared with, so the fake
label distribution is the data's p(y) exactly (Mirza & Osindero draw y from the data too).

`--conditioning=concat` joins a learned label embedding to D's input (extra constant
feature maps for images, extra input features for points); `--conditioning=projection`
uses Miyato & Koyama's projection discriminator. G concatenates a label embedding
(`--label_embedding_dim`) to z in both modes. Networks: `tfgan_suite.nets.conditional`.

Needs labels: fashion_mnist, a TFDS dataset with a `label` feature (mnist, cifar10, ...),
or ring8/grid25 (label = mode index). The export takes `label` int32 [N] next to z.

Reference:
    Mirza & Osindero, "Conditional Generative Adversarial Nets", arXiv:1411.1784, 2014.
    Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018.

Length: the step is the shared one; the file holds the building of label-aware networks
and what the conditioning options mean.
"""

import dataclasses

from tfgan_suite import settings
from tfgan_suite.data import DataError
from tfgan_suite.variants.base import GANModel, LossParams
from tfgan_suite.variants.spec import Variant


@dataclasses.dataclass(frozen=True)
class ConditionalParams(LossParams):
    conditioning: str = settings.setting(
        "concat", "how D sees the label: concat (a learned label embedding as extra input "
        "feature maps / input features) or projection (Miyato & Koyama 2018: inner product "
        "of an embedding with D's features); G always concatenates the embedding to z",
        check=settings.one_of("concat", "projection"))
    label_embedding_dim: int = settings.setting(
        16, "size of the learned label embedding concatenated to z (and to D's input with "
        "--conditioning=concat)", check=settings.at_least(1))


class ConditionalGAN(GANModel):
    """`d_steps` updates of D(x, y), then one update of G(z, y): `GANModel`'s adversarial
    step with labels (`conditional = True`), fakes made for the real batch's labels.

    Args (beyond GANModel's):
        num_classes: number of labels; the pipeline yields (x, y) with y in
            [0, num_classes).

    Reference: Mirza & Osindero 2014, section 3.2 (the minimax game of eq. 2).
    """

    conditional = True
    Params = ConditionalParams

    def __init__(self, generator, discriminator, *, num_classes, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if num_classes < 1:
            raise ValueError(f"`num_classes` must be >= 1. Received: num_classes={num_classes}")
        self.num_classes = int(num_classes)

    @classmethod
    def create(cls, cfg, data):
        """Conditional networks for labelled `data`; DataError (nothing written) if unlabelled."""
        from tfgan_suite.nets import conditional

        if data.num_classes is None:
            raise DataError(
                f"--variant={cfg.variant} needs a labelled dataset, and {data.name!r} has no "
                "labels; use fashion_mnist, ring8, grid25 or a TFDS dataset with a `label` "
                "feature (mnist, cifar10, ...)")
        generator = conditional.build_generator(
            cfg.architecture, data_shape=data.shape, latent_dim=cfg.latent_dim,
            num_classes=data.num_classes, embedding_dim=cfg.label_embedding_dim,
            width=cfg.width, norm=cfg.g_norm)
        discriminator = conditional.build_discriminator(
            cfg.architecture, data_shape=data.shape, num_classes=data.num_classes,
            conditioning=cfg.conditioning, embedding_dim=cfg.label_embedding_dim,
            width=cfg.width, norm=cfg.d_norm, spectral_norm=cfg.d_spectral_norm)
        return cls(generator, discriminator, num_classes=data.num_classes,
                   **cls.model_kwargs(cfg))


VARIANT = Variant(
    name="cgan",
    model=ConditionalGAN,
    defaults=dict(loss="non_saturating", architecture="dcgan", conditioning="concat",
                  optimizer="adam", g_lr=2e-4, d_lr=2e-4, g_beta1=0.5, d_beta1=0.5),
    summary="conditional G(z, y), D(x, y): label embedding concatenated (or projection "
            "D, --conditioning=projection); needs labels; exports take `label`",
    reference="Mirza & Osindero, Conditional Generative Adversarial Nets, 2014; "
              "Miyato & Koyama, cGANs with Projection Discriminator, ICLR 2018",
)

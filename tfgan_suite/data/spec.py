"""What a model needs to know about its data, without the data: kind, shape, classes.

Why: networks are built from shapes and class counts alone, so a run records them in its
`config.json` (`DataSpec.as_dict()`), and exporting or evaluating a finished run rebuilds
its model from that record instead of loading the whole dataset again.
"""

import dataclasses
from typing import Optional, Tuple


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """The shape of a dataset, as `GANModel.create` reads it.

    Args:
        name: the dataset name (`fashion_mnist`, `ring8`, `synthetic_recsys`, ...).
        kind: "image", "points" or "recsys".
        shape: the shape of one example (images, points); None for recsys.
        num_classes: the label count of labelled data, else None.
        num_users, num_items: the sizes of recommendation data, else None.
    """

    name: str
    kind: str
    shape: Optional[Tuple[int, ...]] = None
    num_classes: Optional[int] = None
    num_users: Optional[int] = None
    num_items: Optional[int] = None

    def __post_init__(self):
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @classmethod
    def of(cls, data):
        """The spec of an ArrayData or RecsysData (or a DataSpec itself)."""
        if isinstance(data, cls):
            return data
        if data.kind == "recsys":
            return cls(data.name, data.kind, num_users=int(data.num_users),
                       num_items=int(data.num_items))
        return cls(data.name, data.kind, shape=data.shape, num_classes=data.num_classes)

    def as_dict(self):
        out = dataclasses.asdict(self)
        out["shape"] = None if self.shape is None else list(self.shape)
        return out

"""Declared settings: one declaration per knob gives its flag, its check and its README row.

Why: a setting's name is its `train.py` flag and its key in `config.json`; its default, its
help text and the check of its value are written once, next to it, with `setting(...)`.
The shared run settings (`tfgan_suite.config.Config`) and every variant's own parameters
(a frozen `Params` dataclass on the variant's model class) are declared this way, so flags,
validation, the saved run and the README table all come from the same declarations.

    @dataclasses.dataclass(frozen=True)
    class Params(settings.Params):
        gp_weight: float = settings.setting(10.0, "weight lambda of the penalty",
                                            check=settings.at_least(0))

    Params(gp_weight=-1)   # ConfigError: --gp_weight must be >= 0; got -1

A check is a function (name, value) -> an error message, or None when the value is fine.
"""

import dataclasses


class ConfigError(ValueError):
    """A setting has a value that is not accepted; the message says which are."""


def setting(default, help, *, check=None, group=None):
    """A dataclass field with its help text, its check and (shared settings) its group."""
    return dataclasses.field(default=default,
                             metadata={"help": help, "check": check, "group": group})


def check_fields(obj):
    """Runs the check of every field of the dataclass `obj`; raises the first failure."""
    for field in dataclasses.fields(obj):
        check = field.metadata.get("check")
        if check is None:
            continue
        message = check(field.name, getattr(obj, field.name))
        if message:
            raise ConfigError(message)


def one_of(*options):
    def check(name, value):
        if value not in options:
            return f"--{name}={value} is not accepted; use one of: {', '.join(map(str, options))}"
        return None

    check.options = options
    return check


def at_least(low):
    def check(name, value):
        return None if value >= low else f"--{name} must be >= {low}; got {value}"

    return check


def above(low):
    def check(name, value):
        return None if value > low else f"--{name} must be > {low}; got {value}"

    return check


def within(low, high, *, low_open=False, high_open=False):
    """low <= value <= high, each end open or closed as asked."""
    text = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"

    def check(name, value):
        ok_low = value > low if low_open else value >= low
        ok_high = value < high if high_open else value <= high
        return None if ok_low and ok_high else f"--{name} must be in {text}; got {value}"

    return check


def optional(inner):
    """None is accepted (the setting is resolved automatically); else `inner` decides."""
    def check(name, value):
        return None if value is None else inner(name, value)

    check.options = getattr(inner, "options", None)
    return check


@dataclasses.dataclass(frozen=True)
class Params:
    """Base of a variant's own parameters (a frozen dataclass of `setting` fields).

    Constructing one checks every value, so a model built from Python and a run built
    from flags go through the same checks.
    """

    def __post_init__(self):
        check_fields(self)

    @classmethod
    def names(cls):
        return tuple(f.name for f in dataclasses.fields(cls))

    def as_dict(self):
        return dataclasses.asdict(self)

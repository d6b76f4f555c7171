"""Shared command-line plumbing: usage errors are one line on stderr and exit status 2.

Why: absl prints several lines and exits with status 1 when a flag does not parse,
which scripts cannot tell apart from a crash. The suite's commands report every
usage error the same way instead:

    error: flag --num=abc: invalid literal for int() with base 10: 'abc' (see --help)

Use `parse_flags_or_exit` as the `flags_parser` of `absl.app.run`, and `usage_error`
for errors found after parsing:

    app.run(main, flags_parser=parse_flags_or_exit)
"""

import os
import sys
from typing import Callable, List, NoReturn, Optional

from absl import app, flags


def usage_error(msg: str) -> NoReturn:
    """Prints `error: msg` (on one line) to stderr and exits with status 2."""
    one_line = " ".join(str(msg).split())
    print(f"error: {one_line}", file=sys.stderr, flush=True)
    sys.exit(2)


def parse_flags_or_exit(argv: List[str]) -> list:
    """Parses `argv` into `absl.flags.FLAGS`; a bad flag is a `usage_error`.

    Args:
        argv: the full command line, program name first.

    Returns:
        The remaining arguments (program name first), as `absl.app.run` expects.
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        usage_error(f"{e} (see --help)")


def run_main(main: Callable, define_flags: Optional[Callable] = None) -> None:
    """A console entry point: TensorFlow's C++ logs kept quiet, the command's flags defined,
    then `main` run by absl with every usage error as one line (`parse_flags_or_exit`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if define_flags is not None:
        define_flags()
    app.run(main, flags_parser=parse_flags_or_exit)


INT64_RANGE = (-2**63, 2**63 - 1)


def define_model_flag(flag_values: flags.FlagValues) -> None:
    """`--model`, the exported model that `sample` and `evaluate` read (required)."""
    flags.DEFINE_string("model", None, "An exported model: a version directory (with "
                        "saved_model.pb) or a variant directory, whose highest version is used "
                        "(`sample` also takes a .tflite file written by `export --tflite`).",
                        flag_values=flag_values)
    flags.mark_flags_as_required(["model"], flag_values=flag_values)

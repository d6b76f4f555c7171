"""README sections generated from the code, so that the README cannot drift from it.

`python -m tfgan_suite.docs` rewrites, in README.md, the text between
`<!-- VARIANTS:BEGIN -->`/`<!-- VARIANTS:END -->` (the registry: name, summary, defaults,
paper) and `<!-- FLAGS:BEGIN -->`/`<!-- FLAGS:END -->` (every Config field).
`tests/test_readme.py` fails when README.md differs from what this would write.
"""

import os
import re
import sys

from tfgan_suite import config, variants


def _value(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def _cell(text):
    """Text safe inside a markdown table cell (a bare | would end the cell)."""
    return str(text).replace("|", "\\|")


def variants_markdown():
    """One row per registered variant (aliases noted), in registry order."""
    aliases = {}
    for alias, name in variants.ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    lines = ["| `--variant` | what it is | defaults (where they differ from the suite's) "
             "| paper |", "|---|---|---|---|"]
    for name, variant in variants.REGISTRY.items():
        label = f"`{name}`" + "".join(f" (alias `{a}`)" for a in aliases.get(name, []))
        defaults = ", ".join(f"{k}={_value(v)}" for k, v in variant.defaults.items()) or "-"
        if variant.points_defaults:
            defaults += "; on 2-D data (ring8, grid25): " + ", ".join(
                f"{k}={_value(v)}" for k, v in variant.points_defaults.items())
        lines.append(f"| {label} | {_cell(variant.summary)} | {_cell(defaults)} | "
                     f"{_cell(variant.reference)} |")
    return "\n".join(lines)


SECTIONS = {"VARIANTS": variants_markdown, "FLAGS": config.flags_markdown}


def render(text):
    """`text` (README.md) with every generated section replaced by its current content."""
    for marker, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- {marker}:BEGIN -->\n).*?(<!-- {marker}:END -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md has no <!-- {marker}:BEGIN/END --> markers")
        text = pattern.sub(lambda m: m.group(1) + make().strip() + "\n" + m.group(2), text)
    return text


def main(path=None):
    path = path or os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")
    with open(path) as f:
        old = f.read()
    new = render(old)
    if new != old:
        with open(path, "w") as f:
            f.write(new)
    print(f"{path}: {'updated' if new != old else 'up to date'}")


if __name__ == "__main__":
    main(*sys.argv[1:])

"""README.md stays true: its generated sections equal what the code says today."""

import os

from tfgan_suite import docs, variants

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_generated_sections_are_current():
    with open(README) as f:
        text = f.read()
    assert docs.render(text) == text, (
        "README.md is stale: run `python -m tfgan_suite.docs` and commit the result")


def test_variant_table_lists_every_variant_and_its_paper():
    table = docs.variants_markdown()
    for name, variant in variants.REGISTRY.items():
        assert f"| `{name}`" in table and docs._cell(variant.reference) in table

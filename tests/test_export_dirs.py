"""Tests for tfgan_suite.export_dirs: versions, atomic writes and the metadata file.

No TensorFlow here: a "SavedModel" is a directory holding a `saved_model.pb` file,
which is all the layout code looks at. Expectations are written out by hand.
"""

import os
import re

import pytest

from tfgan_suite import export_dirs
from tfgan_suite.export_dirs import ExportError


def fake_save(directory):
    """Stands in for `tf.saved_model.save`: what a finished SavedModel directory holds."""
    os.makedirs(os.path.join(directory, "variables"))
    with open(os.path.join(directory, "saved_model.pb"), "w") as f:
        f.write("graph")


def make_version(base, name):
    fake_save(os.path.join(base, name))
    return os.path.join(base, name)


@pytest.fixture
def crowded(tmp_path):
    """An export base with versions 1, 2, 007 and 10 among things that are not versions."""
    base = str(tmp_path / "dcgan")
    for name in ("1", "2", "007", "10"):
        make_version(base, name)
    fake_save(os.path.join(base, ".tmp-11-4242"))  # a complete model, but never renamed
    os.makedirs(os.path.join(base, "notes"))
    os.makedirs(os.path.join(base, "-3"))
    os.makedirs(os.path.join(base, "4a"))
    open(os.path.join(base, "12"), "w").close()  # a file named like a version
    open(os.path.join(base, "13.txt"), "w").close()
    return base


def test_versions_are_integer_directories_in_numeric_order(crowded):
    assert export_dirs.versions(crowded) == {1: "1", 2: "2", 7: "007", 10: "10"}
    assert list(export_dirs.versions(crowded)) == [1, 2, 7, 10]  # 10 after 7, not after 1


def test_versions_of_an_empty_missing_or_file_path_are_none(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    assert export_dirs.versions(str(tmp_path / "empty")) == {}
    assert export_dirs.versions(str(tmp_path / "missing")) == {}
    assert export_dirs.versions(str(tmp_path / "file")) == {}


def test_next_version_follows_the_highest_and_ignores_temporary_dirs(crowded, tmp_path):
    assert export_dirs.next_version(crowded) == 11
    assert export_dirs.next_version(str(tmp_path / "missing")) == 1


def test_resolve_picks_the_highest_version_never_a_temporary_dir(crowded):
    assert export_dirs.resolve_model_dir(crowded) == os.path.join(crowded, "10")
    assert export_dirs.resolve_model_dir(os.path.join(crowded, "2")) == os.path.join(crowded, "2")
    assert export_dirs.resolve_model_dir(os.path.join(crowded, "007")) == os.path.join(crowded, "007")


def test_resolve_does_not_fall_back_to_a_lower_version(crowded):
    os.remove(os.path.join(crowded, "10", "saved_model.pb"))
    with pytest.raises(ExportError, match=r"10 \(the highest version in .*dcgan\) holds no saved_model.pb"):
        export_dirs.resolve_model_dir(crowded)


def test_write_version_publishes_the_model_and_its_metadata(tmp_path):
    base = str(tmp_path / "a" / "dcgan")  # missing parents are created
    meta = {"variant": "dcgan", "step": 5, "data_shape": [2]}

    assert export_dirs.write_version(base, fake_save, meta) == os.path.join(base, "1")
    assert export_dirs.write_version(base, fake_save, dict(meta, step=6)) == os.path.join(base, "2")

    assert sorted(os.listdir(base)) == ["1", "2"]
    assert sorted(os.listdir(os.path.join(base, "1"))) == ["assets.extra", "saved_model.pb", "variables"]
    with open(os.path.join(base, "1", "assets.extra", "tfgan_suite.json")) as f:
        assert f.read() == ('{\n  "data_shape": [\n    2\n  ],\n  "step": 5,\n'
                            '  "variant": "dcgan"\n}\n')
    assert export_dirs.read_meta(base) == {"variant": "dcgan", "step": 6, "data_shape": [2]}
    assert export_dirs.read_meta(os.path.join(base, "1")) == meta


def test_a_model_being_written_is_not_a_version(tmp_path):
    base = str(tmp_path / "dcgan")
    make_version(base, "1")
    seen = {}

    def observing_save(directory):
        fake_save(directory)  # complete, but not yet renamed
        seen["dir"] = os.path.basename(directory)
        seen["versions"] = export_dirs.versions(base)
        seen["resolved"] = export_dirs.resolve_model_dir(base)

    assert export_dirs.write_version(base, observing_save, {}) == os.path.join(base, "2")
    assert seen == {"dir": f".tmp-2-{os.getpid()}", "versions": {1: "1"},
                    "resolved": os.path.join(base, "1")}


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    base = str(tmp_path / "dcgan")

    def failing_save(directory):
        os.makedirs(os.path.join(directory, "variables"))  # half-written
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        export_dirs.write_version(base, failing_save, {})
    assert os.listdir(base) == []
    assert export_dirs.versions(base) == {}


def test_a_version_claimed_meanwhile_is_not_overwritten(tmp_path):
    base = str(tmp_path / "dcgan")

    def save_while_another_export_lands(directory):
        fake_save(directory)
        make_version(base, "1")  # another process published version 1 first

    assert export_dirs.write_version(base, save_while_another_export_lands, {"step": 2}) == (
        os.path.join(base, "2"))
    assert export_dirs.versions(base) == {1: "1", 2: "2"}
    assert not os.path.exists(os.path.join(base, "1", "assets.extra"))  # the other one, untouched
    assert export_dirs.read_meta(base) == {"step": 2}


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "does not hold a JSON object"),
    ("{not json", "cannot read .*tfgan_suite.json: Expecting property name"),
])
def test_read_meta_rejects_a_bad_metadata_file(tmp_path, content, message):
    version_dir = make_version(str(tmp_path), "1")
    os.makedirs(os.path.join(version_dir, "assets.extra"))
    with open(os.path.join(version_dir, "assets.extra", "tfgan_suite.json"), "w") as f:
        f.write(content)
    with pytest.raises(ExportError, match=message) as info:
        export_dirs.read_meta(str(tmp_path))
    assert "\n" not in str(info.value)


def test_read_meta_without_a_metadata_file(tmp_path):
    version_dir = make_version(str(tmp_path), "3")
    with pytest.raises(ExportError, match=f"^{re.escape(version_dir)} has no assets.extra/tfgan_suite.json; "
                                          "it was not exported by tfgan_suite$"):
        export_dirs.read_meta(str(tmp_path))


"""The blocklist file: format, atomic replacement, change detection, no accidental emptying."""

import os

import pytest

from bouncewatch.publish.files import ShrinkRefused, publish, render_text


def test_render_is_sorted_lowercase_unique():
    """One lowercase address per line, sorted, duplicates folded."""
    assert render_text(["B@x.example", "a@x.example", "b@X.example"]) == b"a@x.example\nb@x.example\n"


def test_publish_writes_only_on_change(tmp_path):
    """The file is replaced when content changes and left alone (same inode) when it does not."""
    path = tmp_path / "blocklist.txt"
    assert publish(path, b"a@x.example\n")
    inode = os.stat(path).st_ino
    assert not publish(path, b"a@x.example\n")
    assert os.stat(path).st_ino == inode
    assert publish(path, b"a@x.example\nb@x.example\n")
    assert os.stat(path).st_ino != inode  # renamed over, not rewritten in place
    assert path.read_bytes() == b"a@x.example\nb@x.example\n"
    assert [p.name for p in tmp_path.iterdir()] == ["blocklist.txt"]  # no temp files left


def test_publish_refuses_to_empty_a_list(tmp_path):
    """An empty render over a non-empty file is refused unless forced."""
    path = tmp_path / "blocklist.txt"
    publish(path, b"a@x.example\n")
    with pytest.raises(ShrinkRefused):
        publish(path, b"")
    assert path.read_bytes() == b"a@x.example\n"
    assert publish(path, b"", force=True)
    assert path.read_bytes() == b""

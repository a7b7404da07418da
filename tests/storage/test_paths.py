"""File names built from ids stay inside their folder."""

import pytest

from storage.paths import UnsafePath, file_inside


def test_a_plain_name_lands_in_the_folder(tmp_path):
    assert file_inside(tmp_path, "call_0123.wav") == tmp_path.resolve() / "call_0123.wav"


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x.wav", "a/b.wav", "/etc/passwd", "..\\x.wav", "x\x00.wav"]
)
def test_a_name_that_leaves_the_folder_is_refused(tmp_path, name):
    with pytest.raises(UnsafePath):
        file_inside(tmp_path, name)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "link.wav").symlink_to(tmp_path / "elsewhere.wav")
    with pytest.raises(UnsafePath):
        file_inside(tmp_path / "inside", "link.wav")

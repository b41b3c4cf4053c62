"""DATA_DIR checks: one line naming the setting and the absolute path."""

import os
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.pipeline.data_dir import check_writable, low_space_warning


def test_a_missing_data_dir_is_created(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "data")
    assert (tmp_path / "new" / "data").is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_data_dir_names_the_setting_and_the_path(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ConfigError) as error:
        check_writable(locked)
    assert str(error.value).startswith(f"DATA_DIR ({locked}) is not writable")


def test_a_data_dir_that_is_a_file_names_the_setting(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(ConfigError, match=r"DATA_DIR \(.*file\) is a file"):
        check_writable(file)


def test_a_data_dir_under_a_file_is_not_writable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"DATA_DIR .* is not writable"):
        check_writable(tmp_path / "file" / "data")


def test_a_nearly_full_disk_is_one_line(tmp_path: Path) -> None:
    warning = low_space_warning(tmp_path, minimum=2**62)
    assert warning is not None and "\n" not in warning
    assert str(tmp_path) in warning and "nearly full" in warning
    assert low_space_warning(tmp_path, minimum=1) is None

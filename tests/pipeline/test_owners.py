"""Process owners: a live owner's lock is held; a gone one's is free, however it ended."""

from pathlib import Path

from bot.pipeline.owners import ProcessOwner, is_owner_gone, remove_files_of_gone_owners


def test_a_live_owner_is_not_gone_to_another_process(tmp_path: Path) -> None:
    live = ProcessOwner.acquire(tmp_path)
    other = ProcessOwner.acquire(tmp_path)
    try:
        assert not other.is_gone(live.id)
        assert not live.is_gone(live.id)
    finally:
        live.release()
        other.release()


def test_an_owner_that_stopped_cleanly_is_gone(tmp_path: Path) -> None:
    stopped = ProcessOwner.acquire(tmp_path)
    stopped.release()
    assert is_owner_gone(tmp_path, stopped.id)


def test_an_owner_that_died_without_tidying_is_gone_and_its_file_removed(tmp_path: Path) -> None:
    dead = ProcessOwner.acquire(tmp_path)
    lock_file = tmp_path / "owners" / f"{dead.id}.lock"
    dead._lock_file.close()  # type: ignore[union-attr]  # what the OS does at kill -9
    assert lock_file.exists()
    assert is_owner_gone(tmp_path, dead.id)
    assert not lock_file.exists()


def test_rows_from_before_owners_were_recorded_belong_to_nobody_alive(tmp_path: Path) -> None:
    assert is_owner_gone(tmp_path, None)


def test_files_of_gone_owners_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    live = ProcessOwner.acquire(tmp_path)
    dead = ProcessOwner.acquire(tmp_path)
    dead._lock_file.close()  # type: ignore[union-attr]  # killed without tidying
    try:
        assert remove_files_of_gone_owners(tmp_path) == 1
        assert [path.name for path in (tmp_path / "owners").iterdir()] == [f"{live.id}.lock"]
    finally:
        live.release()

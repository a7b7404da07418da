import pytest

from storage.sqlite import SQLiteStorage


@pytest.fixture
async def storage(tmp_path):
    store = SQLiteStorage(tmp_path / "switchboard.db")
    await store.open()
    yield store
    await store.close()

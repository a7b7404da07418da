"""What only the Supabase backend has to get right: refusing bad settings early, bucket errors."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from storage.supabase import SupabaseStorage
from tests.storage.conftest import supabase_settings
from tests.storage.helpers import call, write_wav


async def test_supabase_refuses_to_open_without_a_key_or_with_a_wrong_one(postgrest):
    missing = supabase_settings(postgrest).model_copy(update={"supabase_service_key": None})
    with pytest.raises(ValueError, match="SUPABASE_SERVICE_KEY"):
        await SupabaseStorage(missing).open()
    wrong = supabase_settings(postgrest).model_copy(
        update={"supabase_service_key": SecretStr("anon-key")}
    )
    with pytest.raises(RuntimeError, match="Invalid API key"):
        await SupabaseStorage(wrong).open()


async def test_an_upload_to_a_missing_bucket_says_which_bucket(postgrest, tmp_path):
    settings = supabase_settings(postgrest).model_copy(
        update={"supabase_recordings_bucket": "no-such-bucket"}
    )
    storage = SupabaseStorage(settings)
    await storage.open()
    await storage.create_call(call("c_bucket"))
    with pytest.raises(RuntimeError, match="no-such-bucket"):
        await storage.upload_recording("c_bucket", str(write_wav(tmp_path / "c.wav")))
    await storage.close()

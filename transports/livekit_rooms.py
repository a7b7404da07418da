"""LiveKit rooms and tokens: RoomService over Twirp, and JWTs for the user and the bot."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from livekit import api

from config import Settings
from providers.errors import MissingKeyError

USER_TOKEN_TTL = timedelta(minutes=15)
BOT_TOKEN_TTL = timedelta(hours=2)


@dataclass
class LiveKitRooms:
    """Creates rooms and mints tokens on one LiveKit deployment."""

    url: str
    api_url: str
    api_key: str
    api_secret: str
    empty_timeout_secs: int = 300
    max_participants: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> LiveKitRooms:
        """Read the LiveKit deployment from settings, naming any missing variable."""
        if not settings.livekit_url:
            raise MissingKeyError("LIVEKIT_URL", "LiveKit rooms")
        if not settings.livekit_api_key:
            raise MissingKeyError("LIVEKIT_API_KEY", "LiveKit rooms")
        if not settings.livekit_api_secret:
            raise MissingKeyError("LIVEKIT_API_SECRET", "LiveKit rooms")
        return cls(
            url=settings.livekit_url,
            api_url=settings.livekit_http_url or "",
            api_key=settings.livekit_api_key,
            api_secret=settings.livekit_api_secret.get_secret_value(),
        )

    async def create_room(self, name: str, metadata: dict[str, Any] | None = None) -> str:
        """Create the room (empty timeout, max participants) and return its name."""
        async with api.LiveKitAPI(
            self.api_url, self.api_key, self.api_secret, failover=False
        ) as lk:
            room = await lk.room.create_room(
                api.CreateRoomRequest(
                    name=name,
                    empty_timeout=self.empty_timeout_secs,
                    max_participants=self.max_participants,
                    metadata=json.dumps(metadata or {}),
                )
            )
        return room.name

    async def delete_room(self, name: str) -> None:
        """Delete a room (ends the call for everyone in it)."""
        async with api.LiveKitAPI(
            self.api_url, self.api_key, self.api_secret, failover=False
        ) as lk:
            await lk.room.delete_room(api.DeleteRoomRequest(room=name))

    def _token(self, room: str, identity: str, name: str, metadata: dict, ttl: timedelta) -> str:
        grants = api.VideoGrants(
            room_join=True, room=room, can_publish=True, can_subscribe=True, can_publish_data=True
        )
        return (
            api.AccessToken(self.api_key, self.api_secret)
            .with_identity(identity)
            .with_name(name)
            .with_metadata(json.dumps(metadata))
            .with_grants(grants)
            .with_ttl(ttl)
            .to_jwt()
        )

    def user_token(
        self, room: str, *, identity: str, name: str, metadata: dict[str, Any]
    ) -> str:
        """A short-lived token for the caller, scoped to one room."""
        return self._token(room, identity, name, metadata, USER_TOKEN_TTL)

    def bot_token(self, room: str, call_id: str) -> str:
        """The bot's token, with an identity unique to this call (no DuplicateIdentity)."""
        identity = f"bot-{call_id}-{secrets.token_hex(3)}"
        return self._token(room, identity, "Switchboard bot", {"call_id": call_id}, BOT_TOKEN_TTL)

"""Daily rooms and meeting tokens over Daily's REST API (Pipecat's ``DailyRESTHelper``)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
from pipecat.transports.daily.utils import (
    DailyMeetingTokenParams,
    DailyMeetingTokenProperties,
    DailyRESTHelper,
    DailyRoomParams,
    DailyRoomProperties,
)

from config import Settings
from providers.errors import MissingKeyError

USER_TOKEN_TTL_SECS = 15 * 60
BOT_TOKEN_TTL_SECS = 2 * 60 * 60


@dataclass(frozen=True)
class DailyRoom:
    """A room ready for a call: where it is, and who may join it.

    Attributes:
        name: The room's name.
        url: The URL clients (and the bot) join.
        user_token: The caller's meeting token (not an owner, short-lived).
        bot_token: The bot's meeting token (owner, lasts the call).
    """

    name: str
    url: str
    user_token: str
    bot_token: str


@dataclass
class DailyRooms:
    """Creates rooms and meeting tokens on one Daily account."""

    api_url: str
    api_key: str
    room_ttl_secs: int = 2 * 60 * 60
    max_participants: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> DailyRooms:
        """Read the Daily account from settings.

        Raises:
            MissingKeyError: ``DAILY_API_KEY`` is not set.
        """
        if not settings.daily_api_key or not settings.daily_api_key.get_secret_value():
            raise MissingKeyError("DAILY_API_KEY", "Daily rooms")
        return cls(
            api_url=settings.daily_api_url, api_key=settings.daily_api_key.get_secret_value()
        )

    def _helper(self, session: aiohttp.ClientSession) -> DailyRESTHelper:
        return DailyRESTHelper(
            daily_api_key=self.api_key, daily_api_url=self.api_url, aiohttp_session=session
        )

    async def open_room(self, name: str, *, user_id: str, user_name: str) -> DailyRoom:
        """Create a private, expiring room and mint the caller's and the bot's tokens.

        Args:
            name: Room name (letters, digits, ``-`` and ``_``).
            user_id: The caller's id, carried in their token.
            user_name: The caller's display name, carried in their token.

        Returns:
            The room with both tokens.

        Raises:
            Exception: Daily refused a request (the message carries Daily's answer).
        """
        async with aiohttp.ClientSession() as session:
            daily = self._helper(session)
            room = await daily.create_room(
                DailyRoomParams(
                    name=name,
                    privacy="private",
                    properties=DailyRoomProperties(
                        exp=time.time() + self.room_ttl_secs,
                        eject_at_room_exp=True,
                        max_participants=self.max_participants,
                    ),
                )
            )
            now = int(time.time())
            user_token = await self._meeting_token(
                session,
                DailyMeetingTokenProperties(
                    room_name=room.name,
                    user_id=user_id,
                    user_name=user_name,
                    is_owner=False,
                    exp=now + USER_TOKEN_TTL_SECS,
                ),
            )
            bot_token = await self._bot_token(session, room.name)
        return DailyRoom(name=room.name, url=room.url, user_token=user_token, bot_token=bot_token)

    async def rejoin_room(self, name: str) -> tuple[str, str]:
        """The URL of an existing room and a new bot token for it (a call moving hosts).

        Args:
            name: The room's name (as the call's row and the fleet's record of it hold it).

        Returns:
            ``(url, bot_token)``: the room's URL as Daily has it, and a bot (owner) token
            minted as :meth:`open_room` mints one.

        Raises:
            RuntimeError: The room is gone, or Daily refused the token (Daily's answer).
            aiohttp.ClientError: Daily is unreachable.
        """
        async with aiohttp.ClientSession() as session:
            url, token = await asyncio.gather(
                self._room_url(session, name), self._bot_token(session, name)
            )
        return url, token

    async def _room_url(self, session: aiohttp.ClientSession, name: str) -> str:
        """The URL of the room named ``name`` (``GET /rooms/<name>``)."""
        async with session.get(
            f"{self.api_url}/rooms/{name}", headers={"Authorization": f"Bearer {self.api_key}"}
        ) as response:
            if response.status != 200:
                text = await response.text()
                raise RuntimeError(f"Daily room {name} lookup failed ({response.status}): {text}")
            return (await response.json())["url"]

    async def _bot_token(self, session: aiohttp.ClientSession, room_name: str) -> str:
        """The bot's meeting token for ``room_name``: owner, lasting the call."""
        return await self._meeting_token(
            session,
            DailyMeetingTokenProperties(
                room_name=room_name,
                user_name="Switchboard bot",
                is_owner=True,
                exp=int(time.time()) + BOT_TOKEN_TTL_SECS,
            ),
        )

    async def _meeting_token(
        self, session: aiohttp.ClientSession, properties: DailyMeetingTokenProperties
    ) -> str:
        """Mint a meeting token for the named room.

        ``DailyRESTHelper.get_token`` derives the room name from the URL path, which only holds
        for Daily's own ``https://<domain>.daily.co/<name>`` URLs; the name is passed as is here.
        """
        body = DailyMeetingTokenParams(properties=properties).model_dump(exclude_none=True)
        async with session.post(
            f"{self.api_url}/meeting-tokens",
            headers={"Authorization": f"Bearer {self.api_key}"},
            json=body,
        ) as response:
            if response.status != 200:
                text = await response.text()
                raise RuntimeError(f"Daily meeting token failed ({response.status}): {text}")
            return (await response.json())["token"]

    async def delete_room(self, name: str) -> None:
        """Delete a room (a missing room is fine)."""
        async with aiohttp.ClientSession() as session:
            await self._helper(session).delete_room_by_name(name)

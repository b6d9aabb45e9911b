"""A `[[target]]` with `platform = "genesys"`: one Internal DNC list (docs/configuration.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dncsync.platforms.base import TargetConfigBase


class GenesysTargetConfig(TargetConfigBase):
    """A `[[target]]` with `platform = "genesys"`."""

    platform: Literal["genesys"]
    region: str = "us_east_1"
    dnc_list_id: str
    client_id_env: str = "GENESYS_CLIENT_ID"
    client_secret_env: str = "GENESYS_CLIENT_SECRET"  # noqa: S105 - a variable name
    export_poll_seconds: float = Field(2.0, gt=0)  # reading the list: how often to ask
    export_timeout_seconds: float = Field(600.0, gt=0)  # reading the list: how long at most

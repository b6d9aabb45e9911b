"""A `[[target]]` with `platform = "genesys"`: one Internal DNC list (docs/configuration.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from dncsync.platforms.base import TargetConfigBase, one_way_to_name_lists


class GenesysTargetConfig(TargetConfigBase):
    """A `[[target]]` with `platform = "genesys"`."""

    platform: Literal["genesys"]
    region: str = "us_east_1"
    dnc_list_id: str  # the list; with `dnc_list_ids`, filled with the first of them
    dnc_list_ids: list[str] | None = None  # several lists, the numbers spread over them
    client_id_env: str = "GENESYS_CLIENT_ID"
    client_secret_env: str = "GENESYS_CLIENT_SECRET"  # noqa: S105 - a variable name
    export_poll_seconds: float = Field(2.0, gt=0)  # reading the list: how often to ask
    export_timeout_seconds: float = Field(600.0, gt=0)  # reading the list: how long at most

    @model_validator(mode="before")
    @classmethod
    def _one_way_to_name_lists(cls, raw: Any) -> Any:
        return one_way_to_name_lists(raw, "dnc_list_id", "dnc_list_ids")

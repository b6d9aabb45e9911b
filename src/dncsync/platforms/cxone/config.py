"""A `[[target]]` with `platform = "cxone"`: one DNC group of a tenant (docs/configuration.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from dncsync.platforms.base import TargetConfigBase, one_way_to_name_lists

# An integer cannot carry the leading 0 of `011`: sent as one, a German opt-out would arrive
# as digits that read as another number. Only North American numbers fit.
INTEGER_NEEDS_SKIP = (
    'phone_json_type = "integer" needs international = "skip": a JSON integer loses the '
    "leading 0 of 011, so numbers outside North America cannot be sent"
)


class CxoneTargetConfig(TargetConfigBase):
    """A `[[target]]` with `platform = "cxone"`."""

    platform: Literal["cxone"]
    tenant_id: str
    dnc_group_id: int  # the group; with `dnc_group_ids`, filled with the first of them
    dnc_group_ids: list[int] | None = None  # several groups, the numbers spread over them
    international: Literal["011", "skip"] = "011"
    # How phoneNumber is typed in the JSON sent: a string of digits, or (for a tenant that
    # takes only integers) a JSON integer, which needs international = "skip".
    phone_json_type: Literal["string", "integer"] = "string"
    api_version: int = Field(31, ge=1)  # the Admin API's v{NN}.0
    access_key_id_env: str = "CXONE_ACCESS_KEY_ID"
    access_key_secret_env: str = "CXONE_ACCESS_KEY_SECRET"  # noqa: S105 - a variable name
    client_id_env: str = "CXONE_CLIENT_ID"
    client_secret_env: str = "CXONE_CLIENT_SECRET"  # noqa: S105 - a variable name
    batch_size: int = Field(500, ge=1, le=100_000)
    page_size: int = Field(1000, ge=1, le=10_000)  # records per GET when reading the group

    @model_validator(mode="before")
    @classmethod
    def _one_way_to_name_groups(cls, raw: Any) -> Any:
        return one_way_to_name_lists(raw, "dnc_group_id", "dnc_group_ids")

    @model_validator(mode="after")
    def _integers_only_north_american(self) -> CxoneTargetConfig:
        if self.phone_json_type == "integer" and self.international != "skip":
            raise ValueError(INTEGER_NEEDS_SKIP)
        return self

"""JSON shapes of the account, admin and audit pages (their JSON twins)."""

from __future__ import annotations

from pydantic import BaseModel, Field

# Times are kept as naive UTC; sent with their offset, as RFC 3339 (the schema's date-time) wants.
from chainlight.web.alert_payloads import UtcDatetime


class TokenInfo(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it; the secret is shown once only")
    user: str
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
    expires_at: UtcDatetime | None
    revoked: bool


class Account(BaseModel):
    user: str
    name: str | None
    organisation: str
    role: str
    via: str = Field(description="How this request was authenticated: session, token or trusted")
    tokens: list[TokenInfo]


class UserInfo(BaseModel):
    email: str
    name: str
    organisation: str
    role: str
    created_at: UtcDatetime
    last_login_at: UtcDatetime | None
    disabled: bool


class OrganisationInfo(BaseModel):
    name: str
    title: str


class GroupInfo(BaseModel):
    name: str
    title: str
    owner: str | None = Field(description="Organisation whose admins manage the members; null: the operator")
    members: list[str]
    managed_by_viewer: bool


class AdminOverview(BaseModel):
    organisation: str
    organisations: list[OrganisationInfo]
    groups: list[GroupInfo]
    users: list[UserInfo] = Field(description="Users of the viewer's organisation")
    tokens: list[TokenInfo] = Field(description="API tokens of the viewer's organisation's users")


class AuditEntry(BaseModel):
    seq: int
    at: str
    user: str
    organisation: str
    action: str
    target: str
    marking: str | None
    purpose: str | None
    detail: str | None
    client: str | None
    hash: str


class AuditLog(BaseModel):
    organisation: str
    entries: list[AuditEntry]
    next_before: int | None = Field(description="Pass as ?before= for the next (older) page")

"""Staff accounts, API keys for other systems, and the audit trail of who did what.

Nothing secret is stored in the clear: passwords as Argon2id hashes, API keys as the SHA-256 of
a 256-bit random key (a key that long needs no slow hash; ASVS 6.5.2). The audit trail names
actors and subjects by id (``user:3``, ``apikey:7``), never by e-mail address, and holds no
secret, so it can outlive an erasure.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.clock import utcnow
from surveys.db import Base
from surveys.models.campaigns import Campaign

EMAIL_LENGTH = 254
API_KEY_NAME_LENGTH = 80


class Role(StrEnum):
    ADMIN = "admin"  # everything, including accounts and API keys
    RESEARCHER = "researcher"  # the studio: instruments, campaigns, invitations, imports
    MANAGER = "manager"  # insights: dashboards and reports


class User(Base):
    """A staff account. ``session_epoch`` is part of the login cookie's user id; bumping it
    (logout, password change, disabling) makes every earlier cookie of the account worthless."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased at entry, so the unique constraint is case-insensitive in effect.
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)
    role: Mapped[Role] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Set for a generated one-time password: the next login must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class ApiKey(Base):
    """The key of one integration (e.g. the hotline), optionally limited to one campaign."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(API_KEY_NAME_LENGTH), unique=True)
    #: The key's first characters, shown in listings so a key can be recognised.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    campaign: Mapped[Campaign | None] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(Base):
    """One security-relevant event: a login, a key created or revoked, an erasure."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Who acted: ``user:<id>``, ``apikey:<id>``, ``cli`` or ``anonymous``.
    actor: Mapped[str] = mapped_column(String(40))
    #: What happened, dotted: ``login.succeeded``, ``apikey.revoked``...
    action: Mapped[str] = mapped_column(String(60), index=True)
    #: What it happened to: ``user:<id>``, ``apikey:<id>``, ``campaign:<key>``, or nothing.
    subject: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

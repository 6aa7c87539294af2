"""Slack installations (OAuth mode): each workspace's or org's encrypted bot token, and the install states."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import OUR_TABLE_ARGS, Base, IdType, NameType, TenantIdType, new_id


class SlackInstallation(Base):
    """The app installed in a workspace (or, org-wide, in an Enterprise Grid org) through Slack's OAuth
    flow: its bot token, encrypted. One row per workspace or org, updated on re-install and rotation;
    uninstalling clears the tokens and keeps the row (and the tenant's data)."""

    __tablename__ = "slack_installations"
    __table_args__ = (UniqueConstraint("enterpriseId", "teamId", name="uq_slack_installations_enterprise_team"),
                      Index("ix_slack_installations_tenantId", "tenantId"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    # The workspace's tenant; None for an org-wide install (each workspace of the org is its own tenant).
    tenantId: Mapped[str | None] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    enterpriseId: Mapped[str] = mapped_column(IdType, server_default="")  # "" when absent (a unique key ignores NULLs)
    teamId: Mapped[str] = mapped_column(IdType, server_default="")  # "" for an org-wide install
    isEnterpriseInstall: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    appId: Mapped[str | None] = mapped_column(IdType)
    name: Mapped[str | None] = mapped_column(NameType)  # the workspace's (or org's) name
    installerUserId: Mapped[str | None] = mapped_column(IdType)
    botId: Mapped[str | None] = mapped_column(IdType)
    botUserId: Mapped[str | None] = mapped_column(IdType)
    botScopes: Mapped[str | None] = mapped_column(Text)
    credentials: Mapped[str | None] = mapped_column(Text)  # encrypted {bot_token, bot_refresh_token}; None once revoked
    botTokenExpiresAt: Mapped[datetime | None] = mapped_column(DateTime)  # with token rotation
    isActive: Mapped[bool] = mapped_column(Boolean, server_default=text("1"))
    installedAt: Mapped[datetime] = mapped_column(DateTime)
    deactivatedAt: Mapped[datetime | None] = mapped_column(DateTime)
    deactivatedReason: Mapped[str | None] = mapped_column(String(64))


class SlackOAuthState(Base):
    """A state handed to one browser at /slack/install, consumed once at /slack/oauth_redirect."""

    __tablename__ = "slack_oauth_states"
    __table_args__ = (Index("ix_slack_oauth_states_expiresAt", "expiresAt"), OUR_TABLE_ARGS)

    state: Mapped[str] = mapped_column(IdType, primary_key=True)
    expiresAt: Mapped[datetime] = mapped_column(DateTime)

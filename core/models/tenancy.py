"""Tenancy: a tenant is a Slack workspace, an account one of its people."""
from __future__ import annotations

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import Role
from core.models.base import OUR_TABLE_ARGS, Base, IdType, NameType, TenantIdType, Timestamped, enum_column, new_id


class Tenant(Timestamped, Base):
    """A Slack workspace that installed the bot."""

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("slackTeamId", name="uq_tenants_slackTeamId"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(TenantIdType, primary_key=True, default=new_id)
    slackTeamId: Mapped[str] = mapped_column(IdType)
    slackEnterpriseId: Mapped[str | None] = mapped_column(IdType)
    name: Mapped[str] = mapped_column(NameType)


class Account(Timestamped, Base):
    """A Slack user of a tenant."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("tenantId", "slackUserId", name="uq_accounts_tenant_user"),
        OUR_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    slackUserId: Mapped[str] = mapped_column(IdType)
    displayName: Mapped[str] = mapped_column(NameType)
    role: Mapped[Role] = mapped_column(enum_column(Role, "account_role"), server_default=Role.MEMBER.value)

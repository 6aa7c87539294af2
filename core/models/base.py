"""What every model shares: the declarative base and its naming convention, the column types and helpers."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Enum, MetaData, String, Text, func
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

MYSQL_DIALECTS = ("mysql", "mariadb")  # the dialects the MySQL variants of our types apply to
# Identifiers are ASCII: latin1 keeps them byte-compatible with the seed's latin1 foreign keys.
IdType = String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *MYSQL_DIALECTS)
TenantIdType = String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *MYSQL_DIALECTS)
# Text a person types: utf8mb4 so emoji and every script survive (the seed's latin1 would not).
NameType = String(255).with_variant(
    mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_unicode_ci"), *MYSQL_DIALECTS
)
ProseType = Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *MYSQL_DIALECTS)
# A reference to a seed table's String(255) id, in one of our tables: latin1 like the column it names.
ReleaseRefType = String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *MYSQL_DIALECTS)
# Microseconds on MySQL: two events of one click keep their order when read by time.
EventTimeType = DateTime().with_variant(mysql.DATETIME(fsp=6), *MYSQL_DIALECTS)

SEED_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "latin1"}
OUR_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def new_id() -> str:
    """A fresh primary key."""
    return str(uuid.uuid4())


def enum_column(enum_cls: type, name: str) -> Enum:
    """A native ENUM on MySQL whose values are the Python enum's values."""
    return Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    """createdAt / updatedAt as the seed declares them (the ON UPDATE clause is added on MySQL)."""

    createdAt: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.current_timestamp())
    updatedAt: Mapped[datetime | None] = mapped_column(
        DateTime, server_default=func.current_timestamp(), onupdate=func.current_timestamp()
    )

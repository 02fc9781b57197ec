"""Segments, stages and channels: the organisation's small, editable taxonomy."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from surveys.db import Base


class _TaxonomyMixin:
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)


class Segment(_TaxonomyMixin, Base):
    __tablename__ = "segment"


class Stage(_TaxonomyMixin, Base):
    __tablename__ = "stage"


class Channel(_TaxonomyMixin, Base):
    __tablename__ = "channel"

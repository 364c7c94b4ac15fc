"""Execution quality: replace chains and the NBBO around each order and fill.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("replaces", sa.String(64), nullable=True))
        batch.add_column(sa.Column("nbbo_bid", sa.Float(), nullable=True))
        batch.add_column(sa.Column("nbbo_ask", sa.Float(), nullable=True))
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("nbbo_bid", sa.Float(), nullable=True))
        batch.add_column(sa.Column("nbbo_ask", sa.Float(), nullable=True))
        batch.add_column(sa.Column("strategy", sa.String(32), nullable=True))
        batch.add_column(sa.Column("mid_after_1m", sa.Float(), nullable=True))
        batch.add_column(sa.Column("mid_after_5m", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fills") as batch:
        for name in ("mid_after_5m", "mid_after_1m", "strategy", "nbbo_ask", "nbbo_bid"):
            batch.drop_column(name)
    with op.batch_alter_table("orders") as batch:
        for name in ("nbbo_ask", "nbbo_bid", "replaces"):
            batch.drop_column(name)

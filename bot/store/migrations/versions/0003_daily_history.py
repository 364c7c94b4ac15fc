"""Daily history: the underlying's closing ATM IV and option volumes, each contract's volume.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "underlying_daily",
        sa.Column("underlying", sa.String(16), nullable=False),
        sa.Column("series", sa.String(24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("underlying", "series", "day"),
    )
    op.create_table(
        "contract_daily_volume",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("underlying", sa.String(16), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "day"),
    )
    op.create_index(
        "ix_contract_daily_volume_underlying_day", "contract_daily_volume", ["underlying", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_contract_daily_volume_underlying_day", "contract_daily_volume")
    op.drop_table("contract_daily_volume")
    op.drop_table("underlying_daily")

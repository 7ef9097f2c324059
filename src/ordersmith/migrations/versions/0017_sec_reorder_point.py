"""A reorder-point rule may have a minimum above its (unused) maximum: the min/max CHECK applies to min/max only

Revision ID: 0014_sec_reorder_point
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_sec_reorder_point"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = "min_qty >= 0 AND max_qty >= 0 AND (method <> 'min_max' OR max_qty >= min_qty)"
_OLD = "min_qty >= 0 AND max_qty >= min_qty"


def upgrade() -> None:
    with op.batch_alter_table("replenishment_rules", schema=None) as batch_op:
        batch_op.drop_constraint("ck_replenishment_min_max", type_="check")
        batch_op.create_check_constraint("ck_replenishment_min_max", _NEW)


def downgrade() -> None:
    with op.batch_alter_table("replenishment_rules", schema=None) as batch_op:
        batch_op.drop_constraint("ck_replenishment_min_max", type_="check")
        batch_op.create_check_constraint("ck_replenishment_min_max", _OLD)

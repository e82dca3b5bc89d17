"""Count wrong transaction codes per offer, so codes cannot be guessed."""

import sqlalchemy as sa
from alembic import op

revision = "ta0002"
down_revision = "ta0001"


def upgrade() -> None:
    with op.batch_alter_table("credential_offers") as batch:
        batch.add_column(
            sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("credential_offers") as batch:
        batch.drop_column("failed_attempts")

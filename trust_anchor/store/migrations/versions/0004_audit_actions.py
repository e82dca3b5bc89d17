"""Name what each audit event records, and keep its particulars.

``action`` says what happened (``approved``, ``credential-collected``...),
which the states alone cannot say for events that change no state; ``detail``
keeps particulars such as the offer an approval made (JSON). Older rows have
neither: the store derives their action from the states.
"""

import sqlalchemy as sa
from alembic import op

revision = "ta0004"
down_revision = "ta0003"


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("action", sa.String(32), nullable=True))
        batch.add_column(sa.Column("detail", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("detail")
        batch.drop_column("action")

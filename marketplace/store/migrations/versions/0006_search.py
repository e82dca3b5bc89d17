"""The search index: documents, facet values, and the full text per database.

SQLite keeps the words in an FTS5 table (``search_fts``, rowid = the
document's ``seq``); PostgreSQL in a ``tsv`` tsvector column with a GIN index.
"""

import sqlalchemy as sa
from alembic import op

revision = "mp0006"
down_revision = "mp0005"


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(80), nullable=False, unique=True),
        sa.Column("owner", sa.String(500), nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "search_facets",
        sa.Column("seq", sa.Integer,
                  sa.ForeignKey("search_documents.seq", ondelete="CASCADE"), nullable=False),
        sa.Column("facet", sa.String(40), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("seq", "facet", "value"),
    )
    op.create_index("ix_search_facets_value", "search_facets", ["facet", "value", "seq"])
    generation = op.create_table(
        "search_generation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(generation, [{"id": 1, "generation": 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_documents ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)")
    else:
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5("
                   "title, text, tokenize = 'unicode61 remove_diacritics 2')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_generation")
    op.drop_table("search_facets")
    op.drop_table("search_documents")

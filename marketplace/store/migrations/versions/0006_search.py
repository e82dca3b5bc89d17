"""The search index: documents, facet values, and the full text per database.

SQLite keeps the words in an FTS5 table (``search_fts``, rowid = the
document's ``seq``); PostgreSQL in a ``tsv`` tsvector column with a GIN index.
"""

from alembic import op

from marketplace.store import tables as t

revision = "mp0006"
down_revision = "mp0005"


def upgrade() -> None:
    op.create_table("search_documents", *t.search_document_columns())
    op.create_table("search_facets", *t.search_facet_columns())
    generation = op.create_table("search_generation", *t.search_generation_columns())
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

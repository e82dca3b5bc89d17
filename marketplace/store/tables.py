"""The marketplace's tables (SQLAlchemy Core, one schema for SQLite and PostgreSQL).

Every TM Forum resource (a catalog, category, product specification, product
offering, offering price, order, inventory product, usage, customer bill) is
a row of ``resources``: the resource's JSON as served (``body``), plus the
columns the marketplace filters, guards and joins on. One table keeps one
implementation of TMF630 filtering, ``fields``, paging and optimistic
updates for all five APIs; the columns that carry rules (state, owner,
version) are real columns, so every rule is a SQL predicate.

Migrations: ``migrations/versions/000N_<what>.py`` (``mp000N``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from identity.status_store import issued_credentials_table, status_lists_table
from servicekit.types import UtcDateTime

__all__ = [
    "charges",
    "credential_requests",
    "harvested_datasets",
    "holder_credentials",
    "holder_requests",
    "issued_credentials",
    "membership_applications",
    "metadata",
    "payment_events",
    "payouts",
    "resources",
    "search_documents",
    "search_facets",
    "search_generation",
    "status_lists",
]

metadata = sa.MetaData()

#: The body: JSON (jsonb on PostgreSQL, so ``body['field']`` filters use its operators).
JSON_BODY = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

resources = sa.Table(
    "resources",
    metadata,
    #: The TMF resource type in camelCase as in the path (``productOffering``).
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("id", sa.String(80), primary_key=True),
    #: A resource's version ("1.0"); versioned kinds keep one row per version.
    sa.Column("version", sa.String(20), primary_key=True),
    #: Only the newest version of a resource is current (what a plain GET returns).
    sa.Column("current", sa.Boolean, nullable=False),
    #: ``lifecycleStatus`` (catalog) or ``state`` (order, product, usage, bill).
    sa.Column("state", sa.String(40), nullable=False),
    #: The party that owns it: a provider's DID (catalog), a buyer's DID (order,
    #: product), the reporting provider's DID (usage); "" for the operator's.
    sa.Column("owner", sa.String(500), nullable=False),
    #: The resource it hangs on (a price's offering, a product's order...), or "".
    sa.Column("parent", sa.String(80), nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    #: Seen only by its owner (and the operator): a private offering, an order.
    sa.Column("private", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_update", sa.DateTime(timezone=True), nullable=False),
    sa.Column("body", JSON_BODY, nullable=False),
    sa.Index("ix_resources_kind_owner", "kind", "owner"),
    sa.Index("ix_resources_kind_parent", "kind", "parent"),
    sa.Index("ix_resources_kind_state", "kind", "state"),
)

#: The search index: one row per product offering (its current version). The
#: full text lives beside it: an FTS5 table ``search_fts`` (rowid = ``seq``) on
#: SQLite, a ``tsv`` tsvector column with a GIN index on PostgreSQL (created by
#: migration mp0006; store/search.py speaks to each).
search_documents = sa.Table(
    "search_documents",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(80), nullable=False, unique=True),
    sa.Column("owner", sa.String(500), nullable=False),
    sa.Column("private", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(40), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

#: A search document's facet values, one row each (themes and formats are many).
search_facets = sa.Table(
    "search_facets",
    metadata,
    sa.Column("seq", sa.Integer, sa.ForeignKey("search_documents.seq", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("facet", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), primary_key=True),
    sa.Index("ix_search_facets_value", "facet", "value", "seq"),
)


# --- the marketplace as a member (mp0005) --------------------------------------------------

#: Our own credentials (the MembershipCredential), as our Credential Service presents them.
holder_credentials = sa.Table(
    "holder_credentials",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    #: The credential's own ``id`` (if it has one): the same credential is stored once.
    sa.Column("credential_id", sa.String(500), nullable=True, unique=True),
    sa.Column("types", sa.JSON, nullable=False),
    sa.Column("issuer", sa.String(500), nullable=False),
    sa.Column("subject", sa.String(500), nullable=True),
    sa.Column("format", sa.String(40), nullable=False),
    #: As received: a JWT string or a JSON credential.
    sa.Column("raw", sa.JSON, nullable=False),
    sa.Column("claims", sa.JSON, nullable=False),
    sa.Column("valid_until", sa.Float, nullable=True),
    #: How it came: "oid4vci" or "dcp".
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

#: DCP issuance requests we sent: which issuer may deliver which types for which holderPid.
holder_requests = sa.Table(
    "holder_requests",
    metadata,
    sa.Column("holder_pid", sa.String(80), primary_key=True),
    sa.Column("issuer_did", sa.String(500), nullable=False),
    sa.Column("credential_types", sa.JSON, nullable=False),
    #: REQUESTED, then ISSUED, REJECTED or FAILED.
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(500), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

#: Our applications at the trust anchor (the status token reads them; never shown).
membership_applications = sa.Table(
    "membership_applications",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("trust_anchor_url", sa.String(500), nullable=False),
    sa.Column("trust_anchor_did", sa.String(500), nullable=False),
    sa.Column("status_token", sa.String(500), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

#: Datasets harvested from the providers' DSP catalogs (the federated view).
harvested_datasets = sa.Table(
    "harvested_datasets",
    metadata,
    #: The provider's DID and the dataset's ``@id`` in its catalog.
    sa.Column("publisher", sa.String(500), primary_key=True),
    sa.Column("dataset_id", sa.String(500), primary_key=True),
    sa.Column("publisher_name", sa.String(500), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    #: Lower-cased title, description and keywords, for the ``q`` filter.
    sa.Column("text", sa.Text, nullable=False),
    #: The provider's DSP endpoint the dataset was found at.
    sa.Column("dsp_address", sa.String(500), nullable=False),
    #: The DCAT dataset as the catalog served it.
    sa.Column("body", JSON_BODY, nullable=False),
    sa.Column("harvested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_harvested_datasets_title", "title"),
)


# --- purchase credentials (mp0002) ---------------------------------------------------------

#: The Bitstring status lists of the purchase credentials we issue, served at /status/{id}.
status_lists = status_lists_table(metadata)

#: Every DataProductPurchaseCredential we issued: its token, status slots and order.
issued_credentials = issued_credentials_table(
    metadata,
    #: The order it was issued for (revoking an order's credentials finds them by it).
    sa.Column("order_id", sa.String(80), nullable=True, index=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Column("revocation_reason", sa.Text, nullable=True),
)

#: DCP credential requests from buyers' connectors, answered by a delivery job.
credential_requests = sa.Table(
    "credential_requests",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("holder_did", sa.String(500), nullable=False, index=True),
    sa.Column("holder_pid", sa.String(200), nullable=False),
    #: JSON list of the requested credential ids.
    sa.Column("credential_ids", sa.Text, nullable=False),
    #: RECEIVED, then ISSUED or REJECTED once delivered.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)


# --- orders and payments (mp0003) ----------------------------------------------------------

#: Every payment event acted on (invoice callback, card webhook, the operator's "paid"),
#: unique per provider: a replayed event collides here and changes nothing.
payment_events = sa.Table(
    "payment_events",
    metadata,
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("order_id", sa.String(80), nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
)


# --- usage billing (mp0004) ----------------------------------------------------------------

#: One row per charge (a usage report rated, ...): the id is derived from what it bills
#: (``marketplace.domain.rating.charge_id``), so a re-sent report cannot charge twice.
#: ``bill_id`` and ``payout_id`` are set, once, by the billing run that closes it.
charges = sa.Table(
    "charges",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    #: What it bills: the usage report's id (or the order's).
    sa.Column("source", sa.String(200), nullable=False, unique=True),
    sa.Column("buyer", sa.String(500), nullable=False),
    sa.Column("provider", sa.String(500), nullable=False),
    #: The TMF637 product (inventory) it is charged on.
    sa.Column("product", sa.String(80), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("net_minor", sa.BigInteger, nullable=False),
    sa.Column("vat_minor", sa.BigInteger, nullable=False),
    #: Units used, in millionths (calls are whole; MB to the byte), for the period's sum.
    sa.Column("quantity_micro", sa.BigInteger, nullable=False),
    #: The plan's quota period the usage falls in.
    sa.Column("period_start", UtcDateTime(), nullable=False),
    #: When the usage happened (the end of the reported bucket): what a billing run closes.
    sa.Column("used_at", UtcDateTime(), nullable=False),
    sa.Column("bill_id", sa.String(80), nullable=True, index=True),
    sa.Column("payout_id", sa.String(80), nullable=True, index=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    #: The rated charge (``Charge`` as JSON).
    sa.Column("body", sa.JSON, nullable=False),
    sa.Index("ix_charges_product_period", "product", "period_start"),
    sa.Index("ix_charges_buyer", "buyer"),
)

#: What a billing run owes one provider in one currency, less the operator's fee.
payouts = sa.Table(
    "payouts",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("provider", sa.String(500), nullable=False, index=True),
    sa.Column("currency", sa.String(3), nullable=False),
    #: pending, then paid.
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
)


#: One row: bumped by every change to the index, so each replica knows when
#: its in-memory facet bitmaps are stale.
search_generation = sa.Table(
    "search_generation",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("generation", sa.BigInteger, nullable=False),
)

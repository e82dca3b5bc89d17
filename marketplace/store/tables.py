"""The marketplace's tables (SQLAlchemy Core, one schema for SQLite and PostgreSQL).

Every TM Forum resource (a catalog, category, product specification, product
offering, offering price, order, inventory product, usage, customer bill) is
a row of ``resources``: the resource's JSON as served (``body``), plus the
columns the marketplace filters, guards and joins on. One table keeps one
implementation of TMF630 filtering, ``fields``, paging and optimistic
updates for all five APIs; the columns that carry rules (state, owner,
version) are real columns, so every rule is a SQL predicate.

Migrations: ``migrations/versions/000N_<what>.py`` (``mp000N``). Each table
is given as the migration that created it made it, in a ``*_columns()``
function that the migration calls too; so these functions are frozen (see
:mod:`servicekit.db`): a later column goes into a new migration and, here,
after the call.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from identity import status_store
from servicekit.types import UtcDateTime

__all__ = [
    "charge_columns",
    "charges",
    "credential_request_columns",
    "credential_requests",
    "harvested_dataset_columns",
    "harvested_datasets",
    "holder_credential_columns",
    "holder_credentials",
    "holder_request_columns",
    "holder_requests",
    "issued_credential_columns",
    "issued_credentials",
    "membership_application_columns",
    "membership_applications",
    "metadata",
    "payment_event_columns",
    "payment_events",
    "payout_columns",
    "payouts",
    "resource_columns",
    "resources",
    "search_document_columns",
    "search_documents",
    "search_facet_columns",
    "search_facets",
    "search_generation",
    "search_generation_columns",
    "status_list_columns",
    "status_lists",
]

_Items = list[sa.schema.SchemaItem]

#: The body: JSON (jsonb on PostgreSQL, so ``body['field']`` filters use its operators).
JSON_BODY = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


# --- the TM Forum resources (mp0001) -------------------------------------------------------


def resource_columns() -> _Items:
    """``resources``: every TMF resource, its JSON as served and the columns rules use."""
    return [
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
    ]


# --- purchase credentials (mp0002) ---------------------------------------------------------


def status_list_columns() -> _Items:
    """``status_lists``: the Bitstring status lists of our purchase credentials (/status/{id})."""
    return status_store.status_list_columns()


def issued_credential_columns() -> _Items:
    """``issued_credentials``: every DataProductPurchaseCredential we issued, with its order."""
    return status_store.issued_credential_columns(
        #: The order it was issued for (revoking an order's credentials finds them by it).
        sa.Column("order_id", sa.String(80), nullable=True, index=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("revocation_reason", sa.Text, nullable=True),
    )


def credential_request_columns() -> _Items:
    """``credential_requests``: buyers' connectors' DCP requests, answered by a delivery job."""
    return [
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
    ]


# --- orders and payments (mp0003) ----------------------------------------------------------


def payment_event_columns() -> _Items:
    """``payment_events``: every payment event acted on, unique per provider.

    An invoice callback, a card webhook, the operator's "paid": a replayed
    event collides here and changes nothing.
    """
    return [
        sa.Column("provider", sa.String(20), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("order_id", sa.String(80), nullable=False, index=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
    ]


# --- usage billing (mp0004) ----------------------------------------------------------------


def charge_columns() -> _Items:
    """``charges``: one row per charge (a usage report rated, ...).

    The id is derived from what it bills (``marketplace.domain.rating.charge_id``),
    so a re-sent report cannot charge twice. ``bill_id`` and ``payout_id`` are
    set, once, by the billing run that closes it.
    """
    return [
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
    ]


def payout_columns() -> _Items:
    """``payouts``: what a billing run owes one provider in one currency, less the fee."""
    return [
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("provider", sa.String(500), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        #: pending, then paid.
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
    ]


# --- the marketplace as a member (mp0005) --------------------------------------------------


def holder_credential_columns() -> _Items:
    """``holder_credentials``: our own credentials, as our Credential Service presents them."""
    return [
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
    ]


def holder_request_columns() -> _Items:
    """``holder_requests``: DCP issuance requests we sent (issuer, types, ``holderPid``)."""
    return [
        sa.Column("holder_pid", sa.String(80), primary_key=True),
        sa.Column("issuer_did", sa.String(500), nullable=False),
        sa.Column("credential_types", sa.JSON, nullable=False),
        #: REQUESTED, then ISSUED, REJECTED or FAILED.
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    ]


def membership_application_columns() -> _Items:
    """``membership_applications``: ours at the trust anchor (its status token is never shown)."""
    return [
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("trust_anchor_url", sa.String(500), nullable=False),
        sa.Column("trust_anchor_did", sa.String(500), nullable=False),
        sa.Column("status_token", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    ]


def harvested_dataset_columns() -> _Items:
    """``harvested_datasets``: datasets read from the providers' DSP catalogs (federated)."""
    return [
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
    ]


# --- the search index (mp0006) -------------------------------------------------------------


def search_document_columns() -> _Items:
    """``search_documents``: one row per product offering (its current version).

    The full text lives beside it: an FTS5 table ``search_fts`` (rowid =
    ``seq``) on SQLite, a ``tsv`` tsvector column with a GIN index on
    PostgreSQL (both made by mp0006 in SQL; store/search.py speaks to each).
    """
    return [
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(80), nullable=False, unique=True),
        sa.Column("owner", sa.String(500), nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    ]


def search_facet_columns() -> _Items:
    """``search_facets``: a search document's facet values, one row each."""
    return [
        sa.Column("seq", sa.Integer, sa.ForeignKey("search_documents.seq", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("facet", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
        sa.Index("ix_search_facets_value", "facet", "value", "seq"),
    ]


def search_generation_columns() -> _Items:
    """``search_generation``: one row, bumped by every change to the index.

    So each replica knows when its in-memory facet bitmaps are stale.
    """
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
    ]


metadata = sa.MetaData()

resources = sa.Table("resources", metadata, *resource_columns())
status_lists = sa.Table("status_lists", metadata, *status_list_columns())
issued_credentials = sa.Table("issued_credentials", metadata, *issued_credential_columns())
credential_requests = sa.Table("credential_requests", metadata, *credential_request_columns())
payment_events = sa.Table("payment_events", metadata, *payment_event_columns())
charges = sa.Table("charges", metadata, *charge_columns())
payouts = sa.Table("payouts", metadata, *payout_columns())
holder_credentials = sa.Table("holder_credentials", metadata, *holder_credential_columns())
holder_requests = sa.Table("holder_requests", metadata, *holder_request_columns())
membership_applications = sa.Table(
    "membership_applications", metadata, *membership_application_columns()
)
harvested_datasets = sa.Table("harvested_datasets", metadata, *harvested_dataset_columns())
search_documents = sa.Table("search_documents", metadata, *search_document_columns())
search_facets = sa.Table("search_facets", metadata, *search_facet_columns())
search_generation = sa.Table("search_generation", metadata, *search_generation_columns())

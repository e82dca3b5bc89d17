"""The product catalog (TMF620 v4): data products, their offerings, plans, catalogs, categories.

Five resources under ``/tmf-api/productCatalogManagement/v4``, each a row of
``resources`` whose ``kind`` is the path name (:class:`Kind`). Bodies are
TMF620 JSON; a create body must have ``name`` (TMF's one mandatory field);
the server sets ``id``, ``href``, ``lastUpdate``, ``version`` (``"1.0"``),
``@type``/``@baseType`` and ``lifecycleStatus`` (``inStudy`` when not given),
and refuses them from clients (``field-read-only``), except
``lifecycleStatus`` and ``@type`` which a client may state.

**A data product** is a ``ProductSpecification`` (``@type``
``DataProductSpecification``, ``@baseType`` ``ProductSpecification``):
``description`` is TMF's own; the dataset's facts are
``productSpecCharacteristic`` entries, the TMF way, each with its values in
``productSpecCharacteristicValue``: ``theme`` and ``format`` (one value or
more), ``licence`` (an IRI), ``accessLevel`` (``PUBLIC`` or ``RESTRICTED``:
a ``NON_PUBLIC`` dataset is never offered), ``sample`` (an http(s) URL) and
any ``sla.*`` (``sla.availability`` is a percentage). Where the provider's
connector is reached has no TMF field, so three **extension members**
say it: ``dspAddress`` (the DSP endpoint), ``providerDid`` (the provider's
DID: the owner) and ``datasetIds`` (the DCAT dataset ids in its catalog).

**An offering** is a ``ProductOffering`` (``@type`` ``DataProductOffering``)
naming its ``productSpecification`` and its plans in ``productOfferingPrice``
(references; each plan is a ``ProductOfferingPrice``:
:class:`marketplace.domain.pricing.PricingPlan`). Its extension member
``isPrivate`` hides it from everyone but its provider and the operator.

**Life cycle** (:data:`LIFECYCLE`, the one authority, for all five kinds)::

    inStudy ─► inDesign ─► inTest ─► launched ─► retired ─► obsolete
    inDesign ─► inStudy     inTest ─► inDesign

A resource is created in ``inStudy``, ``inDesign`` or ``inTest``.
**Versions:** a change to a *launched* offering's commercial terms
(:data:`COMMERCIAL`) makes a new version (``"2.0"``, ``"3.0"``...); older
versions stay as they were, so orders keep the terms they were made on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator
from pydantic.alias_generators import to_camel

from marketplace.domain.pricing import PricingPlan, TimePeriod
from servicekit.errors import InvalidRequest
from servicekit.statemachine import TransitionTable

__all__ = [
    "COMMERCIAL",
    "CREATE_STATES",
    "DEVELOPMENT",
    "LIFECYCLE",
    "MODELS",
    "READ_ONLY",
    "CatalogIn",
    "CategoryIn",
    "Characteristic",
    "CharacteristicValue",
    "Kind",
    "LifecycleStatus",
    "OfferingIn",
    "Ref",
    "SpecificationIn",
    "check_writable",
    "merge_patch",
    "next_version",
]


class Kind(StrEnum):
    """The TMF620 resources, named as in their paths."""

    SPECIFICATION = "productSpecification"
    OFFERING = "productOffering"
    PRICE = "productOfferingPrice"
    CATALOG = "catalog"
    CATEGORY = "category"


class LifecycleStatus(StrEnum):
    """TMF620 ``lifecycleStatus`` of a catalog item."""

    IN_STUDY = "inStudy"
    IN_DESIGN = "inDesign"
    IN_TEST = "inTest"
    LAUNCHED = "launched"
    RETIRED = "retired"
    OBSOLETE = "obsolete"


_L = LifecycleStatus
LIFECYCLE: TransitionTable[LifecycleStatus] = TransitionTable(
    "catalog item",
    {
        _L.IN_STUDY: (_L.IN_DESIGN,),
        _L.IN_DESIGN: (_L.IN_STUDY, _L.IN_TEST),
        _L.IN_TEST: (_L.IN_DESIGN, _L.LAUNCHED),
        _L.LAUNCHED: (_L.RETIRED,),
        _L.RETIRED: (_L.OBSOLETE,),
    },
    initial=(_L.IN_STUDY, _L.IN_DESIGN, _L.IN_TEST),
    terminal=(_L.OBSOLETE,),
)
#: Not yet offered: may be changed in place and deleted.
DEVELOPMENT = frozenset({_L.IN_STUDY, _L.IN_DESIGN, _L.IN_TEST})
#: The states a resource may be created in.
CREATE_STATES = LIFECYCLE.initial
#: Set by the server only.
READ_ONLY = frozenset({"id", "href", "lastUpdate", "version"})
#: An offering's commercial terms: changing them on a launched offering makes a new version.
COMMERCIAL = frozenset({"productSpecification", "productOfferingPrice", "isPrivate",
                        "validFor", "productOfferingTerm"})

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:~/#@+=-]{0,199}$"
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S{1,1000}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]{0,1990}$")


class _Tmf(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def _invalid(detail: str, code: str) -> InvalidRequest:
    return InvalidRequest(detail, code=code)


class Ref(_Tmf):
    """A TMF entity reference (``ProductSpecificationRef``, ``CategoryRef``...)."""

    id: str = Field(pattern=_ID)
    href: str | None = Field(None, max_length=2000)
    name: str | None = Field(None, max_length=200)
    version: str | None = Field(None, max_length=20)
    referred_type: str | None = Field(None, alias="@referredType", max_length=64)


class CharacteristicValue(_Tmf):
    """TMF ``ProductSpecificationCharacteristicValue``: one allowed value."""

    value: StrictStr | StrictBool | int | float = Field(description="The value.")
    value_type: str | None = Field(None, max_length=32)
    is_default: bool | None = None
    unit_of_measure: str | None = Field(None, max_length=32)


class Characteristic(_Tmf):
    """TMF ``ProductSpecificationCharacteristic``: a named fact about the data product."""

    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    value_type: str | None = Field(None, max_length=32)
    configurable: bool | None = None
    product_spec_characteristic_value: list[CharacteristicValue] = Field(
        default_factory=list, max_length=50)

    @property
    def values(self) -> list[str | bool | int | float]:
        """The stated values."""
        return [v.value for v in self.product_spec_characteristic_value]

    @model_validator(mode="after")
    def _known(self) -> Characteristic:
        check = _CHARACTERISTICS.get(self.name)
        if check is None and self.name.startswith("sla."):
            check = _check_sla
        if check is not None:
            check(self)
        return self


def _one(item: Characteristic) -> str:
    values = item.values
    if len(values) != 1 or not isinstance(values[0], str):
        raise _invalid(f"{item.name} takes exactly one text value", "characteristic-invalid")
    return values[0]


def _some(item: Characteristic) -> None:
    if not item.values or any(not isinstance(v, str) or not v for v in item.values):
        raise _invalid(f"{item.name} takes one or more text values", "characteristic-invalid")


def _check_access(item: Characteristic) -> None:
    level = _one(item)
    if level == "NON_PUBLIC":
        raise _invalid("a NON_PUBLIC (red) dataset is never offered", "access-level-not-offered")
    if level not in ("PUBLIC", "RESTRICTED"):
        raise _invalid("accessLevel is PUBLIC or RESTRICTED", "characteristic-invalid")


def _check_licence(item: Characteristic) -> None:
    if not _IRI.match(_one(item)):
        raise _invalid("licence must be an IRI", "characteristic-invalid")


def _check_sample(item: Characteristic) -> None:
    if not _URL.match(_one(item)):
        raise _invalid("sample must be an http(s) URL", "characteristic-invalid")


def _check_sla(item: Characteristic) -> None:
    if len(item.values) != 1:
        raise _invalid(f"{item.name} takes exactly one value", "characteristic-invalid")
    value = item.values[0]
    if item.name == "sla.availability" and (
            isinstance(value, bool | str) or not 0 <= value <= 100):
        raise _invalid("sla.availability is a percentage, 0 to 100", "characteristic-invalid")


_CHARACTERISTICS = {
    "theme": _some,
    "format": _some,
    "accessLevel": _check_access,
    "licence": _check_licence,
    "sample": _check_sample,
}


class _Item(_Tmf):
    """What every catalog item has."""

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    lifecycle_status: LifecycleStatus = LifecycleStatus.IN_STUDY
    valid_for: TimePeriod | None = None
    schema_location: str | None = Field(None, alias="@schemaLocation", max_length=2000)


def _type_is(value: str, ours: str, base: str) -> str:
    if value not in (ours, base):
        raise _invalid(f"@type must be {ours} or {base}", "type-invalid")
    return ours


class SpecificationIn(_Item):
    """A data product: TMF620 ``ProductSpecification`` with our extension members."""

    type: str = Field("DataProductSpecification", alias="@type", max_length=64)
    brand: str | None = Field(None, max_length=200)
    product_number: str | None = Field(None, max_length=100)
    is_bundle: Literal[False] = False
    product_spec_characteristic: list[Characteristic] = Field(default_factory=list,
                                                              max_length=50)
    dsp_address: str = Field(pattern=_URL.pattern, description=(
        "Extension: the provider connector's DSP endpoint."))
    provider_did: str | None = Field(None, pattern=r"^did:[a-z0-9]+:\S{1,490}$", description=(
        "Extension: the provider's DID (default: the calling member's)."))
    dataset_ids: list[str] = Field(min_length=1, max_length=100, description=(
        "Extension: the dataset ids in the provider's DSP catalog."))

    @model_validator(mode="after")
    def _checked(self) -> SpecificationIn:
        self.type = _type_is(self.type, "DataProductSpecification", "ProductSpecification")
        if any(not re.match(_ID, d) for d in self.dataset_ids):
            raise _invalid("datasetIds must be plain ids, IRIs or URNs", "dataset-id-invalid")
        names = [c.name for c in self.product_spec_characteristic]
        if len(set(names)) != len(names):
            raise _invalid("each characteristic is named once", "characteristic-invalid")
        return self


class OfferingIn(_Item):
    """A TMF620 ``ProductOffering`` of a data product, with the ``isPrivate`` extension."""

    type: str = Field("DataProductOffering", alias="@type", max_length=64)
    is_bundle: Literal[False] = False
    is_sellable: bool = True
    status_reason: str | None = Field(None, max_length=500)
    product_specification: Ref | None = None
    product_offering_price: list[Ref] = Field(default_factory=list, max_length=20)
    category: list[Ref] = Field(default_factory=list, max_length=20)
    product_offering_term: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    is_private: bool = Field(False, description=(
        "Extension: seen only by its provider and the operator."))

    @model_validator(mode="after")
    def _checked(self) -> OfferingIn:
        self.type = _type_is(self.type, "DataProductOffering", "ProductOffering")
        ids = [p.id for p in self.product_offering_price]
        if len(set(ids)) != len(ids):
            raise _invalid("a plan is listed once", "reference-invalid")
        return self


class CatalogIn(_Item):
    """A TMF620 ``Catalog``: categories of offerings."""

    type: str = Field("Catalog", alias="@type", max_length=64)
    catalog_type: str | None = Field(None, max_length=100)
    category: list[Ref] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _checked(self) -> CatalogIn:
        self.type = _type_is(self.type, "Catalog", "Catalog")
        return self


class CategoryIn(_Item):
    """A TMF620 ``Category``: a group of offerings, possibly under a parent category."""

    type: str = Field("Category", alias="@type", max_length=64)
    is_root: bool | None = None
    parent_id: str | None = Field(None, pattern=_ID)
    product_offering: list[Ref] = Field(default_factory=list, max_length=200)
    sub_category: list[Ref] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _checked(self) -> CategoryIn:
        self.type = _type_is(self.type, "Category", "Category")
        if self.is_root is None:
            self.is_root = self.parent_id is None
        return self


#: The body model of each kind.
MODELS: dict[Kind, type[BaseModel]] = {
    Kind.SPECIFICATION: SpecificationIn,
    Kind.OFFERING: OfferingIn,
    Kind.PRICE: PricingPlan,
    Kind.CATALOG: CatalogIn,
    Kind.CATEGORY: CategoryIn,
}


def check_writable(body: Mapping[str, Any]) -> None:
    """Refuse a body that sets what only the server sets (``field-read-only``)."""
    given = sorted(READ_ONLY & set(body))
    if given:
        raise _invalid(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} set by "
                       "the server", "field-read-only")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: ``patch`` applied to ``target`` (neither is changed)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def next_version(version: str) -> str:
    """The version after ``version``: ``"1.0"`` → ``"2.0"``."""
    major = version.split(".", 1)[0]
    return f"{int(major) + 1 if major.isdigit() else 2}.0"

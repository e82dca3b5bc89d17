"""ODRL 2.2 policies: model, parsing, validation, compiled evaluation and presets.

Pure: imports nothing else of ours, no web, SQL or network. See ``README.md``
in this package for the public API and an example.
"""

from policies.cache import PolicyCache, compile_cached
from policies.compile import CompiledPolicy, compile_policy
from policies.context import DutyState, RequestContext
from policies.decision import Basis, Decision, DutyDirective, DutyOrigin, Reason
from policies.errors import (
    ContextError,
    Issue,
    NotOfferableError,
    PolicyError,
    PolicyValidationError,
)
from policies.evaluate import evaluate
from policies.explain import Explanation, explain
from policies.model import Policy
from policies.normalize import normalize
from policies.parse import parse_policy, validate_policy
from policies.plan import Plan
from policies.profile import DATASPACE_PROFILE, DST_NS, DST_PREFIX, Profile
from policies.serialize import fingerprint, to_dsp
from policies.vocabulary import ConflictStrategy, PolicyType

__all__ = [
    "DATASPACE_PROFILE",
    "DST_NS",
    "DST_PREFIX",
    "Basis",
    "CompiledPolicy",
    "ConflictStrategy",
    "ContextError",
    "Decision",
    "DutyDirective",
    "DutyOrigin",
    "DutyState",
    "Explanation",
    "Issue",
    "NotOfferableError",
    "Plan",
    "Policy",
    "PolicyCache",
    "PolicyError",
    "PolicyType",
    "PolicyValidationError",
    "Profile",
    "Reason",
    "RequestContext",
    "compile_cached",
    "compile_policy",
    "evaluate",
    "explain",
    "fingerprint",
    "normalize",
    "parse_policy",
    "to_dsp",
    "validate_policy",
]

"""The DSP authentication seam: who is calling us, and what we present to peers.

See :mod:`connector.auth.base` for the interfaces and the registry;
``fixed-token`` (:mod:`connector.auth.fixed`) and ``dcp``
(:mod:`connector.auth.dcp`) are registered here.
"""

from connector.auth.base import (
    AuthContext,
    Authenticator,
    AuthFactory,
    AuthSeam,
    TokenProvider,
    create_auth,
    known_modes,
    register_auth,
)
from connector.auth.cache import CallerCache
from connector.auth.dcp import DcpAuth, create_dcp_auth
from connector.auth.fixed import FixedTokenAuth, create_fixed_token_auth
from connector.domain.caller import Caller

register_auth("fixed-token", create_fixed_token_auth)
register_auth("dcp", create_dcp_auth)

__all__ = [
    "AuthContext",
    "AuthFactory",
    "AuthSeam",
    "Authenticator",
    "Caller",
    "CallerCache",
    "DcpAuth",
    "FixedTokenAuth",
    "TokenProvider",
    "create_auth",
    "known_modes",
    "register_auth",
]

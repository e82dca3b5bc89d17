"""The connector's data plane: per-request enforcement of agreements, and the byte path.

Two halves (see ``README.md``): the **decision** (:mod:`.decision`: token,
policy, context, decide, reserve, audit, settle; no web objects) and the
**byte path** (:mod:`.web` and :mod:`.backends`: a streaming proxy in front
of HTTP APIs, files and PostgreSQL queries). :mod:`.signaling` is what the
control plane calls; :mod:`.monitor` terminates transfers whose agreement
has run out; :mod:`.audit` keeps the hash-chained audit log.
"""

from connector.dataplane.decision import DataRequest, DecisionEngine, Denial, Ticket
from connector.dataplane.monitor import PolicyMonitor
from connector.dataplane.runtime import DataPlane
from connector.dataplane.signaling import EnforcingSignaling

__all__ = [
    "DataPlane",
    "DataRequest",
    "DecisionEngine",
    "Denial",
    "EnforcingSignaling",
    "PolicyMonitor",
    "Ticket",
]

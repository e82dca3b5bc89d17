"""A small LRU of compiled policies, keyed by policy id and version.

Compiling costs far more than deciding, so enforcers keep compiled policies:
``compile_cached(policy, version="3")`` compiles once per (id, version). Without
an explicit version the policy's content hash is used, which costs a
serialisation: pass a version (an agreement's revision, a timestamp) on hot
paths. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from policies.compile import CompiledPolicy, compile_policy
from policies.model import Policy
from policies.serialize import fingerprint

__all__ = ["PolicyCache", "compile_cached"]


class PolicyCache:
    """Least-recently-used cache of :class:`CompiledPolicy` by (policy id, version)."""

    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, str], CompiledPolicy] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self,
        policy: Policy,
        *,
        version: str | None = None,
        parents: Mapping[str, Policy] | None = None,
    ) -> CompiledPolicy:
        """The compiled ``policy``, compiling it on a miss."""
        key = (policy.uid, version if version is not None else fingerprint(policy))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
        compiled = compile_policy(policy, parents=parents)
        with self._lock:
            self.misses += 1
            self._items[key] = compiled
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return compiled

    def invalidate(self, policy_id: str) -> None:
        """Drop every cached version of ``policy_id``."""
        with self._lock:
            for key in [k for k in self._items if k[0] == policy_id]:
                del self._items[key]

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_DEFAULT = PolicyCache()


def compile_cached(
    policy: Policy,
    *,
    version: str | None = None,
    parents: Mapping[str, Policy] | None = None,
) -> CompiledPolicy:
    """Compile through the package-wide :class:`PolicyCache`."""
    return _DEFAULT.get(policy, version=version, parents=parents)

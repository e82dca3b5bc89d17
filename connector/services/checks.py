"""What the owner registers is checked once, the same way wherever it is checked.

:func:`policy_problems` is the one answer to "would a connector offer this
policy?": the management API (a dataset's policy, ``POST /policies``,
counter-offers) and ``dataspace policy validate`` both call it.

* ``@id`` is optional. A connector names every policy and offer itself
  (``urn:uuid:...``), as a production data space assigns ids, so a
  policy's own ``@id`` is never used; when present it must still be valid.
  ``@type`` defaults to ``Offer``; ``target`` and ``assigner`` are set by
  the connector (the dataset and itself).
* Members the connector would not keep with the offer (a policy-level
  ``constraint``, ``action``, ``assignee``, ``conflict``, ``inheritFrom``)
  are refused rather than silently dropped: an offer must mean what its
  author wrote.
* The policy must be valid ODRL both as written and as the connector keeps
  it, and fit a DSP 2025-1 ``ContractOfferMessage``.

:func:`backend_problems` checks a file backend before anything is stored:
an absolute path that exists (a folder only with ``proxyPath``), is
readable, and lies inside the data plane's ``file_roots`` when they are set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connector.domain.catalog import POLICY_MEMBERS, Backend, render_offer
from connector.domain.policy import policy_issues
from connector.protocol import messages
from connector.protocol.schemas import validator
from policies import validate_policy

__all__ = ["backend_problems", "policy_problems"]

#: Policy-level members that would change what the offer means, but that no offer keeps.
_NOT_KEPT = frozenset({"constraint", "action", "assignee", "conflict", "inheritFrom"})
_CHECK_ID = "urn:policy:check"
_CHECK_TARGET = "urn:dataset:check"


def _issue(code: str, path: str, message: str) -> dict[str, str]:
    return {"code": code, "path": path, "message": message}


def policy_problems(document: Any) -> list[dict[str, str]]:
    """Every reason a connector would refuse to offer ``document`` (empty: it is fine).

    Each problem is ``{"code", "path" (a JSON pointer), "message"}``.
    """
    if not isinstance(document, Mapping):
        return [_issue("invalid-structure", "", "a policy must be a JSON object")]
    problems = [
        _issue("member-not-offered", f"/{key}",
               f"an offer keeps only {', '.join(POLICY_MEMBERS)}; a policy-level {key} "
               "would be dropped (put it in each rule)")
        for key in document if key in _NOT_KEPT
    ]
    if problems:
        return problems
    # As written: the author's own @context and @type, with the ids the connector assigns.
    as_written = {"@id": _CHECK_ID, "@type": "Offer", "target": _CHECK_TARGET, **document}
    if not as_written.get("@id"):
        as_written["@id"] = _CHECK_ID
    problems = [issue.to_dict() for issue in validate_policy(as_written)]
    if problems:
        return problems
    # As kept: only the rules, under the DSP context the offer is published in.
    problems = policy_issues(dict(document), policy_id=_CHECK_ID)
    if problems:
        return problems
    probe = messages.offer_message(
        provider_pid="urn:check", consumer_pid="urn:check",
        offer=render_offer("urn:offer:check", document, target=_CHECK_TARGET),
    )
    return [{"code": error.get("code", "policy-not-dsp"), "path": error.get("path", ""),
             "message": error.get("message", "")}
            for error in validator().errors(probe)]


def backend_problems(backend: Backend, *, file_roots: Sequence[str] = ()) -> list[
    dict[str, str]
]:
    """Why the data plane could not serve ``backend`` (file backends; empty: fine)."""
    if backend.type != "file":
        return []
    path = Path(backend.address)
    where = "/backend/address"
    if not path.is_absolute():
        return [_issue("backend-path-relative", where,
                       "a file backend's address is an absolute path")]
    folder = backend.properties.get("proxyPath", "").strip().lower() in ("true", "1", "yes")
    resolved = path.resolve()
    roots = [Path(root).resolve() for root in file_roots]
    if roots and not any(resolved.is_relative_to(root) for root in roots):
        return [_issue("backend-outside-roots", where,
                       "the file lies outside the folders the data plane serves "
                       "(data_plane.file_roots)")]
    if not resolved.exists():
        return [_issue("backend-not-found", where, f"no file or folder at {path}")]
    if resolved.is_dir() and not folder:
        return [_issue("backend-is-a-folder", where,
                       f"{path} is a folder: name a file, or set proxyPath to true")]
    if not resolved.is_dir() and not resolved.is_file():
        return [_issue("backend-not-a-file", where, f"{path} is not a regular file")]
    if not os.access(resolved, os.R_OK | (os.X_OK if resolved.is_dir() else 0)):
        return [_issue("backend-unreadable", where, f"the connector cannot read {path}")]
    return []

"""Use cases of the trust anchor: the only code that reaches its store.

``onboarding`` (apply, review, suspend, revoke), ``registry`` (trusted
issuers and participants), the issuance protocols (``oid4vci``, ``dcp``,
``vc_api``, and ``issuance`` for accredited issuers and status lists) over
the signing ``issuer``, and ``operators`` (the operator's API keys).
"""

__all__: list[str] = []

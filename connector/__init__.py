"""The connector: Dataspace Protocol control plane and the policy-enforcing data plane."""

__all__: list[str] = []

"""The registries: trusted issuers (EBSI TIR v4) and participants.

:class:`Registry` writes issuer entries with signed accreditations (the model
is :mod:`trust_anchor.domain.registry`), keeps them in step with the
participants' states, and reads both registries in keyset pages. This is the
registry the trust anchor keeps; relying parties ask it through
:mod:`identity.trusted_issuers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from identity.vc import build_credential, issue_vc_jwt
from servicekit.errors import InvalidRequest, NotFound
from servicekit.paging import more_rows
from trust_anchor.domain.participants import ApplicationState, Participant, Role
from trust_anchor.domain.registry import IssuerRecord, IssuerType
from trust_anchor.errors import ParticipantNotFound
from trust_anchor.services.issuer import Issuer
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.store import participants as participant_store
from trust_anchor.store.issuers import count_issuers, get_issuer, list_issuers, upsert_issuer

__all__ = ["MEMBERS", "IssuerPage", "Registry"]

#: The states of a member: the public participant list shows these.
MEMBERS = (ApplicationState.ACTIVE, ApplicationState.SUSPENDED, ApplicationState.REVOKED)


@dataclass(frozen=True)
class IssuerPage:
    """A page of the trusted-issuers registry."""

    items: list[IssuerRecord]
    total: int
    next_after: str | None


@dataclass(frozen=True, eq=False)
class Registry:
    """Writes registry entries with signed accreditations."""

    engine: AsyncEngine
    issuer: Issuer
    settings: TrustAnchorSettings

    async def participants(
        self, states: Sequence[ApplicationState], *, after: str | None, limit: int
    ) -> tuple[list[Participant], str | None]:
        """Participants in some states (all when empty), in the order they applied,
        and the cursor of the next page."""
        async with self.engine.connect() as conn:
            rows = await participant_store.list_participants(
                conn, states=list(states) or None, after=after, limit=limit + 1)
        page, more = more_rows(rows, limit)
        return page, page[-1].id if more and page else None

    async def members(
        self,
        *,
        text: str | None = None,
        states: Sequence[ApplicationState] = MEMBERS,
        role: Role | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> tuple[list[Participant], str | None]:
        """Members (of ``states``, all member states by default) whose legal name or DID
        contains ``text`` (ignoring case) and that have ``role``, in the order they
        applied; and the cursor of the next page."""
        if not set(states) <= set(MEMBERS):
            raise InvalidRequest("members are active, suspended or revoked",
                                 code="invalid-status")
        async with self.engine.connect() as conn:
            rows = await participant_store.list_participants(
                conn, states=list(states or MEMBERS), after=after, limit=limit + 1,
                text=text or None, role=role)
        page, more = more_rows(rows, limit)
        return page, page[-1].id if more and page else None

    async def counts(self) -> dict[ApplicationState, int]:
        """How many participants are in each state (every state, zero when none)."""
        async with self.engine.connect() as conn:
            found = await participant_store.count_by_state(conn)
        return {state: found.get(state, 0) for state in ApplicationState}

    async def newest(self, limit: int = 10) -> list[Participant]:
        """The most recent applications (any state), newest first."""
        async with self.engine.connect() as conn:
            return await participant_store.newest_participants(conn, limit=limit)

    async def member(self, did: str) -> Participant:
        """The member (active, suspended or revoked) with ``did``."""
        async with self.engine.connect() as conn:
            participant = await participant_store.participant_by_did(conn, did)
        if participant.state not in MEMBERS:
            raise ParticipantNotFound(f"{did} is not a member")
        return participant

    async def issuers(self, *, after: str | None, limit: int) -> IssuerPage:
        """A page of issuers ordered by DID."""
        async with self.engine.connect() as conn:
            rows = await list_issuers(conn, after=after, limit=limit + 1)
            total = await count_issuers(conn)
        page, more = more_rows(rows, limit)
        return IssuerPage(page, total, page[-1].did if more and page else None)

    async def entry(self, did: str) -> IssuerRecord:
        """The registry entry of ``did``."""
        async with self.engine.connect() as conn:
            record = await get_issuer(conn, did)
        if record is None:
            raise NotFound(f"{did} is not in the trusted-issuers registry",
                           code="issuer-not-found")
        return record

    async def accredit(self, did: str, issuer_type: IssuerType,
                       types: Sequence[str]) -> IssuerRecord:
        """The operator accredits ``did`` as a TAO or TI for ``types``."""
        if issuer_type not in (IssuerType.TAO, IssuerType.TI):
            raise InvalidRequest("the operator accredits TAO or TI issuers",
                                 code="issuer-type-invalid")
        if not did.startswith("did:"):
            raise InvalidRequest("the path must name a DID", code="did-malformed")
        async with self.engine.begin() as conn:
            return await self.put(conn, did, issuer_type, types)

    async def revoke(self, did: str) -> IssuerRecord:
        """Mark the issuer ``Revoked``: relying parties stop trusting what it issues."""
        async with self.engine.begin() as conn:
            record = await get_issuer(conn, did)
            if record is None:
                raise NotFound(f"{did} is not in the trusted-issuers registry",
                               code="issuer-not-found")
            if record.issuer_type == IssuerType.ROOT_TAO:
                raise InvalidRequest("the RootTAO cannot be revoked", code="root-tao-reserved")
            return await self.put(conn, did, IssuerType.REVOKED, record.credential_types)

    def _accreditation(self, did: str, issuer_type: IssuerType, types: Sequence[str]) -> str:
        at = self.issuer.now().replace(microsecond=0)
        credential = build_credential(
            issuer=self.issuer.did,
            subject={
                "id": did,
                "issuerType": str(issuer_type),
                "accreditedFor": [{"types": sorted(set(types))}],
            },
            types=["VerifiableAccreditation"],
            valid_from=at,
            valid_until=at + timedelta(days=3650),
        )
        return issue_vc_jwt(credential, self.issuer.identity.signer)

    async def put(
        self, conn: AsyncConnection, did: str, issuer_type: IssuerType, types: Sequence[str]
    ) -> IssuerRecord:
        """Create or replace the entry of ``did``."""
        if issuer_type is IssuerType.ROOT_TAO and did != self.issuer.did:
            raise InvalidRequest("only the trust anchor is the RootTAO", code="root-tao-reserved")
        at = self.issuer.now()
        existing = await get_issuer(conn, did)
        record = IssuerRecord(
            did=did,
            issuer_type=str(issuer_type),
            tao=self.issuer.did,
            root_tao=self.issuer.did,
            credential_types=sorted(set(types)),
            accreditation=self._accreditation(did, issuer_type, types),
            created_at=existing.created_at if existing else at,
            updated_at=at,
        )
        await upsert_issuer(conn, record)
        return record

    async def ensure_root(self) -> None:
        """Register the trust anchor as RootTAO for every configured type.

        The root vouches for all the types it accredits others for, and it
        may issue any of them itself (e.g. on an accredited issuer's request).
        """
        types = [c.type for c in self.settings.credential_types]
        types.append("VerifiableAccreditation")
        async with self.engine.begin() as conn:
            existing = await get_issuer(conn, self.issuer.did)
            if existing is None or sorted(set(types)) != existing.credential_types:
                await self.put(conn, self.issuer.did, IssuerType.ROOT_TAO, types)

    def _types_for(self, participant: Participant) -> list[str]:
        roles = {str(r) for r in participant.roles}
        return [
            c.type for c in self.settings.credential_types if roles.intersection(c.issued_by)
        ]

    async def accredit_roles(self, conn: AsyncConnection, participant: Participant) -> None:
        """Make an approved participant a TI for the types its roles issue."""
        types = self._types_for(participant)
        if types:
            await self.put(conn, participant.did, IssuerType.TI, types)

    async def follow_participant(self, conn: AsyncConnection, participant: Participant) -> None:
        """Mirror a participant's suspension, reinstatement or revocation in the registry."""
        existing = await get_issuer(conn, participant.did)
        if existing is None:
            return
        active = participant.state is ApplicationState.ACTIVE
        issuer_type = IssuerType.TI if active else IssuerType.REVOKED
        if existing.issuer_type != issuer_type:
            await self.put(conn, participant.did, issuer_type, existing.credential_types)

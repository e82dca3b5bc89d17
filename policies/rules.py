"""Reading the rules of a policy: permissions, prohibitions, duties, their actions and parties.

:class:`RuleReader` adds to the term and constraint reading of
:class:`~policies.reader.Reader` what every ODRL rule has (an action, a
target, parties, constraints, nested duties); :mod:`policies.parse` reads the
policy document around them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from policies.errors import pointer
from policies.model import Action, Asset, ConstraintNode, Duty, Party, Permission, Prohibition
from policies.reader import Json, Reader
from policies.vocabulary import PARTY_FUNCTIONS

__all__ = ["RULE_KEYS", "RuleReader"]

T = TypeVar("T")

#: The members every rule and the policy itself may have.
RULE_KEYS = frozenset({"@id", "@type", "action", "target", "assigner", "assignee", "constraint"})


class RuleReader(Reader):
    """Reads rules, actions, assets and parties of one compact policy document."""

    def _opt(
        self,
        found: Mapping[str, tuple[str, Json]],
        path: str,
        name: str,
        read: Callable[[Json, str], T | None],
    ) -> T | None:
        if name not in found:
            return None
        key, raw = found[name]
        return read(raw, pointer(path, key))

    # -- rules -----------------------------------------------------------------

    def _rule_fields(
        self, obj: Json, path: str, extra: Iterable[str], rule_type: str
    ) -> tuple[dict[str, tuple[str, Json]], dict[str, Json]] | None:
        if not isinstance(obj, Mapping):
            self.issue("invalid-structure", path, f"a {rule_type} must be a JSON object")
            return None
        found, extras = self.fields(obj, path, RULE_KEYS | PARTY_FUNCTIONS | set(extra))
        if "@type" in found:
            key, raw = found["@type"]
            written = raw if isinstance(raw, str) else None
            if written is None or self.terms.odrl_term(written) != rule_type:
                self.issue(
                    "invalid-structure", pointer(path, key), f"@type must be {rule_type} here"
                )
        return found, extras

    def _parties(self, found: Mapping[str, tuple[str, Json]], path: str) -> dict[str, Party]:
        out: dict[str, Party] = {}
        for name in sorted(PARTY_FUNCTIONS & found.keys()):
            party = self._ref(found, path, name, Party)
            if party is not None:
                out[name] = party
        return out

    def permission(self, obj: Json, path: str) -> Permission | None:
        read = self._rule(obj, path, "Permission", "duty")
        return None if read is None else Permission(**read[0], duties=read[1])

    def prohibition(self, obj: Json, path: str) -> Prohibition | None:
        read = self._rule(obj, path, "Prohibition", "remedy")
        return None if read is None else Prohibition(**read[0], remedies=read[1])

    def duty(self, obj: Json, path: str) -> Duty | None:
        read = self._rule(obj, path, "Duty", "consequence")
        return None if read is None else Duty(**read[0], consequences=read[1])

    def _rule(
        self, obj: Json, path: str, rule_type: str, nested: str
    ) -> tuple[dict[str, Any], tuple[Duty, ...]] | None:
        """The members every rule has, and its ``nested`` duties (duty, remedy, consequence)."""
        read = self._rule_fields(obj, path, {nested}, rule_type)
        if read is None:
            return None
        found, extras = read
        duties: tuple[Duty, ...] = ()
        if nested in found:
            key, raw = found[nested]
            duties = tuple(
                d
                for p, item in self.many(raw, pointer(path, key))
                if (d := self.duty(item, p)) is not None
            )
        common = {
            "uid": self.uid(found, path),
            "action": self._opt(found, path, "action", self.action),
            "target": self._ref(found, path, "target", Asset),
            "assigner": self._ref(found, path, "assigner", Party),
            "assignee": self._ref(found, path, "assignee", Party),
            "constraints": self._constraint_list(found, path),
            "parties": self._parties(found, path),
            "extras": extras,
            "path": path,
        }
        return common, duties

    # -- actions, assets, parties ---------------------------------------------------

    def action(self, raw: Json, path: str) -> Action | None:
        raw = self.single(raw, path, "action")
        refinements: tuple[ConstraintNode, ...] = ()
        name_raw: Json = raw
        if isinstance(raw, Mapping) and "@id" not in raw:
            found, _ = self.fields(raw, path, {"rdf:value", "refinement"})
            if "rdf:value" not in found:
                self.issue("missing-action", path, "an action object needs rdf:value")
                return None
            key, name_raw = found["rdf:value"]
            if "refinement" in found:
                rkey, rraw = found["refinement"]
                refinements = self.constraints(rraw, pointer(path, rkey))
            name_path = pointer(path, key)
        else:
            name_path = path
        text = self.term(name_raw, name_path, "action")
        if text is None:
            return None
        resolved = self.terms.action(text)
        if resolved.term is None:
            hint = f" ({resolved.hint})" if resolved.hint else ""
            message = (
                f"{text!r} is a deprecated ODRL action{hint}"
                if resolved.problem == "deprecated-action"
                else f"{text!r} is not an action of ODRL or a declared profile"
            )
            self.issue(resolved.problem or "unknown-action", name_path, message)
            return None
        self.record_profile(resolved.profile, resolved.term, name_path)
        return Action(name=resolved.term, refinements=refinements, path=path)

    def _ref(
        self,
        found: Mapping[str, tuple[str, Json]],
        path: str,
        name: str,
        cls: type[Asset] | type[Party],
    ) -> Any:
        if name not in found:
            return None
        key, raw = found[name]
        here = pointer(path, key)
        raw = self.single(raw, here, name)
        if isinstance(raw, str):
            return cls(uid=raw)
        if not isinstance(raw, Mapping):
            self.issue("invalid-structure", here, f"{name} must be an IRI or an object")
            return None
        collection_type = "AssetCollection" if cls is Asset else "PartyCollection"
        plain_type = "Asset" if cls is Asset else "Party"
        fields, extras = self.fields(raw, here, {"@id", "@type", "source", "refinement"})
        collection = False
        if "@type" in fields:
            tkey, traw = fields["@type"]
            types = traw if isinstance(traw, list) else [traw]
            names = {self.terms.odrl_term(t) for t in types if isinstance(t, str)}
            collection = collection_type in names
            if not names & {collection_type, plain_type} and not any(
                isinstance(t, str) and self._is_foreign(t) for t in types
            ):
                self.issue(
                    "invalid-structure",
                    pointer(here, tkey),
                    f"{name} must be typed {plain_type} or {collection_type}",
                )
        uid = self.uid(fields, here)
        source = None
        if "source" in fields:
            skey, sraw = fields["source"]
            source = self.string(sraw, pointer(here, skey), "source")
        refinements: tuple[ConstraintNode, ...] = ()
        if "refinement" in fields:
            rkey, rraw = fields["refinement"]
            refinements = self.constraints(rraw, pointer(here, rkey))
            collection = True
        if uid is None and source is None and not refinements:
            self.issue("invalid-structure", here, f"{name} needs an @id")
            return None
        del extras  # other vocabularies' descriptions of a party/asset do not affect decisions
        return cls(uid=uid, collection=collection, source=source, refinements=refinements)

"""The decision path both engines share for one policy version: field classes, a bounded cache, issuing.

A decision is a pure function of the version (modules and tables) and the input: the reviewed decision module
calls no `time.now_ns`, `rand.*`, `uuid.*`, `http.send` or other non-deterministic built-in. So the validated
answer for a compacted input (`field_classes.py`) is kept, keyed by the SHA-256 of that input in canonical JSON
(orjson, sorted keys; the field classes and the rest of the input are encoded apart, joined by a NUL byte that
JSON text never contains), in a cache that belongs to one `VersionDecisions`, which belongs to one version: an
engine replaces it whole when it activates another version, so a cached decision can never be issued under
another version's hash. A version whose Rego is not reviewed is evaluated as given and not cached. The
OPA-server engine uses this path without a cache (engine.py says why).

Compacting costs about a microsecond per field in Python, more than the rest of a cache hit; dossiers of one
shape have the same field list, so the compaction is kept too, keyed by the field list's exact JSON.

Every decision issued gets its own `decision_id` and the version's hash. The issued `Decision` owns its
top-level containers (`fields`, `reasons`, `obligations`); its nested models (each field's `FieldDecision`,
`legal_basis`, `processing_activity`, `break_glass`) are shared with the cache and with other decisions of the
same class, so they are read-only (nothing downstream assigns to them: gateway/exchange reads them or dumps
copies). Copying them would cost more than the rest of a cache hit.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import ValidationError

from gateway.core.errors import PolicyUnavailable
from gateway.policy.field_classes import Compacted, compact, reviewed
from gateway.policy.models import Decision, FieldDecision

DEFAULT_DECISION_CACHE_SIZE = 4096
_SHAPES = 256  # field lists whose compaction is kept (a few KB each)
_SHARED_FIELD_DECISIONS = 65_536  # bound of the pool of distinct field treatments of a version
_UNCOMPACTABLE = object()  # a field list kept as such: evaluated as given
_V = TypeVar("_V")


def validated(raw: Any) -> Decision:
    """The policy's raw answer as a `Decision` (without identity); fail closed on anything malformed."""
    if not isinstance(raw, dict):
        raise PolicyUnavailable(detail="The policy gave no decision.")
    try:
        return Decision.model_validate(raw)
    except ValidationError as exc:
        raise PolicyUnavailable(detail="The policy's decision is malformed.") from exc


class BoundedCache(Generic[_V]):
    """Bounded, least recently used first out; thread-safe (the embedded engine may run on several threads)."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._entries: OrderedDict[bytes, _V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> _V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: bytes, value: _V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
                self.evictions += 1


@dataclass(frozen=True, slots=True)
class Prepared:
    """What to evaluate for one input, how to expand the answer, and the cache key (None: not cached)."""

    policy_input: dict[str, Any]
    classes: Compacted | None
    key: bytes | None


class VersionDecisions:
    """One version's shared decision path. `modules=None` (e.g. an OPA sidecar not yet pushed to, whose Rego
    the gateway does not know) evaluates every input as given, uncached."""

    def __init__(self, *, bundle_hash: str, modules: Mapping[str, str] | None, cache_size: int) -> None:
        self.bundle_hash = bundle_hash
        self.compacting = modules is not None and reviewed(modules)
        self.cache: BoundedCache[Decision] = BoundedCache(cache_size if self.compacting else 0)
        self._shapes: BoundedCache[object] = BoundedCache(_SHAPES if self.compacting else 0)
        self._pool: dict[tuple[Any, ...], FieldDecision] = {}

    def prepare(self, policy_input: dict[str, Any]) -> Prepared:
        if not self.compacting:
            return Prepared(policy_input, None, None)
        try:
            classes = self._compacted(policy_input.get("fields"))
            evaluated = policy_input if classes is None else classes.policy_input(policy_input)
            key = self._key(evaluated, classes) if self.cache.size else None
        except TypeError:  # not JSON: evaluating it fails closed
            return Prepared(policy_input, None, None)
        return Prepared(evaluated, classes, key)

    @staticmethod
    def _key(evaluated: dict[str, Any], classes: Compacted | None) -> bytes:
        """SHA-256 of the evaluated input in canonical JSON (fields apart, after a NUL no JSON text has): the
        key covers exactly what the engine is given, so equal keys get equal answers."""
        if classes is None:
            return hashlib.sha256(orjson.dumps(evaluated, option=orjson.OPT_SORT_KEYS)).digest()
        rest = orjson.dumps({**evaluated, "fields": None}, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(rest + b"\0" + classes.fields_json).digest()

    def _compacted(self, fields: Any) -> Compacted | None:
        """The compaction of a field list, from the shape cache when seen before; TypeError if not JSON."""
        exact = orjson.dumps(fields)  # identical JSON, identical compaction (the engines only see JSON)
        shape = self._shapes.get(exact)
        if shape is None:
            found = compact(fields)
            shape = _UNCOMPACTABLE if found is None else found
            self._shapes.put(exact, shape)
        return shape if isinstance(shape, Compacted) else None

    def cached(self, prepared: Prepared, *, engine: str) -> Decision | None:
        """The cached decision for this input, issued anew; None on a miss (or without a cache)."""
        if prepared.key is None:
            return None
        template = self.cache.get(prepared.key)
        return None if template is None else self._issue(template, prepared, engine=engine)

    def settle(self, prepared: Prepared, raw: Any, *, engine: str) -> Decision:
        """Validate an evaluated answer, keep it for this version, and issue it."""
        template = validated(raw)
        if prepared.classes is not None and not template.fields.keys() <= prepared.classes.synthetic_paths():
            raise PolicyUnavailable(detail="The policy's decision is malformed.")
        if prepared.key is not None:
            template.fields = self._shared(template.fields)
            self.cache.put(prepared.key, template)
        return self._issue(template, prepared, engine=engine)

    def _shared(self, fields: dict[str, FieldDecision]) -> dict[str, FieldDecision]:
        """The same treatment is one object across entries, so a cache entry costs little memory."""
        pool = self._pool
        out: dict[str, FieldDecision] = {}
        for key, field in fields.items():
            identity = (field.treatment, field.method, field.reason, frozenset(field.model_fields_set))
            shared = pool.get(identity)
            if shared is None:
                shared = field
                if len(pool) < _SHARED_FIELD_DECISIONS:
                    pool[identity] = field
            out[key] = shared
        return out

    def _issue(self, template: Decision, prepared: Prepared, *, engine: str) -> Decision:
        fields = template.fields
        expanded = prepared.classes.expand(fields) if prepared.classes is not None else dict(fields)
        return template.model_copy(update={
            "fields": expanded, "reasons": list(template.reasons), "obligations": list(template.obligations),
            "decision_id": str(uuid.uuid4()), "bundle_hash": self.bundle_hash, "engine": engine,
        })

"""The base-model graph: edges from every piece of base-model evidence a model has, and its ancestors and
descendants.

Evidence, strongest first: the hub's own ``base_model:[relation:]id`` tags, the card's YAML
(``base_model`` with ``base_model_relation``), and what the card extractor found (which includes prose
such as "a fine-tuned version of [x](https://huggingface.co/x)"). One edge per parent, with the most
explicit relation any source gives and every source that named it as evidence.

Real data has self-links (a card naming itself as its base) and cycles (two models naming each other);
self-links are never written, and the traversal stops at a model already on the path, reporting the
cycle, and shows a model reached twice by different paths once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from ..store import schema
from ..store.cards import RELATIONS, EdgeRow
from .schema import Extraction

E = schema.model_edge
M = schema.model
A = schema.model_alias

# The hub's tag spellings and the words cards use, to the five relations of DESIGN §3.
_RELATION_WORDS = {
    "finetune": "finetune", "finetuned": "finetune", "fine-tune": "finetune", "fine_tune": "finetune",
    "fine-tuned": "finetune", "adapter": "adapter", "adapters": "adapter", "lora": "adapter", "peft": "adapter",
    "quantized": "quantized", "quantised": "quantized", "quantization": "quantized", "quantisation": "quantized",
    "merge": "merge", "merged": "merge", "merges": "merge", "unknown": "unknown",
}
_HUB_URL = re.compile(r"^(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/(?:models/)?", re.IGNORECASE)
_TAG_PREFIX = "base_model:"


def normalise_relation(value: object) -> str:
    if not isinstance(value, str):
        return "unknown"
    return _RELATION_WORDS.get(value.strip().lower().replace(" ", "-"), "unknown")


def normalise_parent(value: object) -> str | None:
    """A hub id from how cards write one (``org/name``, a hub URL, with or without ``/tree/main``)."""
    if not isinstance(value, str):
        return None
    text = value.strip().strip("<>").strip()
    if _HUB_URL.match(text):
        parts = [p for p in _HUB_URL.sub("", text).split("?")[0].split("#")[0].split("/") if p]
        text = "/".join(parts[:2]) if len(parts) >= 2 else (parts[0] if parts else "")
    text = text.rstrip("/")
    return text[:255] if text else None


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass
class _Parent:
    parent_id: str
    relations: list[tuple[int, str]] = field(default_factory=list)  # (source rank, relation)
    evidence: list[str] = field(default_factory=list)


def edges_from_evidence(model_id: str, tags: Iterable[str] | None, card_data: Mapping[str, Any] | None,
                        extraction: Extraction | None) -> list[EdgeRow]:
    """The model's base-model edges: one per parent (case-insensitive), self-links left out. A parent's
    relation comes from the most explicit source that gives one (hub tag, then YAML, then the extractor);
    ``unknown`` when none does."""
    parents: dict[str, _Parent] = {}

    def add(raw: object, relation: str | None, rank: int, evidence: str) -> None:
        parent_id = normalise_parent(raw)
        if parent_id is None or parent_id.lower() == model_id.lower():
            return
        entry = parents.setdefault(parent_id.lower(), _Parent(parent_id))
        if relation and relation != "unknown":
            entry.relations.append((rank, relation))
        if evidence not in entry.evidence:
            entry.evidence.append(evidence)

    for tag in tags or ():
        if not isinstance(tag, str) or not tag.startswith(_TAG_PREFIX):
            continue
        rest = tag[len(_TAG_PREFIX):]
        head, sep, tail = rest.partition(":")
        if sep and normalise_relation(head) != "unknown":
            add(tail, normalise_relation(head), 0, "hub_tag")
        elif not sep:
            add(rest, None, 0, "hub_tag")
    if card_data:
        yaml_relation = normalise_relation(card_data.get("base_model_relation"))
        for raw in _as_list(card_data.get("base_model")):
            add(raw, yaml_relation, 1, "card_yaml")
    if extraction is not None:
        found = extraction.fields.get("base_models")
        relation_field = extraction.fields.get("base_model_relation")
        relation = normalise_relation(relation_field.value) if relation_field is not None else None
        if found is not None:
            for raw in _as_list(found.value):
                add(raw, relation, 2, f"card:{found.extractor}")
    edges = []
    for entry in parents.values():
        relation = min(entry.relations)[1] if entry.relations else "unknown"
        edges.append(EdgeRow(entry.parent_id, relation if relation in RELATIONS else "unknown",
                             ",".join(entry.evidence)))
    return edges


# --- traversal --------------------------------------------------------------------------------------------


@dataclass
class LineageNode:
    """A model in the tree: ``relation`` and ``evidence`` are those of the edge that leads to it.
    ``pk`` is None for a model named as a base but not stored. ``note``: ``cycle`` (on the path
    already: not expanded), ``seen`` (expanded elsewhere in the tree), ``self-link``, or ``depth``
    (more beyond the depth asked)."""

    model_id: str
    pk: int | None
    relation: str
    evidence: str
    children: list[LineageNode] = field(default_factory=list)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.model_id, "stored": self.pk is not None, "relation": self.relation,
                               "evidence": self.evidence}
        if self.note:
            out["note"] = self.note
        out["children"] = [c.to_dict() for c in self.children]
        return out


@dataclass
class Lineage:
    model_id: str
    pk: int | None
    ancestors: list[LineageNode]
    descendants: list[LineageNode]
    cycles: list[list[str]]
    depth: int

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model_id, "stored": self.pk is not None, "depth": self.depth,
                "ancestors": [n.to_dict() for n in self.ancestors],
                "descendants": [n.to_dict() for n in self.descendants], "cycles": self.cycles}


def find_model(conn: Connection, model_id: str) -> tuple[int, str] | None:
    """(primary key, stored id) of a model by id: exact spelling on any hub (the Hugging Face Hub first),
    then any case, then a former name."""
    text = normalise_parent(model_id) or model_id
    order = (M.c.hub != "huggingface", M.c.id)
    for condition in (M.c.model_id == text, func.lower(M.c.model_id) == text.lower()):
        row = conn.execute(select(M.c.id, M.c.model_id).where(condition).order_by(*order).limit(1)).first()
        if row is not None:
            return int(row.id), str(row.model_id)
    row = conn.execute(select(M.c.id, M.c.model_id).join(A, A.c.model == M.c.id)
                       .where(func.lower(A.c.old_id) == text.lower()).order_by(A.c.id).limit(1)).first()
    return (int(row.id), str(row.model_id)) if row is not None else None


@dataclass
class _Frontier:
    node: LineageNode
    path: tuple[str, ...]  # lower-cased ids from the root down to this node


def _key(pk: int | None, model_id: str) -> str:
    return f"#{pk}" if pk is not None else model_id.lower()


def _parents_of(conn: Connection, pks: Sequence[int]) -> dict[int, list[tuple[str, int | None, str, str]]]:
    out: dict[int, list[tuple[str, int | None, str, str]]] = {}
    query = (select(E.c.child, E.c.parent_id, E.c.parent, E.c.relation, E.c.evidence, M.c.model_id)
             .outerjoin(M, M.c.id == E.c.parent).order_by(E.c.id))
    for start in range(0, len(pks), 500):
        for row in conn.execute(query.where(E.c.child.in_(pks[start:start + 500]))):
            out.setdefault(row.child, []).append((row.model_id or row.parent_id, row.parent, row.relation,
                                                  row.evidence))
    return out


def _children_of(conn: Connection, targets: Sequence[tuple[int | None, str]],
                 ) -> dict[str, list[tuple[str, int, str, str]]]:
    """Per target key: (child id, child pk, relation, evidence) of the edges naming the target as parent,
    by its stored row or, for edges not linked to a row, by its id in any case."""
    out: dict[str, list[tuple[str, int, str, str]]] = {}
    by_pk = {pk: _key(pk, mid) for pk, mid in targets if pk is not None}
    by_name: dict[str, list[str]] = {}
    for pk, mid in targets:
        by_name.setdefault(mid.lower(), []).append(_key(pk, mid))
    query = (select(E.c.child, E.c.parent, E.c.parent_id, E.c.relation, E.c.evidence, M.c.model_id)
             .join(M, M.c.id == E.c.child).order_by(M.c.model_id, E.c.id))
    pks = sorted(by_pk)
    names = sorted(by_name)
    for start in range(0, max(len(pks), len(names)), 500):
        pk_part, name_part = pks[start:start + 500], names[start:start + 500]
        condition = or_(E.c.parent.in_(pk_part),
                        and_(E.c.parent.is_(None), func.lower(E.c.parent_id).in_(name_part)))
        for row in conn.execute(query.where(condition)):
            keys = [by_pk[row.parent]] if row.parent in by_pk else by_name.get(row.parent_id.lower(), [])
            for key in keys:
                out.setdefault(key, []).append((row.model_id, row.child, row.relation, row.evidence))
    return out


def lineage(conn: Connection, model_id: str, *, depth: int = 3) -> Lineage | None:
    """Ancestors and descendants of a model up to ``depth`` edges away; None when the model is neither
    stored nor named as anyone's base model."""
    found = find_model(conn, model_id)
    if found is None:
        name = normalise_parent(model_id) or model_id
        named = conn.execute(select(E.c.parent_id).where(func.lower(E.c.parent_id) == name.lower()).limit(1)).first()
        if named is None:
            return None
        root_pk, root_id = None, str(named.parent_id)
    else:
        root_pk, root_id = found
    cycles: list[list[str]] = []
    ancestors = _walk(conn, root_pk, root_id, depth, cycles, up=True)
    descendants = _walk(conn, root_pk, root_id, depth, cycles, up=False)
    # Walking both ways meets a cycle through the root twice.
    unique = list({tuple(c): c for c in cycles}.values())
    return Lineage(root_id, root_pk, ancestors, descendants, unique, depth)


def _walk(conn: Connection, root_pk: int | None, root_id: str, depth: int, cycles: list[list[str]], *,
          up: bool) -> list[LineageNode]:
    """Breadth first, one query per level; each model is expanded once."""
    top: list[LineageNode] = []
    root_key = _key(root_pk, root_id)
    frontier = [_Frontier(LineageNode(root_id, root_pk, "", ""), (root_key,))]
    names = {root_key: root_id}
    expanded = {root_key}
    for level in range(depth):
        if not frontier:
            break
        if up:
            pks = [f.node.pk for f in frontier if f.node.pk is not None]
            found = _parents_of(conn, pks)
            links: list[list[tuple[str, int | None, str, str]]] = [
                found.get(f.node.pk, []) if f.node.pk is not None else [] for f in frontier]
        else:
            below = _children_of(conn, [(f.node.pk, f.node.model_id) for f in frontier])
            links = [[(c, pk, r, ev) for c, pk, r, ev in below.get(_key(f.node.pk, f.node.model_id), [])]
                     for f in frontier]
        following: list[_Frontier] = []
        for item, edges in zip(frontier, links, strict=True):
            siblings = top if level == 0 else item.node.children
            for other_id, other_pk, relation, evidence in edges:
                key = _key(other_pk, other_id)
                names.setdefault(key, other_id)
                node = LineageNode(other_id, other_pk, relation, evidence)
                siblings.append(node)
                if key == item.path[-1]:
                    node.note = "self-link"
                    cycles.append([names[item.path[-1]], other_id])
                elif key in item.path:
                    node.note = "cycle"
                    start = item.path.index(key)
                    trail = [names[k] for k in item.path[start:]] + [other_id]
                    cycles.append(trail if up else trail[::-1])
                elif key in expanded:
                    node.note = "seen"
                elif other_pk is None and up:
                    continue  # a base model that is not stored: nothing more is known about it
                else:
                    expanded.add(key)
                    following.append(_Frontier(node, (*item.path, key)))
        frontier = following
    if frontier:
        # Whatever lies beyond the depth asked is only marked, with one more query.
        _mark_deeper(conn, frontier, up=up)
    return top


def _mark_deeper(conn: Connection, frontier: Sequence[_Frontier], *, up: bool) -> None:
    if up:
        found = _parents_of(conn, [f.node.pk for f in frontier if f.node.pk is not None])
        for f in frontier:
            if f.node.pk is not None and found.get(f.node.pk):
                f.node.note = "depth"
    else:
        below = _children_of(conn, [(f.node.pk, f.node.model_id) for f in frontier])
        for f in frontier:
            if below.get(_key(f.node.pk, f.node.model_id)):
                f.node.note = "depth"

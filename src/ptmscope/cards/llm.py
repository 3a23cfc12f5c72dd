"""The optional LLM extractor: asks any OpenAI-compatible endpoint for the card fields the deterministic
extractor left empty or uncertain, and nothing else.

- One ``POST {url}/chat/completions`` per card, through ptmscope's HTTP layer, with a JSON schema
  (``response_format: json_schema``) built from :data:`ptmscope.cards.schema.FIELDS` for exactly the
  fields asked. Each field comes back as ``{value, confidence, evidence}``.
- Prompts are data files in ``prompts/`` (``system.md``, ``user.md``, ``fields.toml``); their content
  is part of :attr:`LlmExtractor.version`, so editing a prompt re-extracts.
- Small context windows: the card is split at its markdown headings and the sections whose headings
  and text mention the asked fields' keywords are kept, most relevant first, within a token budget
  (estimated at four characters a token); a card that fits is sent whole.
- Answers at or above ``threshold`` confidence are values; below it they go to the review queue.
- Tokens come from the response's ``usage`` (estimated when a server leaves it out) and are priced
  per 1K tokens as configured.
- An endpoint that cannot be reached (connection refused, timeout) or that refuses the model or the
  key is reported once; every card after that stays with its deterministic result.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from string import Template
from typing import Any, Literal

import httpx2
import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ..config import Settings
from ..http import make_client
from .schema import FIELDS, CardExtractor, Extraction, FieldValue, is_empty

log = logging.getLogger(__name__)

RELATIONS = ("finetune", "adapter", "quantized", "merge")
# Statuses meaning the endpoint will refuse every card alike: a wrong key, model or URL.
_REFUSING = frozenset({401, 403, 404})
# The HTTP transport retries idempotent methods only; a chat completion is safe to repeat, so the
# server's "slow down" answers are waited out here, with the transport's Retry-After parsing and limits.
_CHARS_PER_TOKEN = 4
_MIN_CARD_TOKENS = 256
_GAP = "\n[...]\n"


# --- settings ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LlmSettings:
    """Where the model is and how its answers are used.

    ``url`` is the API base (``http://127.0.0.1:8080/v1``; ``/chat/completions`` is added).
    ``threshold``: answers less confident than this go to the review queue. ``uncertain_below``:
    deterministic values less confident than this are asked again. ``context_tokens`` is the model's
    whole window (prompt, card excerpt and answer)."""

    url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    threshold: float = 0.7
    uncertain_below: float = 0.5
    context_tokens: int = 8192
    max_output_tokens: int = 1500
    price_in_per_1k: float = 0.0
    price_out_per_1k: float = 0.0
    fields: tuple[str, ...] = ()  # empty: every field the prompts describe
    concurrency: int = 4
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if not self.url or not self.model:
            raise ValueError("an LLM needs an endpoint URL and a model name")
        if not 0.0 <= self.threshold <= 1.0 or not 0.0 <= self.uncertain_below <= 1.0:
            raise ValueError("confidence thresholds are within 0..1")
        unknown = set(self.fields) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown card fields: {', '.join(sorted(unknown))}")


ENV_URL = "PTMSCOPE_LLM_URL"
ENV_MODEL = "PTMSCOPE_LLM_MODEL"
ENV_KEYS = ("PTMSCOPE_LLM_API_KEY", "OPENAI_API_KEY")
ENV_PRICE_IN = "PTMSCOPE_LLM_PRICE_IN"
ENV_PRICE_OUT = "PTMSCOPE_LLM_PRICE_OUT"
ENV_CONTEXT = "PTMSCOPE_LLM_CONTEXT"


def llm_settings(environ: Mapping[str, str], *, url: str | None = None, model: str | None = None,
                 threshold: float | None = None, **overrides: Any) -> LlmSettings:
    """Settings from explicit values, falling back to the environment (``PTMSCOPE_LLM_URL``,
    ``PTMSCOPE_LLM_MODEL``, ``PTMSCOPE_LLM_API_KEY`` or ``OPENAI_API_KEY``, ``PTMSCOPE_LLM_PRICE_IN`` /
    ``_OUT`` in USD per 1K tokens, ``PTMSCOPE_LLM_CONTEXT`` in tokens). Raises ValueError on missing or
    malformed values."""
    def number(name: str) -> float | None:
        text = environ.get(name)
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {text!r}") from None

    values: dict[str, Any] = {
        "url": (url or environ.get(ENV_URL) or "").rstrip("/"),
        "model": model or environ.get(ENV_MODEL) or "",
        "api_key": next((environ[k] for k in ENV_KEYS if environ.get(k)), None),
    }
    if not values["url"]:
        raise ValueError(f"no LLM endpoint: give --llm-url or set {ENV_URL}")
    if not values["model"]:
        raise ValueError(f"no LLM model: give --llm-model or set {ENV_MODEL}")
    if threshold is not None:
        values["threshold"] = threshold
    for key, env in (("price_in_per_1k", ENV_PRICE_IN), ("price_out_per_1k", ENV_PRICE_OUT)):
        found = number(env)
        if found is not None:
            values[key] = found
    context = number(ENV_CONTEXT)
    if context is not None:
        values["context_tokens"] = int(context)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return LlmSettings(**values)


# --- prompts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompts:
    system: str
    user: Template
    descriptions: dict[str, str]
    keywords: dict[str, tuple[str, ...]]
    digest: str


@cache
def load_prompts() -> Prompts:
    folder = resources.files("ptmscope.cards").joinpath("prompts")
    system = folder.joinpath("system.md").read_text(encoding="utf-8")
    user = folder.joinpath("user.md").read_text(encoding="utf-8")
    fields_text = folder.joinpath("fields.toml").read_text(encoding="utf-8")
    table = tomllib.loads(fields_text)
    unknown = set(table) - set(FIELDS)
    if unknown:
        raise ValueError(f"prompts/fields.toml describes unknown fields: {sorted(unknown)}")
    digest = hashlib.sha256("\0".join((system, user, fields_text)).encode()).hexdigest()[:12]
    return Prompts(system, Template(user), {k: str(v["description"]) for k, v in table.items()},
                   {k: tuple(str(w).lower() for w in v.get("keywords", ())) for k, v in table.items()}, digest)


# --- the answer's JSON schema, and reading answers ---------------------------------------------------------


def _value_schema(name: str) -> dict[str, Any]:
    kind = FIELDS[name]
    if name == "evaluation":
        item = {"type": "object", "additionalProperties": False, "required": ["dataset", "metric", "value"],
                "properties": {"dataset": {"type": ["string", "null"]}, "metric": {"type": ["string", "null"]},
                               "value": {"type": ["number", "string", "null"]}}}
        return {"type": "array", "items": item}
    if kind == "dict":
        # Strict structured output allows no free-form object keys: name/value pairs instead.
        pair = {"type": "object", "additionalProperties": False, "required": ["name", "value"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}
        return {"type": "array", "items": pair}
    if name == "base_model_relation":
        return {"type": ["string", "null"], "enum": [*RELATIONS, None]}
    if kind == "int":
        return {"type": ["integer", "null"]}
    if kind == "list":
        return {"type": "array", "items": {"type": "string"}}
    return {"type": ["string", "null"]}


def answer_schema(fields: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of an answer about ``fields``: per field its value, a confidence and evidence."""
    properties = {
        name: {"type": "object", "additionalProperties": False, "required": ["value", "confidence", "evidence"],
               "properties": {"value": _value_schema(name),
                              "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                              "evidence": {"type": ["string", "null"]}}}
        for name in fields
    }
    return {"type": "object", "additionalProperties": False, "required": list(fields), "properties": properties}


class _EvalItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    dataset: str | None = None
    metric: str | None = None
    value: float | str | None = None


class _Pair(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    value: str | float | int | bool


def _python_type(name: str) -> Any:
    kind = FIELDS[name]
    if name == "evaluation":
        return list[_EvalItem]
    if kind == "dict":
        return list[_Pair]
    if name == "base_model_relation":
        return Literal["finetune", "adapter", "quantized", "merge"] | None
    if kind == "int":
        return int | None
    if kind == "list":
        return list[str] | None
    return str | None


@cache
def _answer_model(name: str) -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        f"Answer_{name}", __config__=ConfigDict(extra="ignore"),
        value=(_python_type(name), None), confidence=(float, 0.0), evidence=(str | None, None))
    return model


def _clean(name: str, value: Any) -> Any:
    """The schema's value from a validated answer (pairs to a dict, stripped strings, no blanks)."""
    if value is None:
        return None
    if name == "evaluation":
        return [{"dataset": v.dataset, "metric": v.metric, "value": v.value} for v in value]
    if FIELDS[name] == "dict":
        return {p.name.strip(): str(p.value).strip() for p in value if p.name.strip()}
    if isinstance(value, list):
        return list(dict.fromkeys(s.strip() for s in value if s and s.strip()))
    if isinstance(value, str):
        return value.strip() or None
    return value


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_answer(content: str, fields: Sequence[str]) -> dict[str, tuple[Any, float, str | None]]:
    """``{field: (value, confidence, evidence)}`` from the model's reply; fields it left out or answered
    empty are absent. Raises ValueError when the reply is not the JSON asked for."""
    match = _FENCE.match(content)
    if match:  # servers that ignore response_format often wrap the object in a code fence
        content = match.group(1)
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"the answer is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("the answer is not a JSON object")
    out: dict[str, tuple[Any, float, str | None]] = {}
    for name in fields:
        raw = document.get(name)
        if raw is None:
            continue
        try:
            answer = _answer_model(name).model_validate(raw)
        except ValidationError as exc:
            raise ValueError(f"field {name}: {exc.errors()[0]['msg']}") from None
        value = _clean(name, getattr(answer, "value", None))
        if is_empty(value):
            continue
        confidence = min(1.0, max(0.0, float(getattr(answer, "confidence", 0.0))))
        evidence = getattr(answer, "evidence", None)
        out[name] = (value, confidence, evidence[:500] if isinstance(evidence, str) else None)
    return out


# --- retrieval: the card sections that matter for the fields asked -------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    index: int
    heading: str
    text: str  # heading line included


_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def split_sections(card: str) -> list[Section]:
    """The card cut before each markdown heading (ATX, outside code fences); YAML front matter, when
    there is some, is the first section."""
    text = card.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    sections: list[Section] = []
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start < len(lines) and lines[start].strip() == "---":
        for end in range(start + 1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                sections.append(Section(0, "front matter", "\n".join(lines[start:end + 1])))
                start = end + 1
                break
    heading, fence = "", ""
    body: list[str] = []
    for line in lines[start:]:
        opened = _FENCE_OPEN.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
        elif opened:
            fence = opened.group(1)
        elif (match := _HEADING.match(line)) is not None:
            if "\n".join(body).strip():
                sections.append(Section(len(sections), heading, "\n".join(body).strip("\n")))
            heading, body = match.group(2).strip(), []
        body.append(line)
    if "\n".join(body).strip():
        sections.append(Section(len(sections), heading, "\n".join(body).strip("\n")))
    return sections


def estimate_tokens(text: str) -> int:
    return len(text) // _CHARS_PER_TOKEN + 1


def _score(section: Section, keywords: Sequence[Sequence[str]]) -> int:
    heading, body = section.heading.lower(), section.text.lower()
    score = 0
    for words in keywords:
        for word in words:
            if word in heading:
                score += 5
            score += min(body.count(word), 3)
    # The untitled opening paragraph is where cards say what the model is and what it was made from.
    if section.index == 0 or (section.index == 1 and section.heading and not section.heading.startswith("front")):
        score += 2
    return score


def select_sections(card: str, fields: Sequence[str], budget_tokens: int,
                    keywords: Mapping[str, Sequence[str]] | None = None) -> str:
    """The card within ``budget_tokens``: whole when it fits; else its sections ranked by how often
    they mention the fields' keywords (headings count most), taken best first while they fit (the
    last one cut to the space left), then put back in card order with ``[...]`` for the gaps."""
    text = card.lstrip("\ufeff").replace("\r\n", "\n")
    if estimate_tokens(text) <= budget_tokens:
        return text
    words = keywords if keywords is not None else load_prompts().keywords
    wanted = [words.get(name, ()) for name in fields]
    sections = split_sections(text)
    ranked = sorted(sections, key=lambda s: (-_score(s, wanted), s.index))
    left = budget_tokens * _CHARS_PER_TOKEN
    kept: dict[int, str] = {}
    for section in ranked:
        if left <= 0:
            break
        cost = len(section.text) + len(_GAP)
        if cost <= left:
            kept[section.index] = section.text
            left -= cost
        elif left >= _MIN_CARD_TOKENS * _CHARS_PER_TOKEN // 2:
            kept[section.index] = section.text[:left - len(_GAP)].rstrip() + " [...]"
            left = 0
    out: list[str] = []
    previous = -1
    for index in sorted(kept):
        if out and index != previous + 1:
            out.append("[...]")
        out.append(kept[index])
        previous = index
    if sections and previous != sections[-1].index:
        out.append("[...]")
    return "\n\n".join(out)


# --- the extractor ----------------------------------------------------------------------------------------


@dataclass
class LlmOutcome:
    """What the LLM did for one card. ``accepted``: values at or above the threshold; ``review``: values
    below it. ``called``: a request was answered (tokens are spent); ``unreachable``: the endpoint could
    not be used, the card stays deterministic."""

    asked: list[str] = field(default_factory=list)
    accepted: dict[str, FieldValue] = field(default_factory=dict)
    review: dict[str, FieldValue] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    called: bool = False
    unreachable: bool = False
    error: str | None = None


class LlmUnavailableError(Exception):
    """The endpoint cannot be used for any card (unreachable, or it refuses the key or the model)."""


class LlmExtractor:
    """Fills fields through an OpenAI-compatible chat completions endpoint. Thread-safe: one HTTP
    client, shared by callers filling several cards at once."""

    def __init__(self, llm: LlmSettings, settings: Settings, *, sleep: Callable[[float], None] = time.sleep,
                 prompts: Prompts | None = None) -> None:
        self.llm = llm
        self.settings = settings
        self.prompts = prompts or load_prompts()
        described = self.prompts.descriptions
        self.fields = tuple(f for f in (llm.fields or tuple(described)) if f in described)
        self.name = f"llm:{llm.model}"
        digest = hashlib.sha256(orjson.dumps([llm.model, self.prompts.digest, self.fields, llm.threshold,
                                               llm.uncertain_below, llm.context_tokens])).hexdigest()[:12]
        self.version = f"llm-{digest}"
        headers = {"content-type": "application/json", "accept": "application/json"}
        if llm.api_key:
            headers["authorization"] = f"Bearer {llm.api_key}"
        # Asking again is harmless here, so 429s and 503s are waited out by the one HTTP layer.
        self._client = make_client(settings, base_url=llm.url, headers=headers, sleep=sleep, retry_post=True)
        self._lock = threading.Lock()
        self._unavailable: str | None = None

    @property
    def unavailable(self) -> str | None:
        """Why the endpoint is not being used, once that is known; None while it works."""
        return self._unavailable

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LlmExtractor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- what to ask --

    def fields_to_ask(self, base: Extraction) -> list[str]:
        """Fields the deterministic result left empty, or holds with less than ``uncertain_below``."""
        asked = []
        for name in self.fields:
            found = base.fields.get(name)
            if found is None or is_empty(found.value) or found.confidence < self.llm.uncertain_below:
                asked.append(name)
        return asked

    def request_body(self, card: str, fields: Sequence[str], model_id: str | None) -> dict[str, Any]:
        schema = answer_schema(fields)
        listing = "\n".join(f"- {name}: {self.prompts.descriptions[name]}" for name in fields)
        frame = self.prompts.user.safe_substitute(model_id=model_id or "(unknown)", fields=listing, card="")
        overhead = estimate_tokens(self.prompts.system) + estimate_tokens(frame) + estimate_tokens(
            orjson.dumps(schema).decode())
        budget = max(_MIN_CARD_TOKENS, self.llm.context_tokens - self.llm.max_output_tokens - overhead)
        excerpt = select_sections(card, fields, budget, self.prompts.keywords)
        user = self.prompts.user.safe_substitute(model_id=model_id or "(unknown)", fields=listing, card=excerpt)
        return {
            "model": self.llm.model,
            "messages": [{"role": "system", "content": self.prompts.system}, {"role": "user", "content": user}],
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "card_metadata", "strict": True, "schema": schema}},
            "temperature": self.llm.temperature,
            "max_tokens": self.llm.max_output_tokens,
        }

    # -- talking to the endpoint --

    def _give_up(self, reason: str) -> None:
        with self._lock:
            first = self._unavailable is None
            if first:
                self._unavailable = reason
        if first:
            log.warning("LLM endpoint %s is not usable (%s); continuing with the deterministic extractor only",
                        self.llm.url, reason)

    def _post(self, body: dict[str, Any]) -> httpx2.Response:
        try:
            return self._client.post("/chat/completions", content=orjson.dumps(body))
        except (httpx2.ConnectError, httpx2.TimeoutException) as exc:
            raise LlmUnavailableError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in / 1000 * self.llm.price_in_per_1k + tokens_out / 1000 * self.llm.price_out_per_1k

    def fill(self, card: str, base: Extraction, *, model_id: str | None = None) -> LlmOutcome:
        """Ask for the fields ``base`` left empty or uncertain. Never raises for what the endpoint does:
        problems are in the outcome's ``error`` (this card) or ``unreachable`` (every card)."""
        outcome = LlmOutcome(asked=self.fields_to_ask(base))
        if not outcome.asked:
            return outcome
        if self._unavailable is not None:
            outcome.unreachable, outcome.error = True, f"LLM not used: {self._unavailable}"
            return outcome
        body = self.request_body(card, outcome.asked, model_id)
        try:
            response = self._post(body)
        except LlmUnavailableError as exc:
            self._give_up(str(exc))
            outcome.unreachable, outcome.error = True, f"LLM not used: {exc}"
            return outcome
        if response.status_code in _REFUSING:
            self._give_up(f"HTTP {response.status_code}: {_brief(response.text)}")
            outcome.unreachable, outcome.error = True, f"LLM not used: HTTP {response.status_code}"
            return outcome
        if response.status_code >= 400:
            outcome.error = f"LLM answered HTTP {response.status_code}: {_brief(response.text)}"
            return outcome
        try:
            document = orjson.loads(response.content)
            choice = document["choices"][0]
            content = choice["message"]["content"]
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
            outcome.error = f"LLM answer is not a chat completion: {_brief(response.text)}"
            return outcome
        usage = document.get("usage") or {}
        outcome.called = True
        outcome.tokens_in = int(usage.get("prompt_tokens") or estimate_tokens(orjson.dumps(body["messages"]).decode()))
        outcome.tokens_out = int(usage.get("completion_tokens") or estimate_tokens(content or ""))
        outcome.cost_usd = self.cost(outcome.tokens_in, outcome.tokens_out)
        if not isinstance(content, str) or not content.strip():
            refusal = choice["message"].get("refusal") if isinstance(choice.get("message"), dict) else None
            outcome.error = f"LLM gave no answer{': ' + _brief(str(refusal)) if refusal else ''}"
            return outcome
        try:
            answers = parse_answer(content, outcome.asked)
        except ValueError as exc:
            outcome.error = f"LLM answer does not follow the schema: {exc}"
            return outcome
        for name, (value, confidence, evidence) in answers.items():
            found = FieldValue(value, self.name, confidence, evidence)
            if confidence >= self.llm.threshold:
                outcome.accepted[name] = found
            else:
                outcome.review[name] = found
        return outcome


def _brief(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def merge(base: Extraction, outcome: LlmOutcome) -> Extraction:
    """``base`` with the LLM's accepted values where ``base`` had none, or a less confident one."""
    fields = dict(base.fields)
    for name, found in outcome.accepted.items():
        current = fields.get(name)
        if current is None or is_empty(current.value) or found.confidence > current.confidence:
            fields[name] = found
    errors = [*base.errors, *([outcome.error] if outcome.error else [])]
    return Extraction(fields, errors)


@dataclass
class _Totals:
    cards: int = 0
    called: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    review: int = 0


class AssistedExtractor:
    """A :class:`CardExtractor` that runs ``base`` and lets the LLM fill what it left (for ``cards extract
    FILE --llm`` and ``cards eval --llm``); review-queue answers are not used. ``totals`` adds up the
    calls, tokens and cost."""

    def __init__(self, base: CardExtractor, llm: LlmExtractor) -> None:
        self.base = base
        self.llm = llm
        self.name = f"{base.name}+{llm.name}"
        self.totals = _Totals()
        self._lock = threading.Lock()

    def extract(self, text: str, *, model_id: str | None = None, api_tags: list[str] | None = None) -> Extraction:
        first = self.base.extract(text, model_id=model_id, api_tags=api_tags)
        outcome = self.llm.fill(text, first, model_id=model_id)
        with self._lock:
            self.totals.cards += 1
            self.totals.called += outcome.called
            self.totals.tokens_in += outcome.tokens_in
            self.totals.tokens_out += outcome.tokens_out
            self.totals.cost_usd += outcome.cost_usd
            self.totals.review += len(outcome.review)
        return merge(first, outcome)

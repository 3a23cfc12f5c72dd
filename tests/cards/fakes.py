"""Small card extractors for the store-level tests: predictable, so a test can say exactly which values a
run must write, independent of the real deterministic extractor's rules."""

from __future__ import annotations

import re

from ptmscope.cards.schema import Extraction, FieldValue

_LINE = re.compile(r"^(?P<key>license|datasets|hardware|base|relation|params):\s*(?P<value>.+?)\s*$", re.MULTILINE)


class LineExtractor:
    """Reads ``key: value`` lines: ``license``, ``datasets`` (comma-separated), ``hardware``, ``base``
    (base models, comma-separated), ``relation``, ``params``. A line ``hardware?: X`` gives hardware with
    low confidence (uncertain). A card containing ``CRASH`` raises."""

    name = "lines"
    version = "1"

    def extract(self, text: str, *, model_id: str | None = None, api_tags: list[str] | None = None) -> Extraction:
        if "CRASH" in text:
            raise RuntimeError("this card breaks the extractor")
        result = Extraction()
        for match in _LINE.finditer(text):
            key, value = match.group("key"), match.group("value")
            if key == "license":
                result.fields["license"] = FieldValue(value, "yaml", 0.97, match.group(0))
            elif key == "datasets":
                result.fields["datasets"] = FieldValue([v.strip() for v in value.split(",")], "rules", 0.8)
            elif key == "hardware":
                result.fields["hardware"] = FieldValue(value, "rules", 0.9)
            elif key == "base":
                result.fields["base_models"] = FieldValue([v.strip() for v in value.split(",")], "rules", 0.6)
            elif key == "relation":
                result.fields["base_model_relation"] = FieldValue(value, "rules", 0.6)
            elif key == "params":
                result.fields["parameter_count"] = FieldValue(int(value), "rules", 0.7)
        uncertain = re.search(r"^hardware\?:\s*(.+)$", text, re.MULTILINE)
        if uncertain:
            result.fields["hardware"] = FieldValue(uncertain.group(1).strip(), "rules", 0.3)
        if "BROKEN-YAML" in text:
            result.errors.append("invalid YAML front matter: test")
        return result


class OtherLineExtractor(LineExtractor):
    """The same rules under a new version: a run must re-extract every card."""

    version = "2"

"""The LLM extractor against a local OpenAI-compatible server: what it asks, what it does with the answers
(values, review queue, cost), and how it behaves when the endpoint pushes back or is not there."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

import pytest

from ptmscope.cards.llm import (
    AssistedExtractor,
    LlmExtractor,
    LlmSettings,
    answer_schema,
    estimate_tokens,
    llm_settings,
    load_prompts,
    merge,
    parse_answer,
    select_sections,
    split_sections,
)
from ptmscope.cards.schema import FIELDS, Extraction, FieldValue
from ptmscope.config import HttpSettings, Settings
from tests.cards.llm_server import FakeLlm, Scripted, closed_port_url, serve

CARD = """---
license: mit
---
# tiny-bert-imdb

This model is a fine-tuned version of [bert-base-uncased](https://huggingface.co/bert-base-uncased).

## Training hyperparameters

- learning_rate: 2e-05
- train_batch_size: 16

## Hardware

Trained on 2 x V100 for three hours.
"""

FAST = Settings(http=HttpSettings(timeout=5.0, max_retries=3, backoff_base=0.01, backoff_max=0.05))


def _settings(fake: FakeLlm, **kw: Any) -> LlmSettings:
    base = LlmSettings(url=fake.url, model=fake.model, api_key="sk-test-secret",
                       fields=("license", "datasets", "hardware", "hyper_parameters"))
    return replace(base, **kw)


def _base() -> Extraction:
    return Extraction({"license": FieldValue("mit", "yaml", 0.97), "datasets": FieldValue(["imdb"], "rules", 0.3)})


def test_request_is_a_schema_constrained_chat_completion() -> None:
    fake = FakeLlm(answers={"hardware": ("2 x V100", 0.95)})
    with serve(fake), LlmExtractor(_settings(fake), FAST) as llm:
        outcome = llm.fill(CARD, _base(), model_id="acme/tiny-bert-imdb")
    assert fake.problems == []
    (request,) = fake.requests
    assert request["model"] == "tiny-test-model"
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    user = request["messages"][1]["content"]
    assert "acme/tiny-bert-imdb" in user and "Trained on 2 x V100" in user
    assert request["messages"][0]["content"] == load_prompts().system
    response_format = request["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    # Only what the deterministic result left empty or uncertain is asked: license (0.97) is not.
    assert set(schema["properties"]) == {"datasets", "hardware", "hyper_parameters"} == set(outcome.asked)
    assert schema["required"] == outcome.asked
    assert fake.headers[0]["authorization"] == "Bearer sk-test-secret"


def test_answer_schema_is_valid_json_schema_and_accepts_what_parse_reads() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    fields = [name for name in FIELDS if name in load_prompts().descriptions]
    schema = answer_schema(fields)
    jsonschema.Draft202012Validator.check_schema(schema)
    answer = {name: {"value": None, "confidence": 0.0, "evidence": None} for name in fields}
    for name in fields:
        if schema["properties"][name]["properties"]["value"]["type"] == "array":
            answer[name]["value"] = []
    answer["evaluation"] = {"value": [{"dataset": "imdb", "metric": "accuracy", "value": 0.93}], "confidence": 0.9,
                            "evidence": "accuracy 0.93"}
    answer["hyper_parameters"] = {"value": [{"name": "learning_rate", "value": "2e-05"}], "confidence": 0.95,
                                  "evidence": None}
    answer["parameter_count"] = {"value": 110000000, "confidence": 0.8, "evidence": "110M"}
    answer["base_model_relation"] = {"value": "finetune", "confidence": 0.9, "evidence": None}
    jsonschema.validate(answer, schema)
    parsed = parse_answer(json.dumps(answer), fields)
    assert parsed["evaluation"][0] == [{"dataset": "imdb", "metric": "accuracy", "value": 0.93}]
    assert parsed["hyper_parameters"][0] == {"learning_rate": "2e-05"}
    assert parsed["parameter_count"][:2] == (110000000, 0.8)
    assert set(parsed) == {"evaluation", "hyper_parameters", "parameter_count", "base_model_relation"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**answer, "base_model_relation": {"value": "distilled", "confidence": 1,
                                                               "evidence": None}}, schema)


def test_fills_only_empty_or_uncertain_and_queues_low_confidence() -> None:
    fake = FakeLlm(answers={"license": ("apache-2.0", 0.99), "datasets": (["imdb", "sst2"], 0.9),
                            "hardware": ("2 x V100", 0.4), "hyper_parameters": (
                                [{"name": "learning_rate", "value": "2e-05"}], 0.85)})
    with serve(fake), LlmExtractor(_settings(fake, threshold=0.7), FAST) as llm:
        outcome = llm.fill(CARD, _base())
        assert llm.name == "llm:tiny-test-model"
    assert outcome.error is None and outcome.called
    assert set(outcome.accepted) == {"datasets", "hyper_parameters"}
    assert outcome.accepted["datasets"] == FieldValue(["imdb", "sst2"], "llm:tiny-test-model", 0.9,
                                                      "quoted for datasets")
    assert outcome.accepted["hyper_parameters"].value == {"learning_rate": "2e-05"}
    assert set(outcome.review) == {"hardware"} and outcome.review["hardware"].confidence == 0.4
    assert "license" not in outcome.accepted  # never asked, so the YAML license stands
    merged = merge(_base(), outcome)
    assert merged.fields["license"].value == "mit"
    assert merged.fields["datasets"].value == ["imdb", "sst2"]  # 0.9 beats the uncertain 0.3
    assert "hardware" not in merged.fields


def test_nothing_asked_when_the_deterministic_result_is_complete() -> None:
    fake = FakeLlm()
    complete = Extraction({name: FieldValue("x", "rules", 0.9) for name in ("license", "datasets", "hardware",
                                                                            "hyper_parameters")})
    with serve(fake), LlmExtractor(_settings(fake), FAST) as llm:
        outcome = llm.fill(CARD, complete)
    assert fake.requests == [] and not outcome.called and outcome.asked == []


def test_token_and_cost_accounting() -> None:
    fake = FakeLlm(answers={"hardware": ("2 x V100", 0.9)}, usage=(1200, 300))
    with serve(fake), LlmExtractor(_settings(fake, price_in_per_1k=0.5, price_out_per_1k=1.5), FAST) as llm:
        outcome = llm.fill(CARD, _base())
        assistant = AssistedExtractor(_Fixed(_base()), llm)
        assistant.extract(CARD)
        assistant.extract(CARD)
    assert (outcome.tokens_in, outcome.tokens_out) == (1200, 300)
    assert outcome.cost_usd == pytest.approx(1.2 * 0.5 + 0.3 * 1.5)
    assert assistant.totals.called == 2 and assistant.totals.tokens_in == 2400
    assert assistant.totals.cost_usd == pytest.approx(2 * (0.6 + 0.45))


def test_usage_missing_is_estimated() -> None:
    fake = FakeLlm(answers={"hardware": ("2 x V100", 0.9)}, usage=None)
    with serve(fake), LlmExtractor(_settings(fake, price_in_per_1k=1.0), FAST) as llm:
        outcome = llm.fill(CARD, _base())
    assert outcome.tokens_in > estimate_tokens(CARD) // 2 and outcome.tokens_out > 0
    assert outcome.cost_usd == pytest.approx(outcome.tokens_in / 1000)


class _Fixed:
    name = "fixed"

    def __init__(self, result: Extraction) -> None:
        self.result = result

    def extract(self, text: str, *, model_id: str | None = None, api_tags: list[str] | None = None) -> Extraction:
        return Extraction(dict(self.result.fields), list(self.result.errors))


def test_unreachable_endpoint_is_reported_once_and_cards_stay_deterministic(caplog: pytest.LogCaptureFixture,
                                                                            ) -> None:
    settings = LlmSettings(url=closed_port_url(), model="m", fields=("hardware",))
    caplog.set_level(logging.WARNING, logger="ptmscope.cards.llm")
    with LlmExtractor(settings, FAST) as llm:
        first = llm.fill(CARD, _base())
        second = llm.fill(CARD, _base())
        assistant = AssistedExtractor(_Fixed(_base()), llm)
        result = assistant.extract(CARD)
    assert first.unreachable and second.unreachable and not first.called
    assert llm.unavailable is not None and "ConnectError" in llm.unavailable
    messages = [r.getMessage() for r in caplog.records if r.name == "ptmscope.cards.llm"]
    assert len(messages) == 1 and "continuing with the deterministic extractor only" in messages[0]
    assert result.fields["license"].value == "mit" and "hardware" not in result.fields


def test_refused_key_or_model_stops_asking() -> None:
    fake = FakeLlm(queued=[Scripted(401, {"Content-Type": "application/json"}, b'{"error": "bad key"}')])
    with serve(fake), LlmExtractor(_settings(fake), FAST) as llm:
        first = llm.fill(CARD, _base())
        second = llm.fill(CARD, _base())
    assert first.unreachable and second.unreachable
    assert len(fake.headers) == 1  # the second card did not try again
    assert llm.unavailable is not None and "401" in llm.unavailable


def test_429_with_retry_after_is_waited_out() -> None:
    throttled = Scripted(429, {"Retry-After": "7", "Content-Type": "application/json"}, b'{"error": "slow down"}')
    fake = FakeLlm(answers={"hardware": ("2 x V100", 0.9)}, queued=[throttled, throttled])
    slept: list[float] = []
    with serve(fake), LlmExtractor(_settings(fake), FAST, sleep=slept.append) as llm:
        outcome = llm.fill(CARD, _base())
    assert slept == [7.0, 7.0]
    assert outcome.error is None and outcome.accepted["hardware"].value == "2 x V100"
    assert len(fake.headers) == 3


def test_429_beyond_the_retry_budget_is_a_card_error_not_a_crash() -> None:
    throttled = Scripted(429, {"Retry-After": "1"}, b"{}")
    fake = FakeLlm(queued=[throttled] * 10)
    slept: list[float] = []
    with serve(fake), LlmExtractor(_settings(fake), FAST, sleep=slept.append) as llm:
        outcome = llm.fill(CARD, _base())
    assert len(slept) == FAST.http.max_retries
    assert outcome.error is not None and "429" in outcome.error and not outcome.unreachable
    assert llm.unavailable is None


@pytest.mark.parametrize("content", ["this is not json", json.dumps({"hardware": {"value": 12, "confidence": "x"}}),
                                     "[1, 2]"])
def test_answers_off_schema_are_card_errors(content: str) -> None:
    fake = FakeLlm(content_override=content)
    with serve(fake), LlmExtractor(_settings(fake), FAST) as llm:
        outcome = llm.fill(CARD, _base())
    assert outcome.called and outcome.tokens_in == 1000  # spent, even though unusable
    assert outcome.error is not None and "schema" in outcome.error
    assert outcome.accepted == {} and outcome.review == {}


def test_fenced_answer_is_read() -> None:
    answer = json.dumps({"hardware": {"value": "TPU v3-8", "confidence": 0.8, "evidence": None}})
    content = f"```json\n{answer}\n```"
    assert parse_answer(content, ["hardware"]) == {"hardware": ("TPU v3-8", 0.8, None)}


def test_sections_split_at_headings_not_inside_code() -> None:
    card = ("---\nlicense: mit\n---\nIntro text.\n\n## Usage\n\n```bash\n# not a heading\npip install x\n```\n"
            "## Bias\nSome.")
    sections = split_sections(card)
    assert [s.heading for s in sections] == ["front matter", "", "Usage", "Bias"]
    assert "# not a heading" in sections[2].text


def test_retrieval_keeps_the_relevant_sections_within_budget() -> None:
    filler = "\n".join(f"Paragraph {i} about nothing in particular, repeated to take room." for i in range(60))
    card = (f"# Model\n\nA model for sentiment.\n\n## Story\n\n{filler}\n\n## Training hyperparameters\n\n"
            f"- learning_rate: 2e-05\n- optimizer: Adam\n\n## More story\n\n{filler}\n\n"
            "## Hardware\n\nTrained on a TPU v3-8.\n")
    budget = 300
    excerpt = select_sections(card, ["hyper_parameters", "hardware"], budget)
    assert estimate_tokens(excerpt) <= budget + 10
    assert "learning_rate: 2e-05" in excerpt and "TPU v3-8" in excerpt
    assert "Paragraph 59" not in excerpt and "[...]" in excerpt
    assert excerpt.index("learning_rate") < excerpt.index("TPU v3-8")  # card order kept
    assert select_sections(CARD, ["hardware"], 10_000) == CARD  # a card that fits is sent whole


def test_small_context_window_shrinks_the_card_sent() -> None:
    filler = "\n".join(f"Line {i} of a long story unrelated to anything asked." for i in range(400))
    card = f"# M\n\n## Story\n\n{filler}\n\n## Hardware\n\nTrained on 8 x A100 80GB.\n"
    fake = FakeLlm(answers={"hardware": ("8 x A100 80GB", 0.95)})
    with serve(fake), LlmExtractor(_settings(fake, context_tokens=1500, max_output_tokens=300), FAST) as llm:
        llm.fill(card, _base())
    user = fake.requests[0]["messages"][1]["content"]
    assert "8 x A100 80GB" in user and estimate_tokens(user) < 1500


def test_settings_from_environment() -> None:
    env = {"PTMSCOPE_LLM_URL": "http://127.0.0.1:9/v1/", "PTMSCOPE_LLM_MODEL": "qwen", "OPENAI_API_KEY": "sk-o",
           "PTMSCOPE_LLM_PRICE_IN": "0.0005", "PTMSCOPE_LLM_PRICE_OUT": "0.0015"}
    settings = llm_settings(env, threshold=0.8)
    assert (settings.url, settings.model, settings.api_key, settings.threshold) == (
        "http://127.0.0.1:9/v1", "qwen", "sk-o", 0.8)
    assert settings.price_in_per_1k == 0.0005 and "sk-o" not in repr(settings)
    assert llm_settings({**env, "PTMSCOPE_LLM_API_KEY": "sk-p"}).api_key == "sk-p"
    assert llm_settings(env, url="http://h/v1", model="other").model == "other"
    with pytest.raises(ValueError, match="endpoint"):
        llm_settings({})
    with pytest.raises(ValueError, match="model"):
        llm_settings({"PTMSCOPE_LLM_URL": "http://h"})
    with pytest.raises(ValueError, match="PRICE_IN"):
        llm_settings({**env, "PTMSCOPE_LLM_PRICE_IN": "cheap"})


def test_version_follows_prompts_model_and_thresholds() -> None:
    a = LlmExtractor(LlmSettings(url="http://127.0.0.1:9", model="a"), FAST)
    b = LlmExtractor(LlmSettings(url="http://127.0.0.1:9", model="b"), FAST)
    c = LlmExtractor(LlmSettings(url="http://127.0.0.1:9", model="a", threshold=0.9), FAST)
    d = LlmExtractor(LlmSettings(url="http://127.0.0.1:10", model="a"), FAST)
    try:
        assert len({a.version, b.version, c.version}) == 3
        assert a.version == d.version  # where the model is served does not change its answers
    finally:
        for x in (a, b, c, d):
            x.close()

# ruff: noqa
# mypy: ignore-errors
# Test cases for ptmscope.yaml, run by `semgrep --test` (tests/scan/test_rule_pack.py). Never
# imported or executed: it is deliberately vulnerable code. A "ruleid" annotation marks a line the
# named rule must report, an "ok" annotation one it must not. The tokens are fakes shaped like
# real ones.
import os
import pickle
import ssl
import subprocess
import urllib.request

import dill
import joblib
import keras
import numpy as np
import pandas as pd
import requests
import sqlite3
import streamlit as st
import tensorflow as tf
import torch
import yaml
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
from fastapi import FastAPI
from flask import Flask, jsonify
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from markupsafe import Markup
from openai import OpenAI
from sklearn.externals import joblib as old_joblib
from transformers import AutoModel, AutoTokenizer, pipeline

app = Flask(__name__)
api = FastAPI()
client = OpenAI()


def deserialization(path, kwargs, url):
    # ruleid: PTM101
    torch.load(path)
    # ruleid: PTM101
    torch.load(path, map_location="cpu", weights_only=False)
    # ruleid: PTM101
    torch.hub.load_state_dict_from_url(url)
    # ok: PTM101
    torch.load(path, weights_only=True)
    # ok: PTM101
    torch.hub.load_state_dict_from_url(url, weights_only=True)
    # ruleid: PTM102
    torch.load(path, **kwargs)
    # ok: PTM102
    torch.load(path, weights_only=True, **kwargs)
    # ruleid: PTM103
    pickle.load(open(path, "rb"))
    # ruleid: PTM103
    dill.loads(path.read_bytes())
    # ruleid: PTM103
    pickle.Unpickler(open(path, "rb")).load()
    # ok: PTM103
    pickle.dump(path, open("out.pkl", "wb"))
    # ruleid: PTM104
    joblib.load(path)
    # ruleid: PTM104
    old_joblib.load(path)
    # ok: PTM104
    joblib.dump(path, "model.joblib")
    # ruleid: PTM105
    pd.read_pickle(path)
    # ok: PTM105
    pd.read_parquet(path)
    # ruleid: PTM106
    np.load(path, allow_pickle=True)
    # ok: PTM106
    np.load(path)
    # ok: PTM106
    np.load(path, allow_pickle=False)


def keras_models(path):
    # ruleid: PTM107, PTM117
    AutoModel.from_pretrained("org/model", use_safetensors=False)
    # ok: PTM107
    AutoModel.from_pretrained("org/model", revision="0123456789abcdef0123456789abcdef01234567", use_safetensors=True)
    # ruleid: PTM108
    keras.models.load_model(path, safe_mode=False)
    # ruleid: PTM108
    keras.config.enable_unsafe_deserialization()
    # ok: PTM108
    tf.keras.models.load_model(path)
    # ruleid: PTM109
    layer = tf.keras.layers.Lambda(lambda x: x * 2)
    # ruleid: PTM109
    other = keras.layers.Lambda(lambda x: x + 1)
    # ok: PTM109
    dense = keras.layers.Dense(4)


def remote_code(name, sha):
    # ruleid: PTM110
    AutoModel.from_pretrained(name, revision=sha, trust_remote_code=True)
    # ruleid: PTM110
    generator = pipeline("text-generation", model=name, revision=sha, trust_remote_code=True)
    # ruleid: PTM110
    kwargs = {"revision": sha, "trust_remote_code": True}
    # ok: PTM110
    AutoModel.from_pretrained(name, revision=sha, trust_remote_code=False)


def model_output_as_code(model, tokenizer, inputs):
    output = model.generate(**inputs)
    text = tokenizer.decode(output[0], skip_special_tokens=True)
    # ruleid: PTM112
    eval(text.strip())
    # ok: PTM112
    eval("1 + 1")


def chat_output_as_code(question):
    response = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": question}])
    code = response.choices[0].message.content
    # ruleid: PTM112
    exec(f"result = {code}")


def pipeline_output_as_code(prompt):
    generator = pipeline("text-generation", model="./local-model")
    completion = generator(prompt)[0]["generated_text"]
    # ruleid: PTM112
    exec(completion)


def trusted_code(source):
    # ok: PTM112
    exec(source)


def model_output_as_command(model, tokenizer, inputs):
    command = tokenizer.decode(model.generate(**inputs)[0])
    # ruleid: PTM113
    subprocess.run(command, shell=True)
    # ruleid: PTM113
    os.system("echo " + command)
    # ok: PTM113
    subprocess.run(["ls", "-l"])


def model_output_as_sql(model, tokenizer, inputs):
    conn = sqlite3.connect("data.db")
    cursor = conn.cursor()
    query = tokenizer.decode(model.generate(**inputs)[0])
    # ruleid: PTM114
    cursor.execute(query)
    # ok: PTM114
    cursor.execute("SELECT * FROM docs WHERE title = ?", (query,))
    # ruleid: PTM114
    pd.read_sql(query, conn)


def model_output_as_html(question):
    answer = client.chat.completions.create(model="gpt-4o", messages=[question]).choices[0].message.content
    # ruleid: PTM115
    st.markdown(f"<div class='answer'>{answer}</div>", unsafe_allow_html=True)
    # ok: PTM115
    st.markdown(answer)
    # ruleid: PTM115
    return Markup(answer)


def config_loading(path):
    # ruleid: PTM116
    yaml.load(open(path))
    # ruleid: PTM116
    yaml.load(open(path), Loader=yaml.FullLoader)
    # ruleid: PTM116
    yaml.unsafe_load(open(path))
    # ok: PTM116
    yaml.load(open(path), Loader=yaml.SafeLoader)
    # ok: PTM116
    yaml.load(open(path), yaml.CSafeLoader)
    # ok: PTM116
    yaml.safe_load(open(path))


def unpinned(name, sha):
    # ruleid: PTM117
    AutoModel.from_pretrained("bert-base-uncased")
    # ruleid: PTM117
    AutoTokenizer.from_pretrained(name, revision="main")
    # ok: PTM117
    AutoModel.from_pretrained("bert-base-uncased", revision=sha)
    # ok: PTM117
    AutoModel.from_pretrained("./checkpoints/best")
    # ok: PTM117
    AutoModel.from_pretrained(os.path.join("runs", "best"))
    # ok: PTM117
    AutoModel.from_pretrained(name, local_files_only=True)
    # ruleid: PTM118
    pipeline("sentiment-analysis", model="distilbert-base-uncased-finetuned-sst-2-english")
    # ruleid: PTM118
    pipeline("fill-mask", "bert-base-uncased", revision="main")
    # ok: PTM118
    pipeline("fill-mask", model="bert-base-uncased", revision=sha)
    # ok: PTM118
    pipeline("fill-mask", model=name)
    # ruleid: PTM119
    hf_hub_download("org/model", "model.safetensors")
    # ruleid: PTM119
    HfApi().hf_hub_download(repo_id="org/model", filename="config.json", revision=None)
    # ok: PTM119
    hf_hub_download("org/model", "model.safetensors", revision=sha)
    # ruleid: PTM120
    snapshot_download(repo_id="org/model")
    # ok: PTM120
    snapshot_download(repo_id="org/model", revision="0123456789abcdef0123456789abcdef01234567")
    # ruleid: PTM121
    torch.hub.load("pytorch/vision", "resnet18", pretrained=True)
    # ok: PTM121
    torch.hub.load("pytorch/vision:v0.10.0", "resnet18", pretrained=True)
    # ok: PTM121
    torch.hub.load("./hub-checkout", "resnet18", source="local")


def secrets():
    # ruleid: PTM122
    token = "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"
    # ok: PTM122
    placeholder = "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    # ok: PTM122
    env_token = os.environ["HF_TOKEN"]
    # ruleid: PTM123
    openai_key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxT3BlbkFJAbCdEfGhIjKlMnOpQrStUvWx"
    # ok: PTM123
    short = "sk-1234"
    # ruleid: PTM124
    anthropic_key = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjKl-AA"
    # ok: PTM124
    anthropic_prefix = "sk-ant-api03-"
    # ruleid: PTM125
    github = "ghp_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEf1234"
    # ok: PTM125
    github_env = os.environ.get("GITHUB_TOKEN", "ghp_")
    # ruleid: PTM126
    database = "postgresql://trainer:Tr41nSecr3t@db.internal:5432/features"
    # ok: PTM126
    template = "postgresql://{user}:{password}@db.internal:5432/features"
    # ok: PTM126
    example = "postgresql://user:password@localhost/db"
    # ok: PTM126
    plain = "https://huggingface.co/org/model"


def downloads(url, weights_url):
    # ruleid: PTM127
    requests.get("https://example.org/releases/model.ckpt", verify=False)
    # ruleid: PTM127
    requests.get(weights_url, stream=True, verify=False)
    # ok: PTM127
    requests.get(weights_url, stream=True)
    # ok: PTM127
    requests.get(url, verify=False)


def download_checkpoint(url):
    # ruleid: PTM127
    return urllib.request.urlopen(url, context=ssl._create_unverified_context())


def process_wide_tls():
    # ruleid: PTM128
    ssl._create_default_https_context = ssl._create_unverified_context
    # ruleid: PTM128
    os.environ["CURL_CA_BUNDLE"] = ""
    # ok: PTM128
    context = ssl.create_default_context()


def privacy(row, user, logger):
    # ruleid: PTM129
    print(f"sample: {row['email']} -> {row['label']}")
    # ruleid: PTM129
    logger.info("training on %s", user.phone_number)
    # ok: PTM129
    print(f"sample: {row['text']} -> {row['label']}")
    # ok: PTM129
    logger.info("rows with an email: %d", row["count"])


@app.route("/predict")
def predict():
    probabilities = classifier.predict_proba(features)
    # ruleid: PTM130
    return jsonify({"scores": probabilities.tolist()})


@api.post("/classify")
async def classify(text: str):
    logits = model(**tokenizer(text, return_tensors="pt")).logits
    # ok: PTM130
    return {"label": int(logits.argmax(-1))}


def offline_scores():
    scores = classifier.predict_proba(features)
    # ok: PTM130
    return scores


def safety(sha):
    # ruleid: PTM131
    pipe = StableDiffusionPipeline.from_pretrained("org/sd", revision=sha, safety_checker=None)
    # ruleid: PTM131
    pipe.safety_checker = lambda images, **kwargs: (images, [False] * len(images))
    # ruleid: PTM131
    StableDiffusionPipeline.from_pretrained("org/sd", revision=sha, requires_safety_checker=False)
    # ok: PTM131
    StableDiffusionPipeline.from_pretrained("org/sd", revision=sha)
    # ruleid: PTM132
    xl = StableDiffusionXLPipeline.from_pretrained("org/sdxl", revision=sha, add_watermarker=False)
    # ok: PTM132
    xl = StableDiffusionXLPipeline.from_pretrained("org/sdxl", revision=sha, add_watermarker=True)


def django_settings() -> None:
    INSTALLED_APPS = ["django.contrib.admin"]
    DEBUG = False
    # ruleid: PTM134
    SECRET_KEY = "django-insecure-7d3k2l1m0n9b8v7c6x5z4a3s2d1f0g9h"


def not_django_settings() -> None:
    # ok: PTM134
    SECRET_KEY = "used by a test fixture, no Django here"

#!/bin/sh
# Test cases for the pack's language-independent rules (secrets, trust_remote_code in settings and
# command lines) outside Python source: see ptmscope.py. Shell rather than a .env file because
# `semgrep --test` parses test files of unknown type as Python.
# ruleid: PTM122
export HF_TOKEN=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
# ok: PTM122
export HF_TOKEN="$(cat ~/.cache/huggingface/token)"
# ruleid: PTM123
export OPENAI_API_KEY=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
# ruleid: PTM125
export GH_TOKEN=github_pat_11ABCDEFG0123456789abc_ZyXwVuTsRqPoNmLkJiHgFeDcBaZyXwVuTsRqPoNmLkJiHgFeDcBaZyXwVuTsRq
# ruleid: PTM126
export DATABASE_URL=mysql://app:s3cr3tP4ss@10.0.0.5/app
# ok: PTM126
export DATABASE_URL="mysql://app:${DB_PASSWORD}@10.0.0.5/app"
# ruleid: PTM111
export VLLM_TRUST_REMOTE_CODE=true
# ok: PTM111
export TRUST_REMOTE_CODE=false
# ruleid: PTM111
vllm serve org/model --trust-remote-code --port 8000
# ruleid: PTM111
lm_eval --model hf --model_args pretrained=org/model,trust_remote_code=True
# ok: PTM111
lm_eval --model hf --trust_remote_code False
# ok: PTM111
echo "trust_remote_code is off"
# ruleid: PTM133
-----BEGIN OPENSSH PRIVATE KEY-----
# ok: PTM133
-----BEGIN PUBLIC KEY-----

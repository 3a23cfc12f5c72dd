"""Local stand-ins for remote services: a replay HTTP server and a Hugging Face Hub emulation."""

from .huggingface import HubCorpus, HuggingFaceApp
from .server import App, FaultPlan, LogEntry, ReplayServer, Response

__all__ = ["App", "FaultPlan", "HubCorpus", "HuggingFaceApp", "LogEntry", "ReplayServer", "Response"]

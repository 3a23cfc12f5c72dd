"""One base error per stage. The CLI turns each into a one-line message and an exit code."""

from __future__ import annotations


class PtmscopeError(Exception):
    """An error the user can act on; never shown as a traceback."""

    exit_code = 1


class UsageError(PtmscopeError):
    """Bad options, bad input files, bad configuration."""

    exit_code = 2


class SourceUnavailableError(PtmscopeError):
    """A remote source (hub, API, replay server) could not be reached or kept failing."""

    exit_code = 3


class StoreError(PtmscopeError):
    """The database could not be opened, migrated or written."""

    exit_code = 4


class HubError(SourceUnavailableError):
    """A model hub answered in a way the collection cannot continue from."""


class GitHubError(SourceUnavailableError):
    """The GitHub API answered in a way the collection cannot continue from."""

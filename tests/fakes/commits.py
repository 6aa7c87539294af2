"""A commit graph the fake SCMs share: commits pushed onto a branch, and what the compare APIs list
(commits reachable from head and not from base, oldest first, as `git log base..head --reverse`)."""
from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FakeCommit:
    sha: str
    message: str
    author: str
    email: str
    parent: str | None
    at: datetime

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


class History:
    """Commits by sha; a sha no commit was recorded for (a branch's first head) is a root."""

    def __init__(self) -> None:
        self.commits: dict[str, FakeCommit] = {}
        self._n = itertools.count(1)

    def push(self, head: str, messages: list[str], *, author: str = "Dev") -> list[str]:
        """Commit `messages` one after the other on top of `head`; returns the new shas (the last is the new head)."""
        shas = []
        for message in messages:
            n = next(self._n)
            sha = hashlib.sha1(f"{head}:{n}:{message}".encode()).hexdigest()
            self.commits[sha] = FakeCommit(sha, message, author, f"{author.lower().replace(' ', '.')}@example.com", head,
                                           EPOCH + timedelta(minutes=n))
            shas.append(sha)
            head = sha
        return shas

    def log(self, head: str) -> list[FakeCommit]:
        """The recorded commits reachable from `head`, newest first."""
        found = []
        while head in self.commits:
            found.append(self.commits[head])
            head = self.commits[head].parent
        return found

    def between(self, base: str, head: str) -> list[FakeCommit]:
        """Commits reachable from head and not from base, oldest first."""
        seen = {c.sha for c in self.log(base)} | {base}
        found = []
        for commit in self.log(head):
            if commit.sha in seen:
                break
            found.append(commit)
        return list(reversed(found))

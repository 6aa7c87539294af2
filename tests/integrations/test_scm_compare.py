"""Each SCM's compare (the changelog's source) against its fake over loopback: the commits a branch has
and the previous release's branch has not, newest first, paged as each API pages, within a limit."""
from __future__ import annotations

import pytest

from core.errors import IntegrationError
from tests.fakes.bitbucket import FakeBitbucket
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.integrations import test_scm_bitbucket as bb
from tests.integrations import test_scm_github as gh
from tests.integrations import test_scm_gitlab as gl

OLD = ["feat: first screen", "fix: crash at launch"]


@pytest.fixture
def github():
    fake = FakeGitHub()
    fake.add_token(gh.TOKEN, "releasebot")
    fake.add_repo("acme/app", branches={"main": gh.MAIN})
    fake.grant("acme/app", "releasebot", "push")
    with fake:
        fake.push_commits("acme/app", "main", OLD)
        fake.add_branch("acme/app", "release/1.0.0", fake.repo("acme/app").branches["main"])
        yield fake


@pytest.fixture
def gitlab():
    fake = FakeGitLab()
    fake.add_token(gl.TOKEN, user_id=7)
    fake.add_project("acme/app", branches={"main": gl.MAIN})
    fake.grant("acme/app", 7, 30)
    with fake:
        fake.push_commits("acme/app", "main", OLD)
        fake.branches["acme/app"]["release/1.0.0"] = fake.branches["acme/app"]["main"]
        yield fake


@pytest.fixture
def bitbucket():
    fake = FakeBitbucket()
    fake.add_repository("acme/app", {"main": bb.MAIN})
    fake.add_repository_token(bb.TOKEN, "acme/app", ["repository:write", "repository"])
    with fake:
        fake.push_commits("acme/app", "main", OLD)
        fake.repositories["acme/app"]["release/1.0.0"] = fake.repositories["acme/app"]["main"]
        yield fake


def titles(comparison) -> list[str]:
    return [c.title for c in comparison.commits]


def test_github_compare_lists_the_new_commits_newest_first_with_author_and_link(github):
    shas = github.push_commits("acme/app", "main", ["feat(login): ABC-12 passkeys\n\nlong body", "fix: typo"], author="Ada")
    result = gh.client(github).compare("release/1.0.0", "main", 500)
    assert titles(result) == ["fix: typo", "feat(login): ABC-12 passkeys"]
    assert result.total == 2 and [c.sha for c in result.commits] == shas[::-1]
    assert result.commits[0].author == "Ada" and result.commits[0].url.endswith(f"/acme/app/commit/{shas[1]}")
    assert result.url.endswith("/acme/app/compare/release/1.0.0...main")
    assert github.calls("GET", r"/repos/acme/app/compare/release/1\.0\.0\.\.\.main$")


def test_github_compare_reads_only_the_pages_that_hold_the_newest_commits(github):
    github.push_commits("acme/app", "main", [f"chore: step {n}" for n in range(1, 351)])
    result = gh.client(github).compare("release/1.0.0", "main", 120)
    assert result.total == 350 and len(result.commits) == 120
    assert titles(result)[0] == "chore: step 350" and titles(result)[-1] == "chore: step 231"
    pages = [r.query["page"][0] for r in github.calls("GET", "/compare/")]
    assert pages == ["1", "3", "4"]  # the first tells the total; 231..350 are on pages 3 and 4


def test_github_compare_of_500_commits_gets_them_all_in_five_pages(github):
    github.push_commits("acme/app", "main", [f"feat: thing {n}" for n in range(1, 501)])
    result = gh.client(github).compare("release/1.0.0", "main", 500)
    assert result.total == 500 and len(result.commits) == 500 and len({c.sha for c in result.commits}) == 500
    assert titles(result)[0] == "feat: thing 500" and titles(result)[-1] == "feat: thing 1"
    assert len(github.calls("GET", "/compare/")) == 5


def test_github_without_a_previous_release_lists_the_branchs_newest_commits(github):
    github.push_commits("acme/app", "main", [f"fix: bug {n}" for n in range(1, 61)])
    result = gh.client(github).compare(None, "main", 50)
    assert len(result.commits) == 50 and titles(result)[0] == "fix: bug 60" and result.total is None
    assert result.url.endswith("/acme/app/commits/main")


def test_github_compare_against_a_branch_that_does_not_exist_says_which(github):
    with pytest.raises(IntegrationError) as caught:
        gh.client(github).compare("release/0.9.0", "main", 50)
    assert caught.value.status == 404 and "release/0.9.0" in str(caught.value) and gh.TOKEN not in str(caught.value)


def test_gitlab_compare_lists_the_new_commits_newest_first_within_the_limit(gitlab):
    gitlab.push_commits("acme/app", "main", [f"feat: thing {n}" for n in range(1, 151)], author="Linus")
    result = gl.client(gitlab).compare("release/1.0.0", "main", 100)
    assert result.total == 150 and len(result.commits) == 100
    assert titles(result)[0] == "feat: thing 150" and result.commits[0].author == "Linus"
    assert result.url.endswith("/acme/app/-/compare/release/1.0.0...main")
    [call] = gitlab.calls("GET", "/repository/compare")
    assert call.query == {"from": ["release/1.0.0"], "to": ["main"]}


def test_gitlab_without_a_previous_release_lists_the_branchs_newest_commits(gitlab):
    gitlab.push_commits("acme/app", "main", [f"fix: bug {n}" for n in range(1, 61)])
    result = gl.client(gitlab).compare(None, "main", 50)
    assert len(result.commits) == 50 and titles(result)[0] == "fix: bug 60"
    assert result.url.endswith("/acme/app/-/commits/main")


def test_bitbucket_compare_follows_next_pages_until_the_limit(bitbucket):
    bitbucket.push_commits("acme/app", "main", [f"feat: thing {n}" for n in range(1, 251)], author="Grace Hopper")
    result = bb.client(bitbucket).compare("release/1.0.0", "main", 150)
    assert len(result.commits) == 150 and result.total is None  # Bitbucket does not count: some were left
    assert titles(result)[0] == "feat: thing 250" and titles(result)[-1] == "feat: thing 101"
    assert result.commits[0].author == "Grace Hopper"
    calls = bitbucket.calls("GET", "/commits$")
    assert len(calls) == 2 and calls[0].query["exclude"] == ["release/1.0.0"] and calls[1].query["page"] == ["2"]
    assert result.url == "https://bitbucket.org/acme/app/branches/compare/main%0Drelease%2F1.0.0"


def test_bitbucket_compare_reads_every_page_and_counts_them_when_all_fit(bitbucket):
    bitbucket.push_commits("acme/app", "main", [f"fix: bug {n}" for n in range(1, 131)])
    result = bb.client(bitbucket).compare("release/1.0.0", "main", 500)
    assert result.total == 130 and len(result.commits) == 130 and len(bitbucket.calls("GET", "/commits$")) == 2

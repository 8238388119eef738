"""Console text a newcomer meets (issue 15, item 9): one highlighted navigation entry, no
requirement ids on pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from safeguard.accounts.context_processors import active_nav_url
from tests.factories import make_user, signed_in_client

SRC = Path(__file__).resolve().parents[2] / "src" / "safeguard"
REQUIREMENT_ID = re.compile(r"\bR-[A-Z]+-\d+")
COMMENTS = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.S)


@pytest.mark.parametrize(("path", "expected"), [
    ("/cases/kpi/", "/cases/kpi/"),
    ("/cases/queues/", "/cases/queues/"),
    ("/cases/12/", "/cases/"),
    ("/customers/approvals/", "/customers/approvals/"),
    ("/", "/"),
    ("/nowhere/", None),
])
def test_one_navigation_entry_is_active(path, expected):
    urls = ["/", "/cases/", "/cases/queues/", "/cases/kpi/", "/customers/",
            "/customers/approvals/"]
    assert active_nav_url(path, urls) == expected


@pytest.mark.django_db
def test_the_kpi_page_highlights_only_its_own_entry():
    supervisor = make_user(roles=("supervisor",))
    html = signed_in_client(supervisor).get("/cases/kpi/").content.decode()
    nav = html[html.index('<nav aria-label="Main">'):html.index("</nav>")]
    assert nav.count('aria-current="page"') == 1
    assert re.search(r'href="/cases/kpi/" aria-current="page"', nav)


def test_no_requirement_ids_in_page_text():
    """Requirement ids belong in docstrings, tests and docs, not in what staff read."""
    found = []
    for template in sorted(SRC.glob("*/templates/**/*.html")):
        text = COMMENTS.sub("", template.read_text(encoding="utf-8"))
        found += [f"{template.relative_to(SRC)}: {m}" for m in REQUIREMENT_ID.findall(text)]
    assert found == []

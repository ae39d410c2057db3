"""The code shown in the documentation pages runs and prints what they say."""

import doctest
from html.parser import HTMLParser
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize(
    "page", ["quick_start.rst", "user_guide.rst", "mlp_differences.rst"]
)
def test_page_examples_run(page):
    result = doctest.testfile(
        str(DOCS / page),
        module_relative=False,
        verbose=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0
    assert result.failed == 0


BUILT = DOCS / "_build" / "html"


class _Resources(HTMLParser):
    """The URLs a page loads: scripts, stylesheets and other linked files,
    images and media (not the ``<a href>`` links a reader may follow)."""

    LOADED = {
        "script": ("src",),
        "link": ("href",),
        "img": ("src", "srcset"),
        "source": ("src", "srcset"),
        "iframe": ("src",),
        "video": ("src", "poster"),
        "audio": ("src",),
    }

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and name in self.LOADED.get(tag, ()):
                self.urls += [part.split()[0] for part in value.split(",") if part]


def _remote(url):
    return url.startswith(("http://", "https://", "//"))


def test_remote_url_detection():
    page = _Resources()
    page.feed(
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" '
        'href="_static/a.css"><img srcset="a.png, https://x/b.png 2x">'
        '<a href="https://skorch.readthedocs.io">skorch</a>'
    )
    assert [u for u in page.urls if _remote(u)] == [
        "https://cdn.example/x.js",
        "https://x/b.png",
    ]


@pytest.mark.skipif(
    not (BUILT / "index.html").exists(),
    reason="the site is not built here (.ci/run builds it, then runs this test)",
)
def test_built_site_loads_nothing_from_the_network():
    remote = {}
    for page in BUILT.rglob("*.html"):
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        urls = [url for url in parser.urls if _remote(url)]
        if urls:
            remote[str(page.relative_to(BUILT))] = urls
    assert not remote, (
        f"pages loading remote files (the docs must work offline): {remote}"
    )

"""The documentation site, built strictly and checked in a real browser (headless Chromium).

The site is built with ``mkdocs build --strict`` into a temporary folder and served on a free
localhost port by Python's ``http.server``. Debian's Chromium, driven through its chromedriver by
Selenium, opens the landing page (a screenshot is saved), the quickstart and every API reference
page (the pages come from the ``nav`` of mkdocs.yml) and checks that each one is served, has a
title and content, is no 404 page and that all its images load. Every internal link of every
built page is checked against the server, and every fragment link (into the API pages and the
others) against the target page's ids; the API pages must not show Sphinx roles (``:class:`...```)
as text.

Needs ``apt-get install chromium chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``)
and ``pip install -e ".[docs]"`` (mkdocs and selenium). Without them the test is skipped, unless
``GAN3D_REQUIRE_BROWSER=1`` (set by CI), which turns the skip into a failure. With
``GAN3D_SCREENSHOT_DIR`` set, the landing-page screenshot is copied there.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW_SIZE = "1280,900"
PAGE_LOAD_TIMEOUT_S = 30
IMAGE_WAIT_S = 10
# Sphinx/RST cross-reference roles as they show up when rendered literally: ":class:`X`" in the
# Markdown source becomes ":class:<code>X</code>" in the HTML and ":class:X" in the page's text.
_ROLES = r":(?:py:)?(class|func|meth|mod|attr|obj|exc|data|const):"
RST_ROLE_TEXT = re.compile(_ROLES + r"\S")
RST_ROLE_HTML = re.compile(_ROLES + r"(?:`|<code>)")
INSTALL_HINT = (
    "install the browser with `apt-get install -y chromium chromium-driver` (Debian) and the Python "
    "side with `pip install -e \".[docs]\"`; CI sets GAN3D_REQUIRE_BROWSER=1 so that this test cannot be skipped"
)


# ----------------------------------------------------------------------------------------------
# availability


def _missing_requirements() -> list[str]:
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (Debian package chromium)")
    if not os.access(CHROMEDRIVER, os.X_OK):
        missing.append(f"{CHROMEDRIVER} (Debian package chromium-driver)")
    for module, package in (("selenium", "selenium"), ("mkdocs", "mkdocs"), ("mkdocstrings", "mkdocstrings[python]")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"Python package {package} (docs extra)")
    return missing


def _require_browser() -> None:
    """Skips the test when something is missing, or fails it under GAN3D_REQUIRE_BROWSER=1."""
    missing = _missing_requirements()
    if not missing:
        return
    message = "browser test needs " + ", ".join(missing) + "; " + INSTALL_HINT
    if os.environ.get("GAN3D_REQUIRE_BROWSER") == "1":
        pytest.fail("GAN3D_REQUIRE_BROWSER=1 but the " + message, pytrace=False)
    pytest.skip(message)


# ----------------------------------------------------------------------------------------------
# the site: nav pages, build, server


@dataclass(frozen=True)
class NavPage:
    title: str
    src: str  # path under docs_dir, e.g. "api/mesh.md"
    url: str  # path under the site root, e.g. "api/mesh/"
    sections: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.src.startswith("api/") or any(re.search(r"\bapi\b", s, re.I) for s in self.sections)


def _nav_pages() -> list[NavPage]:
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"))
    pages: list[NavPage] = []

    def url_of(src: str) -> str:
        stem = src[:-3] if src.endswith(".md") else src
        if not config["use_directory_urls"]:
            return stem + ".html"
        if stem == "index" or stem.endswith("/index"):
            return stem[: -len("index")]
        return stem + "/"

    def walk(items, sections):
        for item in items or []:
            if isinstance(item, str):
                title, value = None, item
            else:
                ((title, value),) = item.items()
            if isinstance(value, list):
                walk(value, (*sections, title or ""))
            elif isinstance(value, str) and not urlsplit(value).scheme and value.endswith(".md"):
                pages.append(NavPage(title or Path(value).stem, value, url_of(value), sections))

    walk(config["nav"], ())
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
           "--site-dir", str(out)]
    result = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}{result.stderr}"
    assert (out / "index.html").is_file()
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="docs-site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager must never try to download a browser or a driver (there is no network).
    os.environ.setdefault("SE_OFFLINE", "true")
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={WINDOW_SIZE}")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()


# ----------------------------------------------------------------------------------------------
# crawling the built HTML


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        attr = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src"}.get(tag)
        if attr and attrs.get(attr):
            self.links.append((tag, attrs[attr]))


def _page_url(site: Path, file: Path) -> str:
    rel = file.relative_to(site).as_posix()
    return "/" + (rel[: -len("index.html")] if rel == "index.html" or rel.endswith("/index.html") else rel)


def _crawl(site: Path) -> dict[str, _PageParser]:
    pages = {}
    for file in sorted(site.rglob("*.html")):
        parser = _PageParser()
        parser.feed(file.read_text(encoding="utf-8"))
        pages[_page_url(site, file)] = parser
    return pages


def _public_modules(package: str = "gan3dlib") -> list[str]:
    """Dotted paths of the package's public modules, less deprecated aliases of moved modules
    (their docstring starts with "Deprecated alias"), which stay off the API pages."""
    modules = []
    for file in sorted((ROOT / package).rglob("*.py")):
        if file.read_text(encoding="utf-8").startswith('"""Deprecated alias'):
            continue
        parts = file.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            modules.append(".".join(parts))
    return modules


# ----------------------------------------------------------------------------------------------
# the test


def _open(browser, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    # Lazy images would never load in a window that does not scroll: load them all now.
    browser.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager');")
    WebDriverWait(browser, IMAGE_WAIT_S).until(
        lambda d: d.execute_script("return document.readyState === 'complete' && "
                                   "Array.from(document.images).every(i => i.complete);"))


def _check_page(browser, base: str, page: NavPage) -> list[str]:
    from selenium.webdriver.common.by import By

    url = urljoin(base, page.url)
    problems = []
    status = _status(url)
    if status != 200:
        return [f"{page.src} ({url}): HTTP {status}"]
    _open(browser, url)
    title = browser.title
    if "404" in title or "not found" in title.lower():
        problems.append(f"{page.src}: 404 page (title {title!r})")
    h1 = [e.text.strip() for e in browser.find_elements(By.CSS_SELECTOR, "article h1, .md-content h1")]
    if not any(h1):
        problems.append(f"{page.src}: no <h1> with text")
    articles = browser.find_elements(By.TAG_NAME, "article")
    text = articles[0].text.strip() if articles else ""
    if len(text) < 40:
        problems.append(f"{page.src}: no article content ({text!r})")
    broken_images = browser.execute_script(
        "return Array.from(document.images)"
        ".filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.currentSrc || i.src || i.outerHTML);")
    problems += [f"{page.src}: image did not load: {src}" for src in broken_images]
    failed = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.startsWith(location.origin) && e.responseStatus >= 400)"
        ".map(e => e.responseStatus + ' ' + e.name);")
    problems += [f"{page.src}: resource failed: {entry}" for entry in failed]
    if page.is_api:
        html = browser.page_source
        roles = sorted({f":{m.group(1)}:" for m in [*RST_ROLE_TEXT.finditer(text), *RST_ROLE_HTML.finditer(html)]})
        if roles:
            shown = [line.strip()[:160] for line in text.splitlines() if RST_ROLE_TEXT.search(line)]
            problems.append(f"{page.src}: Sphinx roles {', '.join(roles)} shown as text in {len(shown)} lines, "
                            f"e.g. {shown[:3]}")
    return problems


def test_site_in_browser(request, tmp_path):
    _require_browser()  # before the fixtures, so that a missing browser is a skip or a failure, not an error
    site = request.getfixturevalue("site")
    server = request.getfixturevalue("server")
    browser = request.getfixturevalue("browser")
    nav = _nav_pages()
    landing = next((p for p in nav if p.url == ""), None)
    assert landing is not None, "mkdocs.yml nav has no landing page (index.md)"
    api = [p for p in nav if p.is_api]
    assert api, "no API reference pages in mkdocs.yml nav"
    problems = []
    quickstart = [p for p in nav if "quickstart" in p.title.lower()]
    if not quickstart:
        problems.append(f"no page titled 'Quickstart' in the nav of mkdocs.yml: {[p.title for p in nav]}")

    # Landing page, with a screenshot.
    problems += _check_page(browser, server, landing)
    screenshot = tmp_path / "landing.png"
    assert browser.save_screenshot(str(screenshot)), "Chromium could not take a screenshot"
    assert screenshot.stat().st_size > 1000
    if os.environ.get("GAN3D_SCREENSHOT_DIR"):
        target = Path(os.environ["GAN3D_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, target / "landing.png")
        screenshot = target / "landing.png"
    print(f"landing-page screenshot: {screenshot}")

    for page in dict.fromkeys([*quickstart, *api]):
        problems += _check_page(browser, server, page)

    # Every internal link of every built page resolves, and so does every fragment link.
    crawled = _crawl(site)
    api_urls = {"/" + p.url for p in api}
    origin = urlsplit(server)
    status_of: dict[str, int] = {}
    checked_fragments = 0
    for page_url, parser in crawled.items():
        for tag, link in parser.links:
            absolute = urljoin(urljoin(server, page_url.lstrip("/")), link)
            parts = urlsplit(absolute)
            if parts.scheme not in ("http", "https") or parts.netloc != origin.netloc:
                continue  # external, mailto:, data:, javascript:
            path = unquote(parts.path)
            target = urljoin(server, parts.path)
            if target not in status_of:
                status_of[target] = _status(target)
            if status_of[target] != 200:
                problems.append(f"{page_url}: <{tag}> {link!r} -> HTTP {status_of[target]}")
                continue
            # Fragments: every API-page anchor, and (stricter than needed, cheap) every other page's.
            if parts.fragment and tag == "a" and (path in api_urls or path in crawled):
                ids = crawled[path].ids if path in crawled else set()
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{page_url}: {link!r}: no id {parts.fragment!r} in {path}")
                checked_fragments += 1
    assert len(status_of) > len(nav), f"only {len(status_of)} internal links found; is the crawler broken?"
    assert checked_fragments > 0, "no fragment links found; is the crawler broken?"

    # Every public module of gan3dlib has a section (an anchor with its dotted path) on an API page.
    api_ids = set().union(*(crawled[url].ids for url in api_urls if url in crawled))
    for module in _public_modules():
        if module not in api_ids:
            problems.append(f"public module {module} is on no API reference page (add '::: {module}' to docs/api/)")

    assert not problems, f"{len(problems)} problems on the documentation site:\n" + "\n".join(problems)

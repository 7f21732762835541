"""The docs as a reader sees them: every built page opened in headless Chromium (scripts/check_docs_browser.py).

Skipped, with the reason, where Chromium is not installed (Debian: ``apt-get install chromium``;
CI installs it). The first test builds the whole site and wants no page with a problem; the second
shows the check can fail: a small site with each kind of problem in it.
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import check_docs_browser as check  # noqa: E402

CHROME = check.browser()
needs_chromium = pytest.mark.skipif(CHROME is None, reason="no Chromium on the PATH (Debian: apt-get install chromium)")


@needs_chromium
def test_every_page_of_the_built_site_reads_as_it_should(tmp_path):
    site = tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                           cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    results = check.check_site(site, chrome=CHROME)
    docs = {os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "docs")).replace(os.sep, "/")
            for d, _, files in os.walk(os.path.join(ROOT, "docs")) for f in files if f.endswith(".md")}
    assert set(results) == docs                                       # every page was opened
    assert {page: problems for page, problems in results.items() if problems} == {}


PAGE = """<!doctype html><html><head><title>t</title></head><body><div class="rst-content" style="width:600px">
<p>ok</p>%s</div></body></html>"""


@needs_chromium
def test_the_check_finds_each_kind_of_problem(tmp_path):
    """A broken image, a JavaScript error, a code block cut off, and a formula with no MathJax to typeset it."""
    site = tmp_path / "site"
    pages = {
        "": "<p>nothing wrong</p>",
        "image": '<img src="missing.png" alt="gone">',
        "script": "<script>undefinedFunction();</script>",
        "code": '<pre style="width:300px;overflow:auto">' + "x" * 400 + "</pre>",
        "formula": '<div class="arithmatex">\\[ x^2 \\]</div>',
    }
    for name, body in pages.items():
        (site / name).mkdir(parents=True, exist_ok=True)
        (site / name / "index.html").write_text(PAGE % body)
    found = check.check_site(site, chrome=CHROME)
    assert found["index.md"] == []
    assert any("image does not load: missing.png" in p for p in found["image.md"])
    assert any("undefinedFunction" in p for p in found["script.md"])
    assert any("cut off behind a scrollbar" in p for p in found["code.md"])
    assert any("formula not typeset" in p or "MathJax did not load" in p for p in found["formula.md"])

"""Open every page of the built docs in headless Chromium and say what a reader would see wrong.

    mkdocs build --strict --site-dir /tmp/site
    python scripts/check_docs_browser.py /tmp/site            # every page; exit 1 if any is wrong
    python scripts/check_docs_browser.py /tmp/site gan.md     # some pages

The site is served on localhost (as a reader's browser gets it: fonts and MathJax's extensions
load as they would online, but nothing leaves the machine) and each page is opened at 1280 x 900
in Debian's ``chromium``. A small script, put first in the page's head for the check only, records
JavaScript errors, waits for MathJax, and reports:

- a formula left untypeset (raw ``\\(`` or ``\\[`` in a math element) or a MathJax error box;
- an image that does not load;
- a JavaScript error;
- a code block or table wider than its box (cut off behind a scrollbar) or than the page.
"""
import argparse
import functools
import html
import http.server
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading

WIDTH, HEIGHT = 1280, 900
#: the theme's search script, left out of the copy the browser opens: its worker, loading the search
#: index, kept Chromium's virtual clock from running out on one run in two (and searching is not read)
SEARCH = re.compile(r'<script src="[./]*search/main\.js"[^>]*></script>')
#: found first on the PATH: Debian's package is "chromium"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

PROBE = r"""<script>
(function () {
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message || e)); });
  window.addEventListener("unhandledrejection", function (e) { errors.push("unhandled: " + String(e.reason)); });
  function report(extra) {
    var problems = errors.slice();
    document.querySelectorAll("img").forEach(function (img) {
      if (!img.complete || img.naturalWidth === 0) problems.push("image does not load: " + img.getAttribute("src"));
    });
    document.querySelectorAll(".arithmatex").forEach(function (el) {
      if (!el.querySelector("mjx-container") && /\\[\(\[]/.test(el.textContent))
        problems.push("formula not typeset: " + el.textContent.trim().slice(0, 60));
    });
    document.querySelectorAll("mjx-merror, [data-mjx-error]").forEach(function (el) {
      problems.push("MathJax error: " + (el.getAttribute("data-mjx-error") || el.textContent).slice(0, 80));
    });
    var main = document.querySelector(".rst-content") || document.body;
    var edge = Math.min(main.getBoundingClientRect().right, document.documentElement.clientWidth);
    document.querySelectorAll("pre, table, mjx-container[display=true]").forEach(function (el) {
      var wrapper = el.parentElement && el.parentElement.classList.contains("wy-table-responsive") ?
          el.parentElement : null;
      var box = el.tagName === "PRE" ? el : wrapper;
      var what = el.tagName.toLowerCase() + " " + (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 50);
      var inner = el.tagName === "MJX-CONTAINER" ? (el.querySelector("mjx-math") || el) : el;   // a formula's width
      if (box && box.scrollWidth > box.clientWidth + 1) problems.push("cut off behind a scrollbar (" +
          box.scrollWidth + " px in " + box.clientWidth + "): " + what);
      else if (inner.getBoundingClientRect().right > edge + 1) problems.push("wider than the page (" +
          Math.round(inner.getBoundingClientRect().right - edge) + " px over): " + what);
    });
    if (extra) problems.push(extra);
    var out = document.createElement("pre");
    out.id = "minigan-browser-check";
    out.textContent = JSON.stringify(problems);
    document.body.appendChild(out);
    if (window.parent !== window) window.parent.postMessage({page: location.pathname, problems: problems}, "*");
  }
  window.addEventListener("load", function () {
    var wait = window.MathJax && MathJax.startup && MathJax.startup.promise;
    if (wait) wait.then(function () { report(); }, function (e) { report("MathJax failed: " + e); });
    else report(document.querySelector(".arithmatex") ? "MathJax did not load" : null);
  });
})();
</script>"""


def browser():
    """The path of a headless-capable Chromium, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def pages(site, only=()):
    """(page name as in docs/, html path) of every built page, or of ``only``."""
    site = pathlib.Path(site)
    found = []
    for page in sorted(site.rglob("index.html")):
        rel = page.parent.relative_to(site).as_posix()
        if rel.startswith(("js", "css", "search", "img")) or rel == "404":
            continue
        name = "index.md" if rel == "." else f"{rel}.md"
        if not only or name in only:
            found.append((name, page))
    return found


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass                                   # a frame the driver closed mid-transfer: nothing to report


def serve(root):
    """An HTTP server of ``root`` on a free localhost port, in a thread. Returns (server, base URL)."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


#: the page that opens every page in turn, each in a frame the size of the window, and collects what
#: each page's probe reports: one browser for the whole site
DRIVER = """<!doctype html><html><body style="margin:0"><pre id="minigan-browser-check"></pre><script>
var urls = %s, results = {}, i = -1, frame = null;
function next() {
  i += 1;
  if (frame) frame.remove();
  if (i >= urls.length) {
    document.getElementById("minigan-browser-check").textContent = JSON.stringify(results);
    return;
  }
  frame = document.createElement("iframe");
  frame.style.cssText = "width:%dpx;height:%dpx;border:0";
  frame.src = urls[i];
  var url = urls[i], done = false;
  setTimeout(function () { if (!done) { done = true; results[url] = ["the page did not finish in 60 s"]; next(); } },
             60000);
  window.onmessage = function (e) { if (!done) { done = true; results[url] = e.data.problems; next(); } };
  document.body.appendChild(frame);
}
next();
</script></body></html>"""


def run_driver(chrome, base, urls, timeout):
    """{url: [problems]} from one Chromium opening the driver page."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
               f"--virtual-time-budget={70000 * len(urls)}", "--dump-dom", f"{base}/minigan-browser-check.html"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {url: [f"Chromium did not finish the site in {timeout} s"] for url in urls}
    m = re.search(r'<pre id="minigan-browser-check">(.*?)</pre>', done.stdout, re.S)
    if not m or not m.group(1).strip():
        return {url: ["the check did not run: " + done.stderr.strip()[-300:]] for url in urls}
    return json.loads(html.unescape(m.group(1)))


def check_site(site, only=(), chrome=None):
    """{page: [problems]} for the built ``site``; the probe goes into a copy, the site is left as it is."""
    chrome = chrome or browser()
    if chrome is None:
        raise FileNotFoundError("no Chromium found (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "site"
        shutil.copytree(site, copy)
        for _, page in pages(copy, only):
            text = page.read_text(encoding="utf-8")
            text = SEARCH.sub("", text)                                    # see SEARCH
            page.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
        urls = {}
        for name, page in pages(copy, only):
            rel = page.parent.relative_to(copy).as_posix()
            urls["/" if rel == "." else f"/{rel}/"] = name
        (copy / "minigan-browser-check.html").write_text(DRIVER % (json.dumps(list(urls)), WIDTH, HEIGHT))
        server, base = serve(copy)
        try:
            found = run_driver(chrome, base, list(urls), timeout=60 + 20 * len(urls))
        finally:
            server.shutdown()
            server.server_close()
        return {urls[url]: problems for url, problems in found.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("site", help="the built site (mkdocs build --site-dir SITE)")
    p.add_argument("pages", nargs="*", help="pages to check, as in docs/ (gan.md, layers/dense.md); default all")
    args = p.parse_args(argv)
    if not os.path.isfile(os.path.join(args.site, "index.html")):
        p.error(f"{args.site!r}: no built site there (mkdocs build --site-dir {args.site})")
    try:
        results = check_site(args.site, args.pages)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bad = {page: problems for page, problems in results.items() if problems}
    for page, problems in bad.items():
        for problem in problems:
            print(f"{page}: {problem}")
    print(f"{len(results)} pages opened in Chromium at {WIDTH} px: "
          + ("every one reads as it should" if not bad else f"{len(bad)} with problems"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

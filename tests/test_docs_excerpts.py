"""Docs that cannot drift: code shown on a page is included from the source, never copied.

A page shows a whole function or class of minigan by its name, inside a code fence:

    ```python
    --8<-- "minigan/nn/layers/dense.py:Dense.forward"
    ```

(scripts/mkdocs_include.py finds it with ``ast``), and part of one with a pymdownx.snippets
section, whose lines the source marks with two comments:

    # --8<-- [start:conv2d-dcols]
    dcols = dy_mat @ w_mat
    # --8<-- [end:conv2d-dcols]

A marker section around whole functions is refused: name them instead.

Every other ```python block on a page must say what it is, in an HTML comment on the line before it:

    <!-- example -->            a few lines a reader types (or a signature): compiled here
    <!-- example: run -->       the same, short and self-contained: also run here

A block with neither is a hand copy that will drift: the tests below say which page, which block,
and how to turn it into an include. No page is skipped and there is no escape for a hand copy: the
old `<!-- copy of FILE -->` note is refused, and so is an "example" whose every line is minigan's
own. The last test builds the site (`mkdocs build --strict`, about 3 s) and checks that every
included section shows on its page as the source has it, and no marker comment does.
"""
import ast
import importlib.util
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_spec = importlib.util.spec_from_file_location("mkdocs_include", ROOT / "scripts" / "mkdocs_include.py")
mkdocs_include = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mkdocs_include)

FENCE = re.compile(r"^(```+)\s*([\w+-]*)\s*$")
INCLUDE = re.compile(r'^\s*-{1,}8<-{1,}\s+"([^":]+)(?::([A-Za-z_][-_.0-9A-Za-z]*))?"\s*$')
MARKER = re.compile(r"#\s*-{1,}8<-{1,}\s+\[\s*(start|end)\s*:\s*([a-z][-_0-9a-z]*)\s*\]")
NOTE = re.compile(r"^<!--\s*(example(?::\s*run)?)\s*-->$")
COPY_NOTE = re.compile(r"^<!--\s*copy of\b")


def rel(path):
    return path.relative_to(ROOT).as_posix()


def code_blocks():
    """Every fenced block in docs/: (page, line number of the fence, language, body lines, note)."""
    blocks = []
    for page in sorted(DOCS.rglob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            j = i + 1
            while j < len(lines) and not lines[j].startswith(m.group(1)):
                j += 1
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            note = lines[k].strip() if k >= 0 and lines[k].strip().startswith("<!--") else None
            blocks.append((rel(page), i + 1, m.group(2), lines[i + 1:j], note))
            i = j + 1
    return blocks


BLOCKS = code_blocks()
INCLUDES = [(page, line, m.group(1), m.group(2))
            for page, line, _, body, _ in BLOCKS for m in map(INCLUDE.match, body) if m]
PYTHON = [b for b in BLOCKS if b[2] == "python" and not any(INCLUDE.match(l) for l in b[3])]


def sections(path):
    """{name: [lines]} of the snippet sections marked in one source file."""
    found, open_ = {}, {}
    for n, line in enumerate((ROOT / path).read_text(encoding="utf-8").splitlines()):
        m = MARKER.search(line)
        if m and m.group(1) == "start":
            assert m.group(2) not in open_ and m.group(2) not in found, \
                f"{path}:{n + 1}: section '{m.group(2)}' starts twice; section names must be unique per file"
            open_[m.group(2)] = []
        elif m:
            assert m.group(2) in open_, f"{path}:{n + 1}: section '{m.group(2)}' ends before it starts"
            found[m.group(2)] = open_.pop(m.group(2))
        else:
            for lines in open_.values():
                lines.append(line)
    assert not open_, f"{path}: section(s) {sorted(open_)} never end: add '# --8<-- [end:NAME]'"
    return found


def source_files():
    return sorted(p for p in (ROOT / "minigan").rglob("*.py"))


def test_no_page_holds_a_marked_hand_copy():
    """The '<!-- copy of FILE -->' escape is gone: every excerpt of minigan on a page is an include."""
    copies = [f"{rel(page)}:{n + 1}" for page in sorted(DOCS.rglob("*.md"))
              for n, line in enumerate(page.read_text(encoding="utf-8").splitlines()) if COPY_NOTE.match(line.strip())]
    assert not copies, (f"hand copies marked '<!-- copy of ... -->' at {copies}: mark the lines in the source "
                        "with '# --8<-- [start:NAME]' / '# --8<-- [end:NAME]' and include them with "
                        "'--8<-- \"FILE:NAME\"' instead.")


def test_the_pages_include_code():
    """Guard against the parser silently finding nothing (a changed fence style, a moved docs/)."""
    assert len(INCLUDES) > 50
    assert sum(by_name(path, section) is not None for _, _, path, section in INCLUDES) > 50


def by_name(path, section):
    """The source of function or class ``section`` of ``path`` when the include names one, else None."""
    return None if section is None else mkdocs_include.source_of(path, section)


@pytest.mark.parametrize("page,line,path,section", INCLUDES,
                         ids=[f"{p}:{n}" for p, n, _, _ in INCLUDES])
def test_included_section_exists(page, line, path, section):
    where = f"{page}, the code block at line {line}, includes {path}:{section}"
    assert (ROOT / path).is_file(), f"{where}, but there is no file {path} (renamed or moved?): fix the path."
    if section is None or by_name(path, section) is not None:
        return
    found = sections(path)
    assert section in found, (
        f"{where}, but {path} has neither a function or class of that name nor a section '{section}'. "
        f"Name a function or class as Class.method, or put '# --8<-- [start:{section}]' and "
        f"'# --8<-- [end:{section}]' around the part the page explains (or fix the name on the page).")
    assert any(l.strip() for l in found[section]), f"{where}, but that section is empty."


def test_every_marked_section_is_shown_somewhere():
    """A marker no page includes is clutter in the source (or a page lost its include by mistake)."""
    used = {(path, section) for _, _, path, section in INCLUDES}
    unused = [f"{rel(p)}:{name}" for p in source_files() for name in sections(rel(p))
              if (rel(p), name) not in used]
    assert not unused, (f"snippet sections that no page includes: {unused}. Include each on the page "
                        "that explains it, or delete its two marker comments.")


def whole_definitions(path):
    """{section: [qualnames]} of the marker sections of ``path`` whose code is whole functions or classes."""
    text = (ROOT / path).read_text(encoding="utf-8")
    lines, spans = text.splitlines(), []

    def walk(body, prefix):
        for n in body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([n.lineno] + [d.lineno for d in n.decorator_list])
                spans.append((prefix + n.name, start, n.end_lineno))
                if isinstance(n, ast.ClassDef):
                    walk(n.body, prefix + n.name + ".")
    walk(ast.parse(text).body, "")
    found, start = {}, {}
    for i, line in enumerate(lines, 1):
        m = MARKER.search(line)
        if m and m.group(1) == "start":
            start[m.group(2)] = i
        elif m:
            a, b = start.pop(m.group(2)), i
            code = [j for j in range(a + 1, b) if lines[j - 1].strip() and not lines[j - 1].strip().startswith("#")]
            inside = [s for s in spans if a < s[1] and s[2] < b]
            covered = {j for _, s, e in inside for j in range(s, e + 1)}
            if code and inside and all(j in covered for j in code):
                found[m.group(2)] = [q for q, s, e in inside
                                     if not any(o[1] <= s and e <= o[2] and o[0] != q for o in inside)]
    return found


def test_a_marker_section_is_never_a_whole_function():
    """Markers are for part of a function; a page shows a whole one by its name, with no comments in the source."""
    whole = [f"{rel(p)}:{name} (include {', '.join(f'{rel(p)}:{q}' for q in names)})"
             for p in source_files() for name, names in whole_definitions(rel(p)).items()]
    assert not whole, ("marker sections around whole functions or classes: " + "; ".join(whole)
                       + ". Drop the two marker comments and include each by its name, --8<-- \"FILE:QUALNAME\".")


def source_lines():
    return {rel(p): {l.strip() for l in p.read_text(encoding="utf-8").splitlines()} for p in source_files()}


def meaningful(body):
    """The lines a hand copy must share with its source: not blank, not an elision '...'."""
    return [l.strip() for l in body if l.strip() and l.strip() not in ("...", "# ...")]


@pytest.mark.parametrize("page,line,lang,body,note", PYTHON, ids=[f"{p}:{n}" for p, n, *_ in PYTHON])
def test_python_block_is_an_include_or_an_example(page, line, lang, body, note):
    where = f"{page}, the ```python block at line {line} (first line: {meaningful(body)[0]!r})"
    m = NOTE.match(note or "")
    owners = sorted(path for path, lines in source_lines().items()
                    if all(l in lines for l in meaningful(body)))
    if m:                                                   # <!-- example --> or <!-- example: run -->
        assert not (owners and len(meaningful(body)) > 1), (
            f"{where} is marked as an example, but every line of it is in {owners}: it is a hand copy. "
            f"Include the real lines instead ('# --8<-- [start:NAME]' / '# --8<-- [end:NAME]' around them "
            f"in {owners[0]}, and '--8<-- \"{owners[0]}:NAME\"' in the block).")
        code = "\n".join(body)
        compile(code, f"{page}:{line}", "exec")
        if m.group(1).endswith("run"):
            exec(compile(code, f"{page}:{line}", "exec"), {"__name__": "docs_example"})
        return
    hint = (f"every line of it is in {owners}: it is a hand copy. Mark the lines in the source with "
            f"'# --8<-- [start:NAME]' / '# --8<-- [end:NAME]' and replace the block's body with "
            f"'--8<-- \"{owners[0]}:NAME\"'" if owners else
            "if it is an excerpt of minigan, it has drifted from the source: include the real lines "
            "instead (a '# --8<-- [start:NAME]' / '# --8<-- [end:NAME]' section and '--8<-- \"FILE:NAME\"')")
    pytest.fail(f"{where} is neither an include nor a marked example. {hint}; if it is code a reader "
                "types (a usage example or a signature), put '<!-- example -->' on the line before it "
                "('<!-- example: run -->' if it is short and runs on its own).")


def test_the_built_site_shows_each_section_and_no_marker(tmp_path):
    """Build the site (strict) and find every included section, dedented, in a code block of its page."""
    import html
    import subprocess
    import sys
    import textwrap
    pytest.importorskip("mkdocs")
    pytest.importorskip("pymdownx")
    site = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                           cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr[-3000:]}"
    problems = []
    for page, line, path, section in INCLUDES:
        name = pathlib.Path(page).relative_to("docs").with_suffix("")
        out = site / ("index.html" if name.as_posix() == "index" else name / "index.html")
        blocks = [html.unescape(re.sub(r"<[^>]+>", "", b))
                  for b in re.findall(r"<pre.*?</pre>", out.read_text(encoding="utf-8"), re.S)]
        if any("8<-" in b for b in blocks):
            problems.append(f"{page}: a snippet marker is shown on the built page")
        if section is not None:
            named = by_name(path, section)
            want = (named if named is not None else textwrap.dedent("\n".join(sections(path)[section]))).strip("\n")
            if not any(want in b for b in blocks):
                problems.append(f"{page}:{line}: the built page does not show {path}:{section} as the source has it")
    assert not problems, "\n".join(problems)

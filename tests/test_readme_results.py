"""README's results table: each row names the commit that made it, each GAN shows two seeds, docs quote it as it is.

The rows are what ``python scripts/results.py MODEL --seed S`` printed (docs/results.md); any
docs page that quotes one quotes it in the same format, and must quote the same numbers.
"""
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("results", ROOT / "scripts" / "results.py")
results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(results)
HEADERS = {results.header(kind).splitlines()[0]: kind for kind in ("generative", "translation")}


def tables(path, kind="generative"):
    """The rows (lists of cells) of every results-format table of ``kind`` in a Markdown file."""
    rows, inside = [], False
    for line in path.read_text().splitlines():
        if line in HEADERS:
            inside = HEADERS[line] == kind
            continue
        if inside and line.startswith("| ---"):
            continue
        if inside and line.startswith("| "):
            rows.append([c.strip() for c in line[2:-2].split(" | ")])
        else:
            inside = False
    return rows


GENERATIVE = tables(ROOT / "README.md")
TRANSLATION = tables(ROOT / "README.md", "translation")
README = GENERATIVE + TRANSLATION
DOCS = {path.name: tables(path) + tables(path, "translation") for path in sorted((ROOT / "docs").glob("**/*.md"))}
COLUMN = {name: i for i, name in enumerate(results.COLUMNS)}   # the first seven are the same in both tables


def test_readme_has_the_results_tables():
    assert GENERATIVE, "README has no results table (scripts/results.py's header, then its rows)"
    assert all(len(row) == len(results.COLUMNS) for row in GENERATIVE)
    assert TRANSLATION, "README has no translators' table (scripts/results.py --header translation, then rows)"
    assert all(len(row) == len(results.TRANSLATION_COLUMNS) for row in TRANSLATION)
    assert results.COLUMNS[:7] == results.TRANSLATION_COLUMNS[:7]


def test_every_row_names_a_commit_and_no_uncommitted_code():
    for row in README:
        code = row[COLUMN["code"]]
        assert re.fullmatch(r"commit [0-9a-f]{7,40}", code), f"{row[0]} seed {row[1]}: code {code!r}"


def test_the_commits_are_in_this_history():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the commits cannot be looked up")
    for commit in sorted({row[COLUMN["code"]].split()[1] for row in README}):
        done = subprocess.run(["git", "-C", str(ROOT), "merge-base", "--is-ancestor", commit, "HEAD"],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"README names commit {commit}, which is not an ancestor of HEAD"


STALE = "### Not re-measured at a stated commit yet"


def test_every_example_shows_two_seeds_or_is_marked_stale():
    seeds = {}
    for row in README:
        seeds.setdefault(row[COLUMN["model (command)"]], set()).add(row[COLUMN["seed"]])
    for label, got in seeds.items():
        assert len(got) >= 2, f"{label}: one seed ({got}) hides how much the result moves"
    text = (ROOT / "README.md").read_text()
    stale = text[text.index(STALE):] if STALE in text else ""
    measured = {label.split()[0] for label in seeds}
    for example in results.EXAMPLES:
        assert example in measured or f"`examples/train_{example}.py`" in stale, (
            f"examples/train_{example}.py has no measured row and is not marked stale")
    assert results.ONE_FILE in measured


def test_docs_quote_the_readme_rows_as_they_are():
    by_key = {(row[0], row[1]): row for row in README}
    quoted = 0
    for page, rows in DOCS.items():
        for row in rows:
            assert (row[0], row[1]) in by_key, f"docs/{page} quotes {row[0]} seed {row[1]}, which README lacks"
            assert row == by_key[(row[0], row[1])], f"docs/{page}'s row of {row[0]} seed {row[1]} differs from README's"
            quoted += 1
    assert quoted >= 2, "the model pages quote their README rows"


def test_infogan_shows_three_seeds():
    """Its categorical code settles differently from run to run: README shows seeds 0, 1 and 2."""
    assert sorted(row[1] for row in README if row[0] == "infogan") == ["0", "1", "2"]

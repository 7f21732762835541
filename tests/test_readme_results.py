"""The results page's tables: each row names the commit that made it, each GAN shows two seeds; README's summary
quotes them as they are, and the teaching pages quote none.

The rows are what ``python scripts/results.py MODEL --seed S`` printed (docs/results.md). README's
table of the models gives each model's seed-0 figures from those rows; a test reads them back.
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


RESULTS_PAGE = ROOT / "docs" / "results.md"
GENERATIVE = tables(RESULTS_PAGE)
TRANSLATION = tables(RESULTS_PAGE, "translation")
ROWS = GENERATIVE + TRANSLATION
DOCS = {path.relative_to(ROOT / "docs").as_posix(): tables(path) + tables(path, "translation")
        for path in sorted((ROOT / "docs").glob("**/*.md")) if path != RESULTS_PAGE}
COLUMN = {name: i for i, name in enumerate(results.COLUMNS)}   # the first seven are the same in both tables


def test_the_results_page_has_the_results_tables():
    assert GENERATIVE, "docs/results.md has no results table (scripts/results.py's header, then its rows)"
    assert all(len(row) == len(results.COLUMNS) for row in GENERATIVE)
    assert TRANSLATION, "docs/results.md has no translators' table (scripts/results.py --header translation, then rows)"
    assert all(len(row) == len(results.TRANSLATION_COLUMNS) for row in TRANSLATION)
    assert results.COLUMNS[:7] == results.TRANSLATION_COLUMNS[:7]


def test_every_row_names_a_commit_and_no_uncommitted_code():
    for row in ROWS:
        code = row[COLUMN["code"]]
        assert re.fullmatch(r"commit [0-9a-f]{7,40}", code), f"{row[0]} seed {row[1]}: code {code!r}"


def test_the_commits_are_in_this_history():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the commits cannot be looked up")
    for commit in sorted({row[COLUMN["code"]].split()[1] for row in ROWS}):
        done = subprocess.run(["git", "-C", str(ROOT), "merge-base", "--is-ancestor", commit, "HEAD"],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"docs/results.md names commit {commit}, which is not an ancestor of HEAD"


STALE = "### Not re-measured at a stated commit yet"


def test_every_example_shows_two_seeds_or_is_marked_stale():
    seeds = {}
    for row in ROWS:
        seeds.setdefault(row[COLUMN["model (command)"]], set()).add(row[COLUMN["seed"]])
    for label, got in seeds.items():
        assert len(got) >= 2, f"{label}: one seed ({got}) hides how much the result moves"
    text = RESULTS_PAGE.read_text()
    stale = text[text.index(STALE):] if STALE in text else ""
    measured = {label.split()[0] for label in seeds}
    for example in results.EXAMPLES:
        assert example in measured or f"`examples/train_{example}.py`" in stale, (
            f"examples/train_{example}.py has no measured row and is not marked stale")
    assert results.ONE_FILE in measured


#: pages that keep a record (how the settings were searched, the benchmarks): they may quote a row, as it is
RECORD_PAGES = ("tuning.md", "performance.md")


def test_teaching_pages_quote_no_rows_and_records_quote_them_as_they_are():
    """Measurements, seeds and commits live on the results page; a model's page links there."""
    quoting = {page: len(rows) for page, rows in DOCS.items() if rows and page not in RECORD_PAGES}
    assert quoting == {}, f"pages quoting results rows (move them to docs/results.md): {quoting}"
    by_key = {(row[0], row[1], row[COLUMN["code"]]): row for row in ROWS}
    for page in RECORD_PAGES:
        for row in DOCS[page]:
            same = by_key.get((row[0], row[1], row[COLUMN["code"]]))   # an older commit's row is history, kept as is
            assert same is None or row == same, f"docs/{page}'s row of {row[0]} seed {row[1]} is not the results page's"
            assert re.fullmatch(r"commit [0-9a-f]{7,40}", row[COLUMN["code"]]), f"docs/{page}: {row[0]} seed {row[1]}"


def test_infogan_shows_three_seeds():
    """Its categorical code settles differently from run to run: the results show seeds 0, 1 and 2."""
    assert sorted(row[1] for row in ROWS if row[0] == "infogan") == ["0", "1", "2"]


#: README's summary quotes, for each example, the seed-0 row of its defaults: the row's label is the example's
#: name, except where the defaults changed to a setting the rows name as a flag
SUMMARY_LABEL = {"cyclegan": "cyclegan --lambda-identity 0"}


def summary():
    """README's table of the models: {example: {column: cell}}."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| model | example |"))
    head = [c.strip() for c in lines[start][2:-2].split(" | ")]
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("| "):
            break
        cells = [c.strip() for c in line[2:-2].split(" | ")]
        rows[cells[1].split("`")[1]] = dict(zip(head, cells))
    return rows


def numbers(text):
    return re.findall(r"\d+(?:\.\d+)?", text)


def test_readme_summarises_every_model_from_its_seed_0_row():
    rows = summary()
    assert set(rows) == set(results.EXAMPLES) | {results.ONE_FILE}, "README's table: one row per example"
    by_key = {(row[0], row[1]): row for row in ROWS}
    stale = RESULTS_PAGE.read_text().split(STALE)[1] if STALE in RESULTS_PAGE.read_text() else ""
    for example, cells in rows.items():
        row = by_key.get((SUMMARY_LABEL.get(example, example), "0"))
        if row is None:                                     # then the page says why there is no row
            assert "not re-measured yet" in cells["FID"] and f"`examples/train_{example}.py`" in stale, example
            continue
        translation = len(row) == len(results.TRANSLATION_COLUMNS)
        col = {name: row[i] for i, name in enumerate(results.TRANSLATION_COLUMNS if translation else results.COLUMNS)}
        assert cells["FID"] == col["FID"], example
        assert cells["training wall-clock"] == col["training wall-clock"], example
        kept = col["digit kept (min over digits)"] if translation else col["score (max 10)"]
        assert numbers(cells["score (max 10) or digit kept"]) == numbers(re.sub(r"\(.*?\)", "", kept)), example
        own = re.sub(r"\d+ × \d+", "", cells["its own figure"])      # sizes (7 × 7) are not figures
        for number in numbers(own):                                  # each figure quoted is one of the row's
            assert number in numbers(" | ".join(row)), (example, number)

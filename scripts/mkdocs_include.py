"""Docs show a whole function or class of minigan by its name: ``--8<-- "minigan/gan/model.py:GANModel.step"``.

pymdownx.snippets includes a file, or the lines between two marker comments
(``# --8<-- [start:NAME]`` / ``[end:NAME]``). A page that explains a whole
function should not need two comments in the source around it: this hook lets
a code fence name the function or class instead, as ``FILE:QUALNAME``
(``GANModel.step``, ``add_d_loss``, ``Conv2d``), found with :mod:`ast`. Markers
stay only where a page shows part of a function.

mkdocs loads this file as a hook (``hooks:`` in mkdocs.yml); it adds one
Markdown preprocessor that runs before snippets' and replaces each such line
with the function's source, dedented, its decorators included and any marker
comments inside it left out. A line whose name is no function or class of that
file is left for snippets (a marker section). tests/test_docs_excerpts.py uses
:func:`source_of` too, so the test and the build read a name the same way.
"""
import ast
import pathlib
import re
import textwrap

from markdown import Extension
from markdown.preprocessors import Preprocessor

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: ``--8<-- "path/to/file.py:Qual.name"`` on a line of its own (inside a code fence)
BY_NAME = re.compile(r'^(\s*)-{1,}8<-{1,}\s+"([^":]+\.py):([A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*)"\s*$')
MARKER = re.compile(r"^\s*#\s*-{1,}8<-{1,}\s+\[\s*(start|end)\s*:")


def find(tree, qualname):
    """The ``def`` or ``class`` node at ``qualname`` ("Class.method") in a module's tree, or None."""
    body = tree.body
    node = None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            return None
        body = node.body
    return node


def source_of(path, qualname):
    """The dedented source of function or class ``qualname`` in ``path`` (relative to the repository), or None.

    Decorators are included; marker comments inside it are not (a page shows the code, not its markers).
    """
    file = ROOT / path
    if not file.is_file():
        return None
    text = file.read_text(encoding="utf-8")
    node = find(ast.parse(text), qualname)
    if node is None:
        return None
    lines = text.splitlines()
    first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    body = [line for line in lines[first:node.end_lineno] if not MARKER.match(line)]
    return textwrap.dedent("\n".join(body))


class IncludeByName(Preprocessor):
    def run(self, lines):
        out = []
        for line in lines:
            m = BY_NAME.match(line)
            source = source_of(m.group(2), m.group(3)) if m else None
            if source is None:
                out.append(line)                       # not a function or class: snippets' to resolve
            else:
                out.extend(m.group(1) + s if s else s for s in source.splitlines())
        return out


class IncludeByNameExtension(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(IncludeByName(md), "include_by_name", 33)   # snippets' priority is 32


def on_config(config):
    """mkdocs hook: add the preprocessor to every page's Markdown."""
    config.markdown_extensions.append(IncludeByNameExtension())
    return config

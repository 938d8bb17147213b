"""A griffe extension for the API reference: Sphinx roles in the docstrings become Markdown code.

The package's docstrings are Google style with Sphinx cross-reference roles
(``:func:`auroc_callbacks.auroc```, ``:class:`~auroc_callbacks.AUROCAccumulator```),
which Markdown would print verbatim. Each role becomes an inline code span
holding the name (``~`` keeps the last dotted part, as Sphinx does); reST's
double backticks are already Markdown code spans. ``Example:`` sections
become ``Examples:`` (the name griffe's Google parser knows, so doctests
render as code), grouped parameter names wrapped onto a second line are
joined, and reST simple tables become Markdown tables.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|exc|obj|const|term):`(~?)([^`<]+?)(?:\s*<([^>]+)>)?`")


def _code(match: re.Match) -> str:
    tilde, text, target = match.groups()
    name = text.strip()
    if target:  # :class:`title <target>`: the title is what Sphinx shows
        return f"`{name}`"
    if tilde:
        name = name.rsplit(".", 1)[-1]
    return f"`{name}`"


def roles_to_code(text: str) -> str:
    """``:func:`~a.b.c``` -> `` `c` ``; ``:class:`a.B``` -> `` `a.B` ``."""
    return _ROLE.sub(_code, text)


_WRAPPED_NAMES = re.compile(r"^(\s+)((?:\w+, )*\w+,)\n\s+(\w+(?:, \w+)*:)", flags=re.M)
_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", flags=re.M)
_BORDER = re.compile(r"^(\s*)(=+(?: +=+)+)\s*$")


def wrapped_names(text: str) -> str:
    """An ``Args:`` entry whose grouped names wrap onto the next line (``a, b,`` / ``c: ...``) joined into one line."""
    return _WRAPPED_NAMES.sub(r"\1\2 \3", text)


def example_sections(text: str) -> str:
    """``Example:`` (which griffe's Google parser does not know) -> ``Examples:``, so doctests render as code."""
    return _EXAMPLE.sub(r"\1Examples:", text)


def simple_tables(text: str) -> str:
    """reST simple tables (``===  ===`` borders) -> Markdown pipe tables (one header row, one-line cells)."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = _BORDER.match(lines[i])
        ends = [j for j in range(i + 1, len(lines)) if _BORDER.match(lines[j]) and lines[j].strip() == lines[i].strip()]
        if not m or len(ends) < 2:
            out.append(lines[i])
            i += 1
            continue
        indent, spans = m.group(1), [(s.start(), s.end()) for s in re.finditer(r"=+", lines[i])]
        bounds = [(start, spans[k + 1][0] if k + 1 < len(spans) else None) for k, (start, _) in enumerate(spans)]

        def cells(row: str, bounds=bounds) -> str:
            return "| " + " | ".join(row[a:b].strip() if b else row[a:].strip() for a, b in bounds) + " |"

        header, body = lines[i + 1 : ends[0]], lines[ends[0] + 1 : ends[1]]
        out += [""] + [indent + cells(r) for r in header if r.strip()]
        out += [indent + "|" + "---|" * len(spans)] + [indent + cells(r) for r in body if r.strip()] + [""]
        i = ends[1] + 1
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    """Rewrite the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = simple_tables(example_sections(wrapped_names(roles_to_code(obj.docstring.value))))

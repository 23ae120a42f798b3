"""Spec text becomes only string literals, comments and sanitised identifiers."""

import ast

from hypothesis import given
from hypothesis import strategies as st

from generator.render.literals import comment, identifier, md_cell, py

NASTY = [
    '"""',
    "'''",
    "\\",
    "\n",
    "{{ x }}",
    "#",
    "\x00",
    "import os",
    "class",
    "é✓",
    "\r",
    "\u2028",
]


@given(st.text() | st.sampled_from(NASTY))
def test_py_literal_round_trips_any_text(text):
    src = f"x = {py(text)}\n"
    tree = ast.parse(src)
    assert isinstance(tree.body[0].value, ast.Constant)
    assert ast.literal_eval(py(text)) == text


@given(st.text())
def test_comment_is_one_line_without_controls(text):
    out = comment(text)
    assert "\n" not in out and "\r" not in out and "\x00" not in out
    ast.parse(f"# {out}\nx = 1\n")


@given(st.text())
def test_identifier_is_always_a_valid_non_keyword_name(text):
    name = identifier(text)
    assert name.isidentifier()
    import keyword

    assert not keyword.iskeyword(name)
    assert identifier(text) == name  # deterministic


def test_identifier_examples():
    assert identifier("class") == "class_"
    assert identifier("3d-secure") == "field_3d_secure"
    assert identifier("created[gt]") == "created_gt"


def test_md_cell_cannot_break_a_table_row():
    assert "|" not in md_cell("a|b").replace("\\|", "")
    assert "\n" not in md_cell("a\nb")

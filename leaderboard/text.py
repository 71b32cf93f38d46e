"""User text is data: helpers that make it safe to show anywhere."""

from __future__ import annotations

import html

# Characters Markdown (and Streamlit's extensions: :red[], $math$) give meaning to.
_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|~:$<>&\"'=")


def html_text(value: object, *, max_length: int | None = None) -> str:
    """Escape ``value`` for HTML *and* Markdown: every special character becomes an entity.

    Safe inside ``st.html`` and inside ``st.markdown(..., unsafe_allow_html=True)``:
    tags, links, images and math in a customer's comment show literally and
    load nothing. Newlines become spaces so an HTML block is never split.
    """
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return "".join(f"&#{ord(ch)};" if ch in _MARKDOWN_SPECIAL else ch for ch in text)


def markdown_text(value: object) -> str:
    """Escape ``value`` for ``st.markdown`` without HTML (same entities, readable result)."""
    return html_text(value)


def plain(value: object) -> str:
    """Collapse whitespace; for dataframe cells and ``st.text``."""
    return " ".join(("" if value is None else str(value)).split())


__all__ = ["html_text", "markdown_text", "plain", "html"]

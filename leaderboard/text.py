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


_WORD_JOINER = "\u2060"


def markdown_text(value: object) -> str:
    """Escape ``value`` for ``st.markdown``: entities, plus no autolinks.

    GitHub-flavoured Markdown turns bare ``http://…``, ``www.…`` and ``a@b.c`` into
    links even when every character is an entity; an invisible word joiner after
    ``:``, ``@`` and ``www`` keeps them plain text.
    """
    escaped = html_text(value)
    escaped = escaped.replace("&#58;", "&#58;" + _WORD_JOINER).replace("@", "@" + _WORD_JOINER)
    return escaped.replace("www", "www" + _WORD_JOINER).replace("WWW", "WWW" + _WORD_JOINER)


def plain(value: object) -> str:
    """Collapse whitespace; for dataframe cells and ``st.text``."""
    return " ".join(("" if value is None else str(value)).split())


__all__ = ["html_text", "markdown_text", "plain", "html"]

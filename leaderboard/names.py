"""People's names: how public screens show them, and the account name made from one.

Names are stored in full; public screens (the wall, the Leaderboard page) shorten
them when they show them, following ``STARBOARD_PUBLIC_NAMES``
(``Settings.public_name_style``): "first_initial" (the default) shows
"Maria Santos" as "Maria S.", "full" shows "Maria Santos".
"""

from __future__ import annotations

import unicodedata
from typing import Iterable

PUBLIC_NAME_STYLES = ("first_initial", "full")


def public_name(full_name: str, style: str = "first_initial") -> str:
    """``full_name`` as a public screen shows it: "Maria Santos" -> "Maria S." (or in full with "full").

    Runs of spaces collapse; a single name is shown as it is; a name of three parts
    or more keeps its first part and the initial of its last ("Ana de la Cruz" -> "Ana C.").
    """
    parts = full_name.split()
    if style == "full" or len(parts) < 2:
        return " ".join(parts)
    return f"{parts[0]} {parts[-1][0]}."


def username_for(name: str) -> str:
    """``first.last`` in ASCII: "José Núñez" -> "jose.nunez" (IndexError when nothing in it is ASCII)."""
    ascii_name = unicodedata.normalize("NFKD", name.replace("Đ", "Dj").replace("đ", "dj"))
    ascii_name = "".join(ch for ch in ascii_name if ch.isascii() and (ch.isalnum() or ch == " "))
    parts = ascii_name.lower().split()
    return ".".join([parts[0], parts[-1]]) if len(parts) > 1 else parts[0]


def public_names(full_names: Iterable[str], style: str = "first_initial") -> list[str]:
    """``public_name`` of each name, in order (a table's name column)."""
    return [public_name(str(name), style) for name in full_names]


def name_key(name: str) -> str:
    """How names are matched: without case, accents or extra spaces ("ann  GOÓD" -> "ann good").

    An import finds an agent by this key within a site (``db.ingest.write``); the
    ``agent.name_key`` column holds it.
    """
    decomposed = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d").replace("ß", "ss"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())

"""Mapping a requested genre onto the genres a music model actually knows."""

from __future__ import annotations

from collections.abc import Iterable

# nearest neighbours in style, closest first
GENRE_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "pop": ("rock", "electronic", "folk", "country", "latin", "jazz", "hiphop", "game", "classical", "blues"),
    "rock": ("blues", "pop", "country", "electronic", "folk", "game", "jazz", "hiphop", "latin", "classical"),
    "jazz": ("blues", "latin", "classical", "pop", "hiphop", "folk", "rock", "country", "electronic", "game"),
    "classical": ("game", "folk", "jazz", "pop", "latin", "country", "blues", "rock", "electronic", "hiphop"),
    "folk": ("country", "classical", "pop", "rock", "blues", "latin", "jazz", "game", "electronic", "hiphop"),
    "electronic": ("game", "pop", "hiphop", "rock", "jazz", "latin", "classical", "folk", "blues", "country"),
    "hiphop": ("pop", "electronic", "jazz", "rock", "latin", "blues", "game", "folk", "country", "classical"),
    "game": ("electronic", "classical", "pop", "rock", "folk", "jazz", "hiphop", "latin", "blues", "country"),
    "blues": ("jazz", "rock", "country", "folk", "pop", "latin", "hiphop", "classical", "electronic", "game"),
    "latin": ("jazz", "pop", "folk", "classical", "rock", "electronic", "blues", "country", "hiphop", "game"),
    "country": ("folk", "rock", "blues", "pop", "latin", "jazz", "classical", "game", "electronic", "hiphop"),
}


def closest_known_genre(genre: str | None, known: Iterable[str]) -> tuple[str | None, str | None]:
    """``(genre to use, note for the user or None)``.

    A genre the model knows is kept; otherwise the nearest known neighbour is used and the note says so;
    with no neighbour known the genre is dropped (``None``) and the note says that instead.
    """
    known_set = set(known)
    if genre is None or genre in known_set:
        return genre, None
    for candidate in GENRE_NEIGHBOURS.get(genre, ()):
        if candidate in known_set:
            return candidate, (
                f"the music model has not learned '{genre}'; using the closest genre it knows, '{candidate}'"
            )
    return None, f"the music model has not learned '{genre}' or a close genre; composing without a genre"

"""music21's core corpus (Bach chorales, string quartets, folk collections)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .base import (
    CorpusItem,
    Skipped,
    default_cache_dir,
    describe_piece,
    load_piece,
    record_skip,
)

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ music21 core corpus
MUSIC21_GENRES = {
    "bach": "classical", "beethoven": "classical", "mozart": "classical", "haydn": "classical",
    "palestrina": "classical", "monteverdi": "classical", "trecento": "classical", "josquin": "classical",
    "schumann_robert": "classical", "schumann_clara": "classical", "chopin": "classical", "corelli": "classical",
    "cpebach": "classical", "handel": "classical", "schubert": "classical", "verdi": "classical",
    "weber": "classical", "beach": "classical",
    "essenFolksong": "folk", "ryansMammoth": "folk", "oneills1850": "folk", "airdsAirs": "folk",
    "miscFolk": "folk",
}
MUSIC21_CACHE_VERSION = 2  # bump when the conversion changes: cached MIDI and failure notes are redone
MUSIC21_DEFAULT = ("bach", "ryansMammoth", "oneills1850", "essenFolksong", "beethoven", "mozart", "haydn")


def music21_paths(collections: Iterable[str] = MUSIC21_DEFAULT) -> list[tuple[str, Path]]:
    """``(collection, path)`` of the music21 core-corpus files in ``collections`` (sorted)."""
    from music21 import corpus

    wanted = list(collections)
    out = []
    for p in corpus.getPaths():
        parts = Path(p).parts
        if "corpus" in parts:
            coll = parts[parts.index("corpus") + 1]
            if coll in wanted:
                out.append((coll, Path(p)))
    return sorted(out, key=lambda cp: (wanted.index(cp[0]), str(cp[1])))


def _strip_repeats(score) -> None:
    from music21 import bar, repeat

    for el in list(score.recurse().getElementsByClass((bar.Repeat, repeat.RepeatExpression))):
        site = el.activeSite
        if site is None:
            continue
        if getattr(site, "leftBarline", None) is el:
            site.leftBarline = None
        elif getattr(site, "rightBarline", None) is el:
            site.rightBarline = None
        else:
            site.remove(el)


def _unshare_signatures(score) -> None:
    """Some ABC imports put the same TimeSignature/KeySignature/Clef object in several measures, which makes
    music21's MIDI export fail ("... is already found in this Stream"); give each measure its own copy."""
    import copy

    from music21 import clef, key, meter, stream

    seen: set[int] = set()
    for m in score.recurse().getElementsByClass(stream.Measure):
        for el in list(m.getElementsByClass((meter.TimeSignature, key.KeySignature, clef.Clef))):
            if id(el) in seen:
                m.replace(el, copy.deepcopy(el))
            seen.add(id(el))


def _write_midi(score, out: Path) -> str:
    """Write ``score`` as MIDI (after unsharing signature objects); on failure retry on a fresh copy without
    repeat marks. Returns "" or the failure reason."""
    import copy

    backup = copy.deepcopy(score)
    try:
        _unshare_signatures(score)
        score.write("midi", fp=str(out))
        return ""
    except Exception as exc:  # music21 raises many kinds (StreamException, RepeatException, ...)
        first = f"{type(exc).__name__}: {exc}"
    try:
        _unshare_signatures(backup)
        _strip_repeats(backup)
        backup.write("midi", fp=str(out))
        log.info("music21: wrote %s after removing repeat marks (%s)", out.name, first)
        return ""
    except Exception as exc:
        return f"music21 write('midi') failed: {first}; without repeats: {type(exc).__name__}: {exc}"


def _convert_music21(path: Path, dest: Path) -> None:
    """Convert one corpus file (a score or an opus of many) into ``dest/NNNN.mid`` files plus failure notes
    ``dest/NNNN.fail``; ``dest/done`` marks a finished conversion."""
    import music21

    dest.mkdir(parents=True, exist_ok=True)
    try:
        parsed = music21.corpus.parse(str(path))
    except Exception as exc:
        (dest / "0000.fail").write_text(f"music21 could not parse: {type(exc).__name__}: {exc}")
        (dest / "done").write_text("")
        return
    scores = list(parsed.scores) if isinstance(parsed, music21.stream.Opus) else [parsed]
    for i, score in enumerate(scores):
        reason = _write_midi(score, dest / f"{i:04d}.mid")
        if reason:
            (dest / f"{i:04d}.fail").write_text(reason[:500])
    (dest / "done").write_text("")


def load_music21(
    collections: Iterable[str] = MUSIC21_DEFAULT, *, limit: int | None = None, skipped: Skipped | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Iterator[CorpusItem]:
    """music21's core corpus (Bach chorales, string quartets, folk collections) converted through
    music21 -> MIDI -> symusic. Conversions are cached under ``cache_dir/music21`` (default
    ``~/.cache/codeplay_nb``); works whose MIDI export fails are skipped with the reason. Genre: classical
    or folk by collection. ``limit`` counts works over all collections."""
    cache = Path(cache_dir or default_cache_dir()) / f"music21-v{MUSIC21_CACHE_VERSION}"
    n = 0
    for coll, path in music21_paths(collections):
        rel = Path(*path.parts[path.parts.index("corpus") + 1:])
        dest = cache / rel.with_suffix("")
        if not (dest / "done").exists():
            _convert_music21(path, dest)
        for f in sorted(dest.iterdir()):
            if limit is not None and n >= limit:
                return
            work = f"music21/{rel.with_suffix('').as_posix()}/{f.stem}"
            if f.suffix == ".fail":
                record_skip(skipped, "music21", work, f.read_text())
                continue
            if f.suffix != ".mid":
                continue
            piece, reason = load_piece(f)
            if piece is None:
                record_skip(skipped, "music21", work, reason)
                continue
            yield CorpusItem(piece, describe_piece(piece, genre=MUSIC21_GENRES.get(coll)), "music21", work,
                             meta={"collection": coll})
            n += 1



"""Ground truth from phone alignments: readers for EMO-DB ``lablaut`` (xlabel) files, HTS
``.lab`` files and Praat TextGrids, and the mapping of phone symbols to vowel / consonant /
pause.

Every reader returns ``[(start, end, symbol), ...]`` in seconds, sorted.  :func:`phone_class`
maps a symbol to one of :data:`CLASSES` through a table per phone alphabet
(:data:`PHONE_CLASSES`); :func:`class_intervals` turns a phone list into merged class intervals
and :func:`frame_classes` samples them at frame centres.  The mapping rules (also in
``docs/segmentation.md``):

* vowels: monophthongs, diphthongs, r-coloured / vocalised-r vowels (German ``6``, ``a6``,
  ``i6``; ARPABET ``er``), schwa; a length mark ``:`` and ARPABET stress digits are ignored.
* consonants: plosives with their closure (``_t``), burst (``!t``, ``!``) and aspiration
  (``tasp``) parts, the glottal stop ``?``, fricatives, nasals, liquids, glides and affricates,
  doubled (geminate) and lenited forms (EMO-DB ``B D G V L H R 4``), English syllabic ``el em
  en``.
* pauses: silence labels (``sil``, ``pau``, ``sp``, ``h#``, an empty label), EMO-DB's final
  ``.`` and its breath / hesitation marks ``(`` and ``(gef``, and any time no phone covers
  (before the first label, after the last).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from tympan import _validate as v
from tympan.errors import DatasetError

PAUSE, CONSONANT, VOWEL = "pause", "consonant", "vowel"
#: The three frame classes; a frame label is an index into this tuple.
CLASSES = (PAUSE, CONSONANT, VOWEL)

_GERMAN_VOWELS = """a e E i I o O u U y Y 2 9 @ 6 A 8 aI aU OY aO AO AU ao OU ia I@ e@ i@ @E @a @O
    a6 E6 e6 i6 I6 o6 O6 u6 U6 y6 Y6 26 96 @6""".split()
_GERMAN_CONSONANTS = """p b t d k g !p !b !t !d !k !g ! _p _b _t _d _k _g pasp basp tasp dasp kasp gasp
    ? f v s z S Z C x X h H j l L m n N J r R 4 B D G V ts tS dZ pf nn NN mm ss vv""".split()
_ARPABET_VOWELS = "aa ae ah ao aw ax axr ay eh er ey ih ix iy ow oy uh uw ux".split()
_ARPABET_CONSONANTS = """b ch d dh dx el em en f g hh jh k l m n ng nx p q r s sh t th v w y z zh
    pt""".split()
_IPA_VOWELS = "a e i o u y ɑ æ ɐ ɒ ɔ ə ɘ ɛ ɜ ɞ ɤ ɨ ɪ ɯ ɵ ɶ ʉ ʊ ʌ ʏ ø œ ɚ ɝ".split()  # noqa: RUF001
_IPA_CONSONANTS = """b c d f g h j k l m n p q r s t v w x z ç ð ŋ ɟ ɡ ɣ ɦ ɫ ɬ ɭ ɮ ɰ ɱ ɲ ɳ ɴ ɸ ɹ
    ɺ ɻ ɽ ɾ ʀ ʁ ʂ ʃ ʈ ʋ ʎ ʒ ʔ ʕ β θ χ""".split()  # noqa: RUF001
_SAMPA_VOWELS = "a e i o u A E I O U V Q { @ 3 6 eI aI OI aU @U I@ e@ U@ 3`".split()
_SAMPA_CONSONANTS = "p b t d k g f v T D s z S Z h m n N l r w j tS dZ x ?".split()
_PAUSES = ("", "sil", "pau", "sp", "h#", "#", "sil_", ".", "(", "(gef")


def _table(vowels, consonants) -> dict[str, str]:
    table = dict.fromkeys(_PAUSES, PAUSE)
    table.update(dict.fromkeys(consonants, CONSONANT))
    table.update(dict.fromkeys(vowels, VOWEL))
    return table


#: Symbol -> class, per alphabet: ``"emodb"`` (the German SAMPA-like symbols of EMO-DB's
#: lablaut files), ``"arpabet"`` (CMU ARCTIC / HTS and Montreal-aligner English, lower or upper
#: case, stress digits removed), ``"ipa"``, ``"sampa"`` (English SAMPA, as in praatIO's
#: example).  The alphabets disagree (SAMPA ``V`` is the vowel of "but", EMO-DB's ``V`` a lenited
#: ``v``), so a symbol is always looked up in a named table.
PHONE_CLASSES: dict[str, dict[str, str]] = {
    "emodb": _table(_GERMAN_VOWELS, _GERMAN_CONSONANTS),
    "arpabet": _table(_ARPABET_VOWELS, _ARPABET_CONSONANTS),
    "ipa": _table(_IPA_VOWELS, _IPA_CONSONANTS),
    "sampa": _table(_SAMPA_VOWELS, _SAMPA_CONSONANTS),
}
_IPA_MARKS = re.compile("[ːˑ̩̯̃ʰʷʲˈˌ\u0300-\u036f]")


def _normalise(symbol: str, alphabet: str) -> str:
    s = symbol.strip()
    if alphabet == "arpabet":
        return re.sub(r"\d+$", "", s).lower()
    if alphabet == "ipa":
        s = _IPA_MARKS.sub("", s)
        return s[0] if len(s) > 1 and all(c in PHONE_CLASSES["ipa"] for c in s) else s
    return s.rstrip(":") if len(s) > 1 else s


def phone_class(symbol: str, *, alphabet: str) -> str:
    """``"vowel"``, ``"consonant"`` or ``"pause"`` for one phone symbol of ``alphabet`` (a key of
    :data:`PHONE_CLASSES`).  An IPA diphthong or long vowel takes its first symbol's class.
    An unknown symbol raises :class:`~tympan.errors.DatasetError` naming it."""
    table = PHONE_CLASSES[v.choice("alphabet", alphabet, tuple(PHONE_CLASSES))]
    key = _normalise(symbol, alphabet)
    if key not in table:
        raise DatasetError(f"phone symbol {symbol!r} is not in the {alphabet!r} table of "
                           "tympan.segment.truth.PHONE_CLASSES")
    return table[key]


# ------------------------------------------------------------------------------- readers
def _text(path) -> tuple[Path, str]:
    p = Path(os.fspath(path))
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read alignment file '{p}': {exc.strerror or exc}") from None
    for encoding in ("utf-8", "utf-16", "latin-1"):
        try:
            return p, raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DatasetError(f"cannot decode alignment file '{p}'")  # pragma: no cover (latin-1 decodes all)


_LABLAUT_ROW = re.compile(r"^\s*(\d+(?:\.\d*)?)\s+-?\d+\s?(.*)$")
_LABLAUT_NOTE = re.compile(r"[+\-\[].*$")
# A note written without its sign in one file (``hoe`` for ``+hoe``, tense voice).
_LABLAUT_BARE_NOTES = ("hoe",)
_LABLAUT_TYPOS = {"dsap": "dasp", "gas": "gasp"}


def read_lablaut(path, *, duration: float | None = None) -> list[tuple[float, float, str]]:
    """Phones of an EMO-DB ``lablaut`` file (xlabel): ``[(start, end, symbol), ...]``.

    After the ``#`` line each row is ``TIME COLOUR LABEL [notes]``.  ``TIME`` is where the
    labelled sound **starts** (measured: in ``03a01Nc`` the ``aU`` of *auf* is voiced from the
    row at 0.630 s to the ``f`` row at 0.703 s, whose frication follows), and a segment ends
    where the next row starts.  Rows with notes only (``+sth``, ``-lar``: voice-quality marks)
    or an empty label continue the phone before them; notes glued to a symbol (``I+nas``) are
    dropped.  The last row (``.``, the final pause) ends at ``duration`` (seconds; default: it
    is left out); with ``duration`` phones are cut at it.  A file without rows gives ``[]``.
    """
    p, text = _text(path)
    lines = text.splitlines()
    try:
        body = lines[lines.index("#") + 1 :]
    except ValueError:
        raise DatasetError(f"'{p}' is not an xlabel file: no '#' line ends its header") from None
    rows: list[tuple[float, str]] = []
    for line in body:
        if not line.strip():
            continue
        m = _LABLAUT_ROW.match(line)
        if m is None:
            raise DatasetError(f"'{p}': cannot read the xlabel row {line!r}")
        token = (m[2].split() or [""])[0]
        symbol = _LABLAUT_NOTE.sub("", token)
        symbol = _LABLAUT_TYPOS.get(symbol, symbol)
        if symbol and symbol not in _LABLAUT_BARE_NOTES:
            rows.append((float(m[1]), symbol))
    limit = np.inf if duration is None else v.non_negative_number("duration", duration)
    ends = [t for t, _ in rows[1:]] + ([limit] if duration is not None else [])
    return [(t, min(end, limit), s) for (t, s), end in zip(rows, ends, strict=False)
            if min(end, limit) > t]


def read_hts_lab(path) -> list[tuple[float, float, str]]:
    """Phones of an HTS label file: rows ``START END LABEL`` in units of 100 ns; a full-context
    label (``x^sil-hh+iy=t@...``) gives its current phone (``hh``)."""
    p, text = _text(path)
    out = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3:
            raise DatasetError(f"'{p}': an HTS label row needs START END LABEL, got {line!r}")
        try:
            start, end = int(parts[0]) * 1e-7, int(parts[1]) * 1e-7
        except ValueError:
            raise DatasetError(f"'{p}': HTS times must be integers (100 ns), got {line!r}") from None
        m = re.search(r"-([^+]+)\+", parts[2])
        out.append((start, end, m[1] if m else parts[2]))
    return out


_TG_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)(?=\s|$)')
_TG_KEY = re.compile(r"^\s*[A-Za-z][\w ?:\[\]]*=")  # "xmin = ", "intervals: size = " (long format)


def read_textgrid(path, *, tier: str = "phone") -> list[tuple[float, float, str]]:
    """Intervals of the interval tier named ``tier`` of a Praat TextGrid (the long "ooTextFile"
    format and the short one alike): ``[(start, end, text), ...]``, empty texts included.

    Both formats are read as one stream of strings and numbers (the long format's ``name =``
    keys are skipped): for each tier its class, name, xmin, xmax, count, then the intervals as
    (xmin, xmax, text) triples (point tiers: (time, mark) pairs).
    """
    p, text = _text(path)
    tokens = []
    for line in text.splitlines():
        key = _TG_KEY.match(line)
        for m in _TG_TOKEN.finditer(line[key.end():] if key else line):
            tokens.append(m[1].replace('""', '"') if m[1] is not None else float(m[2]))
    names: list[str] = []
    try:
        # header: "ooTextFile" "TextGrid" xmin xmax [<exists>, not a token] number-of-tiers
        if tokens[:2] != ["ooTextFile", "TextGrid"]:
            raise ValueError
        pos = 5
        for _ in range(int(tokens[4])):
            kind, name, count = tokens[pos], tokens[pos + 1], int(tokens[pos + 4])
            names.append(name)
            pos += 5
            if name == tier and kind == "IntervalTier":
                rows = [tokens[pos + i * 3 : pos + i * 3 + 3] for i in range(count)]
                return [(float(a), float(b), str(t)) for a, b, t in rows]
            pos += (3 if kind == "IntervalTier" else 2) * count
    except (IndexError, TypeError, ValueError):
        raise DatasetError(f"'{p}' is not a TextGrid this reader understands") from None
    raise DatasetError(f"'{p}' has no interval tier named {tier!r} (tiers: {names})")


# ------------------------------------------------------------------------------- classes
def class_intervals(phones, *, alphabet: str) -> list[tuple[float, float, str]]:
    """``[(start, end, class), ...]``: each phone's class, neighbours of one class merged."""
    out: list[tuple[float, float, str]] = []
    for start, end, symbol in sorted(phones):
        label = phone_class(symbol, alphabet=alphabet)
        if out and out[-1][2] == label and abs(out[-1][1] - start) < 1e-9:
            out[-1] = (out[-1][0], end, label)
        else:
            out.append((start, end, label))
    return out


def frame_classes(intervals, *, n_frames: int, hop_sec: float) -> np.ndarray:
    """The class index (into :data:`CLASSES`) of frames centred at ``i * hop_sec``, from class
    intervals ``[(start, end, class), ...]``; a time no interval covers is a pause."""
    n_frames = int(n_frames)
    hop_sec = v.positive_number("hop_sec", hop_sec)
    out = np.zeros(n_frames, dtype=np.int64)
    times = np.arange(n_frames) * hop_sec
    for start, end, label in intervals:
        out[(times >= start) & (times < end)] = CLASSES.index(label)
    return out


# --------------------------------------------------------------------------------- corpora
#: The English fixtures of ``shared/data/phones``: (audio, alignment, reader, tier, alphabet).
ENGLISH_FIXTURES = (
    ("arctic/arctic_a0009.wav", "arctic/arctic_a0009_phone.lab", "hts", None, "arpabet"),
    ("praatio/bobby.wav", "praatio/bobby_phones.TextGrid", "textgrid", "phone", "arpabet"),
    ("praatio/mary.wav", "praatio/mary.TextGrid", "textgrid", "phone", "ipa"),
    ("praatio/damon_set_test.wav", "praatio/damon_set_test.TextGrid", "textgrid", "phons", "sampa"),
)


def emodb_alignments(root, *, speakers=None) -> list[tuple[str, Path, Path]]:
    """``[(name, wav, lablaut), ...]`` of the EMO-DB recordings under ``root`` (``wav/`` and
    ``lablaut/``) whose alignment holds at least one phone, optionally only ``speakers`` (the
    two-digit codes); sorted by name."""
    root = Path(os.fspath(root))
    out = []
    for wav in sorted((root / "wav").glob("*.wav")):
        lab = root / "lablaut" / f"{wav.stem}xx.lablaut"
        if speakers is not None and wav.stem[:2] not in speakers:
            continue
        if lab.is_file() and read_lablaut(lab):
            out.append((wav.stem, wav, lab))
    if not out:
        raise DatasetError(f"no aligned EMO-DB recordings under '{root}' (expected wav/ and lablaut/)")
    return out


def english_alignments(root) -> list[tuple[str, Path, list, str]]:
    """``[(name, wav, phones, alphabet), ...]`` of the English fixtures under ``root``
    (``shared/data/phones``)."""
    root = Path(os.fspath(root))
    out = []
    for wav, lab, kind, tier, alphabet in ENGLISH_FIXTURES:
        phones = read_hts_lab(root / lab) if kind == "hts" else read_textgrid(root / lab, tier=tier)
        out.append((Path(wav).stem, root / wav, phones, alphabet))
    return out

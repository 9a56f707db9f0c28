"""Phone alignments: EMO-DB lablaut, HTS .lab and TextGrid readers, the phone-class tables."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tympan.errors import DatasetError, ParameterError
from tympan.segment import truth


def test_lablaut_rows_start_phones(shared_data):
    phones = truth.read_lablaut(shared_data / "emodb/lablaut/03a01Ncxx.lablaut", duration=2.0)
    # "Der Lappen liegt auf dem Eisschrank": starts with the d closure, ends with the pause
    assert phones[0] == (0.07675, 0.105084, "_d")
    assert [p[2] for p in phones[:8]] == ["_d", "!d", "dasp", "E", "l", "a", "p", "!p"]
    assert phones[-1] == (1.498182, 2.0, ".")
    # a notes-only row (0.295001 "-sth") continues the p closure
    assert (0.285811, 0.339416, "p") in phones
    assert all(a < b for a, b, _ in phones)
    assert all(b1 == a2 for (_, b1, _), (a2, _, _) in itertools.pairwise(phones))


def test_lablaut_classes(shared_data):
    phones = truth.read_lablaut(shared_data / "emodb/lablaut/03a01Ncxx.lablaut", duration=2.0)
    classes = truth.class_intervals(phones, alphabet="emodb")
    assert [c for _, _, c in classes[:6]] == ["consonant", "vowel", "consonant", "vowel", "consonant",
                                               "vowel"]
    assert classes[-1] == (1.498182, 2.0, "pause")
    frames = truth.frame_classes(classes, n_frames=201, hop_sec=0.01)
    assert frames[:7].tolist() == [0] * 7  # before the first label: a pause
    assert frames[15] == 2 and frames[65] == 2  # "E" at 0.123-0.179 s, "aU" at 0.630-0.703 s
    assert frames[150:].tolist() == [0] * 51


def test_every_emodb_alignment_maps(shared_data):
    items = truth.emodb_alignments(shared_data / "emodb")
    assert len(items) > 500
    counts = np.zeros(3)
    for _, _, lab in items:
        for a, b, c in truth.class_intervals(truth.read_lablaut(lab, duration=2.0), alphabet="emodb"):
            counts[truth.CLASSES.index(c)] += b - a
    share = counts / counts.sum()
    assert 0.05 < share[0] < 0.3 and 0.35 < share[1] < 0.6 and 0.3 < share[2] < 0.5


def test_hts_lab(shared_data):
    phones = truth.read_hts_lab(shared_data / "phones/arctic/arctic_a0009_phone.lab")
    assert phones[0] == (0.0, 0.13, "sil") and phones[1][2] == "hh" and phones[2][2] == "iy"
    assert phones[-1][2] == "sil"
    classes = truth.class_intervals(phones, alphabet="arpabet")
    assert [c for *_, c in classes[:4]] == ["pause", "consonant", "vowel", "consonant"]


def test_textgrid_long_and_short_formats(shared_data):
    bobby = truth.read_textgrid(shared_data / "phones/praatio/bobby_phones.TextGrid")  # long
    assert len(bobby) == 15 and bobby[2][2] == "AA1" and bobby[0][2] == ""
    mary = truth.read_textgrid(shared_data / "phones/praatio/mary.TextGrid")  # short
    assert len(mary) == 16 and mary[2][2] == "ə" and mary[-1][1] == pytest.approx(1.869687)
    damon = truth.read_textgrid(shared_data / "phones/praatio/damon_set_test.TextGrid", tier="phons")
    assert [p[2] for p in damon[1:4]] == ["d", "eI", "m"]
    words = truth.read_textgrid(shared_data / "phones/praatio/bobby_words.TextGrid", tier="word")
    assert [w for *_, w in words if w] == ["BOBBY", "RIPPED", "THE", "LEDGER"]
    with pytest.raises(DatasetError, match=r"no interval tier named 'phone'.*word"):
        truth.read_textgrid(shared_data / "phones/praatio/bobby_words.TextGrid")


def test_every_english_fixture_maps(shared_data):
    for name, _, phones, alphabet in truth.english_alignments(shared_data / "phones"):
        classes = {c for *_, c in truth.class_intervals(phones, alphabet=alphabet)}
        assert classes == {"pause", "consonant", "vowel"}, name


@pytest.mark.parametrize(("symbol", "alphabet", "cls"), [
    ("aI", "emodb", "vowel"), ("6", "emodb", "vowel"), ("!t", "emodb", "consonant"),
    ("tasp", "emodb", "consonant"), ("V", "emodb", "consonant"), ("(gef", "emodb", "pause"),
    ("V", "sampa", "vowel"), ("AA1", "arpabet", "vowel"), ("er", "arpabet", "vowel"),
    ("sil", "arpabet", "pause"), ("œ", "ipa", "vowel"), ("θ", "ipa", "consonant"),
    ("a\u026a", "ipa", "vowel"), ("i\u02d0", "ipa", "vowel"), ("a:", "emodb", "vowel"), ("", "ipa", "pause"),
])
def test_phone_class(symbol, alphabet, cls):
    assert truth.phone_class(symbol, alphabet=alphabet) == cls


def test_unknown_symbols_and_files(tmp_path):
    with pytest.raises(DatasetError, match=r"'Q7'.*'emodb'"):
        truth.phone_class("Q7", alphabet="emodb")
    with pytest.raises(ParameterError, match="alphabet"):
        truth.phone_class("a", alphabet="klingon")
    bad = tmp_path / "x.lablaut"
    bad.write_text("signal x\n#\n  0.1 -1 a\n garbage\n")
    with pytest.raises(DatasetError, match="garbage"):
        truth.read_lablaut(bad)
    (tmp_path / "y.lablaut").write_text("no header end\n")
    with pytest.raises(DatasetError, match="xlabel"):
        truth.read_lablaut(tmp_path / "y.lablaut")
    (tmp_path / "z.TextGrid").write_text("not a textgrid")
    with pytest.raises(DatasetError, match="TextGrid"):
        truth.read_textgrid(tmp_path / "z.TextGrid")
    with pytest.raises(DatasetError, match="cannot read"):
        truth.read_hts_lab(tmp_path / "missing.lab")

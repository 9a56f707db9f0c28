"""tympan.io: bit-exact PCM round trips, codec fidelity against reference decodes, partial reads,
resampling, streaming, headers, and one clean AudioIOError per kind of bad file."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tympan import io
from tympan.dsp.metrics import align, gain_matched_snr_db, snr_db
from tympan.errors import AudioIOError, InputWarning, ParameterError, TympanError
from tympan.io import decoding
from tympan.io.decoding import BLOCK_SAMPLES, reads_directly

FSDD = "fsdd/recordings/3_jackson_0.wav"  # 8 kHz mono 16-bit, 3886 frames
EMODB = "emodb/wav/03a01Nc.wav"  # 22.05 kHz mono, 2.0 s


# --------------------------------------------------------------------------- helpers
def as_2d(y: np.ndarray) -> np.ndarray:
    return y[None, :] if y.ndim == 1 else y


def tone(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(round(sr * seconds)) / sr)


def named(path: Path | str) -> str:
    return re.escape(str(path))


# --------------------------------------------------------------------------- PCM round trips
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize(("ext", "bits"), [("wav", 16), ("wav", 24), ("wav", 32),
                                           ("flac", 16), ("flac", 24)])
def test_pcm_round_trip_is_bit_exact(tmp_path, rng, ext, bits, channels):
    codes = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(channels, 3000))
    codes[:, :2] = [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1]  # both extremes
    x = codes / 2.0 ** (bits - 1)  # exact in float64
    path = tmp_path / f"x.{ext}"
    io.save(path, x if channels > 1 else x[0], 8000, subtype=f"PCM_{bits}")
    y, sr = io.load(path, mono=False, dtype="float64")
    assert sr == 8000
    np.testing.assert_array_equal(as_2d(y) * 2.0 ** (bits - 1), codes)
    meta = io.info(path)
    assert (meta.bit_depth, meta.channels, meta.frames) == (bits, channels, 3000)


def test_float32_input_round_trips_exactly_through_pcm24(tmp_path, rng):
    codes = rng.integers(-(2**23), 2**23, size=5000)
    x = (codes / 2.0**23).astype(np.float32)  # 24-bit codes fit a float32 mantissa
    io.save(tmp_path / "x.wav", x, 16000, subtype="pcm_24")
    y, _ = io.load(tmp_path / "x.wav")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x)


def test_float16_and_pathlike_strings_are_accepted(tmp_path):
    x = np.array([0.5, -0.25, 0.125], dtype=np.float16)
    io.save(str(tmp_path / "h.wav"), x, 8000)
    y, _ = io.load(str(tmp_path / "h.wav"))
    np.testing.assert_array_equal(y, x.astype(np.float32))


def test_float_subtype_keeps_values_beyond_one(tmp_path):
    x = np.array([1.5, -2.0, 0.25], dtype=np.float32)
    io.save(tmp_path / "x.wav", x, 8000, subtype="FLOAT")
    with pytest.warns(InputWarning, match=r"x\.wav' peaks at 2, beyond \[-1, 1\]"):
        y, _ = io.load(tmp_path / "x.wav")
    np.testing.assert_array_equal(y, x)
    assert io.info(tmp_path / "x.wav").bit_depth is None


def test_save_refuses_to_clip_silently_and_clips_on_request(tmp_path):
    x = np.array([0.1, 1.5, -0.3])
    with pytest.raises(ParameterError, match=r"peaks at 1\.5"):
        io.save(tmp_path / "x.wav", x, 8000)
    assert not (tmp_path / "x.wav").exists()
    io.save(tmp_path / "x.wav", x, 8000, clip=True)
    y, _ = io.load(tmp_path / "x.wav", dtype="float64")
    assert y[1] == pytest.approx(32767 / 32768)


# --------------------------------------------------------------------------- lossy codecs
@pytest.mark.parametrize(("ext", "kw", "floor"), [
    ("mp3", {"bitrate": 128}, 58.0),  # gain-matched SNR measured 63.6 dB
    ("mp3", {"compression_level": 0.0}, 52.0),  # measured 56.8 dB
    ("ogg", {}, 40.0),  # measured 44.5 dB
    ("ogg", {"compression_level": 0.0}, 47.0),  # measured 52.7 dB
])
def test_lossy_write_read_tone(tmp_path, ext, kw, floor):
    sr = 44100
    x = np.stack([tone(440, sr, 1.0), tone(660, sr, 1.0, 0.3)])
    path = tmp_path / f"tone.{ext}"
    io.save(path, x, sr, **kw)
    y, sr2 = io.load(path, mono=False, dtype="float64")
    assert sr2 == sr and y.shape[0] == 2
    assert 0 <= y.shape[1] - x.shape[1] <= 2 * 1152  # codec padding at most
    _, r, e = align(x, y)
    assert gain_matched_snr_db(r, e) > floor
    assert np.corrcoef(r[0], e[0])[0, 1] > 0.9999
    if "bitrate" in kw:  # LAME leaves 0.45 dB of headroom at constant bitrate
        assert np.sum(r * e) / np.sum(r * r) == pytest.approx(0.95, abs=0.005)


@pytest.mark.parametrize(("kw", "floor"), [({"bitrate": 64}, 33.0),  # measured 36.8 dB
                                           ({"compression_level": 0.0}, 27.0)])  # 30.4 dB
def test_mp3_round_trip_of_real_speech(shared_data, tmp_path, kw, floor):
    x, sr = io.load(shared_data / FSDD, dtype="float64")
    io.save(tmp_path / "d.mp3", x, sr, **kw)
    y, _ = io.load(tmp_path / "d.mp3", dtype="float64")
    assert len(y) == len(x)  # the LAME header carries delay and padding
    lag, r, e = align(as_2d(x), as_2d(y))
    assert lag == 0
    assert gain_matched_snr_db(r, e) > floor


def test_mp3_bitrate_sets_file_size(tmp_path):
    x = tone(440, 44100, 2.0)
    sizes = {}
    for kbps in (64, 192):
        io.save(tmp_path / f"{kbps}.mp3", x, 44100, bitrate=kbps)
        sizes[kbps] = (tmp_path / f"{kbps}.mp3").stat().st_size * 8 / 2.0 / 1000
        assert sizes[kbps] == pytest.approx(kbps, rel=0.1)


# minimp3's MPEG conformance streams; libsndfile (mpg123) decodes all of them, but stops early on
# the layer I stream and at the first mono/stereo mode change of l3-he_mode.
MINIMP3 = ["M2L3_compl24", "M2L3_noise", "l1-fl3", "l3-compl", "l3-he_32khz", "l3-he_44khz",
           "l3-he_48khz", "l3-he_free", "l3-he_mode", "l3-hecommon",
           "l3-nonstandard-sin1k0db_lame_vbrtag"]
PARTIAL = {"l1-fl3": 18816, "l3-he_mode": 11520}  # frames libsndfile 1.2.2 decodes


@pytest.mark.parametrize("name", MINIMP3)
def test_mp3_decoding_matches_reference_decode(shared_data, name):
    bit = shared_data / "codecs" / "minimp3" / f"{name}.bit"
    y, _ = io.load(bit, mono=False, dtype="float64")  # libsndfile detects MPEG by content
    y = as_2d(y)
    pcm = np.fromfile(bit.with_suffix(".pcm"), dtype="<i2") / 32768.0
    ref = pcm.reshape(-1, y.shape[0]).T
    lag, r, e = align(ref, y)
    assert lag == 0
    assert snr_db(r, e) > 75.0  # measured 78.0-97.6 dB: the reference's 16-bit rounding
    if name in PARTIAL:
        assert y.shape[1] == PARTIAL[name] < ref.shape[1]
    else:
        assert abs(y.shape[1] - ref.shape[1]) <= 1152  # at most one MPEG frame


def test_mp3_decoding_matches_pydub_reference(shared_data):
    y, sr = io.load(shared_data / "codecs/pydub/test1.mp3", mono=False, dtype="float64")
    ref, sr_ref = io.load(shared_data / "codecs/pydub/test1.wav", mono=False, dtype="float64")
    assert sr == sr_ref == 32000 and y.shape == ref.shape == (2, 320303)
    lag, r, e = align(ref, y)
    assert lag == 0 and snr_db(r, e) > 77.0  # measured 80.4 dB


def test_flac_in_ogg_is_a_clean_error(shared_data):
    path = shared_data / "codecs/pydub/bach.ogg"
    with pytest.raises(AudioIOError, match=named(path)):
        io.load(path)


@pytest.mark.parametrize("name", ["format_test.m4a", "creative_common.mp4", "test5.webm"])
def test_unsupported_container_is_named(shared_data, name):
    path = shared_data / "codecs/pydub" / name
    with pytest.raises(AudioIOError, match=rf"{named(path)}.*(unsupported|unrecognised)"):
        io.load(path)


# --------------------------------------------------------------------------- partial reads
def test_offset_and_duration_read_only_that_part(shared_data, monkeypatch):
    path = shared_data / FSDD
    full, _ = io.load(path)
    requested = []
    real_read = sf.SoundFile.read

    def spy(self, frames=-1, **kw):
        requested.append(frames)
        return real_read(self, frames, **kw)

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    part, _ = io.load(path, offset=0.1, duration=0.05)
    assert requested == [400]
    np.testing.assert_array_equal(part, full[800:1200])
    tail, _ = io.load(os.fspath(path), offset=0.45)  # past the end of duration: up to the end
    np.testing.assert_array_equal(tail, full[3600:])


def test_offset_in_mp3_is_sample_exact(shared_data):
    path = shared_data / "codecs/pydub/test1.mp3"
    full, _ = io.load(path, mono=False)
    part, _ = io.load(path, mono=False, offset=2.0, duration=0.25)
    np.testing.assert_array_equal(part, full[:, 64000:72000])


@pytest.mark.parametrize(("kw", "name"), [
    ({"offset": -1}, "offset"), ({"offset": 10.0}, "offset"), ({"offset": "1"}, "offset"),
    ({"duration": -0.5}, "duration"), ({"sr": 0}, "sr"), ({"sr": -8000}, "sr"),
    ({"sr": 22050.5}, "sr"), ({"sr": "16k"}, "sr"), ({"dtype": "int8"}, "dtype"),
    ({"dtype": "nonsense"}, "dtype"),
])
def test_load_parameter_errors_name_the_parameter(shared_data, kw, name):
    [(_, value)] = kw.items()
    with pytest.raises(ParameterError, match=rf"{name}.*{re.escape(repr(value))}"):
        io.load(shared_data / FSDD, **kw)


def test_load_layouts_and_dtypes(tmp_path):
    x = np.stack([tone(300, 8000, 0.5), tone(500, 8000, 0.5, 0.2)])
    io.save(tmp_path / "s.wav", x, 8000, subtype="FLOAT")
    y, _ = io.load(tmp_path / "s.wav", mono=False, dtype=np.float64)
    assert y.shape == (2, 4000) and y.dtype == np.float64
    m, _ = io.load(tmp_path / "s.wav")
    assert m.shape == (4000,) and m.dtype == np.float32
    np.testing.assert_allclose(m, x.mean(axis=0), atol=1e-7)


# --------------------------------------------------------------------------- resample, to_mono
def test_resample_keeps_a_sine_at_its_frequency():
    n = 44100
    x = tone(1000, 44100, 1.0).astype(np.float32)
    y = io.resample(x, orig_sr=44100, target_sr=16000)
    assert y.dtype == np.float32 and len(y) == round(n * 16000 / 44100)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.fft.rfftfreq(len(y), 1 / 16000)[np.argmax(spectrum)] == pytest.approx(1000, abs=1)
    assert np.max(np.abs(y[100:-100])) == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("n", [44101, 12345, 7])
def test_resample_length_and_leading_axes(rng, n):
    x = rng.standard_normal((3, 2, n))
    y = io.resample(x, orig_sr=44100, target_sr=16000, quality="vhq")
    assert y.shape == (3, 2, round(n * 16000 / 44100)) and y.dtype == np.float64
    np.testing.assert_allclose(y[2, 1], io.resample(x[2, 1], orig_sr=44100, target_sr=16000,
                                                    quality="VHQ"))


def test_resample_same_rate_returns_a_copy(rng):
    x = rng.standard_normal(100).astype(np.float32)
    y = io.resample(x, orig_sr=8000, target_sr=8000)
    assert y is not x and np.array_equal(y, x)


def test_load_with_sr_equals_resample(shared_data):
    x, sr = io.load(shared_data / FSDD)
    y, sr2 = io.load(shared_data / FSDD, sr=16000)
    assert sr2 == 16000 and len(y) == 2 * len(x)
    np.testing.assert_array_equal(y, io.resample(x, orig_sr=sr, target_sr=16000))


@pytest.mark.parametrize(("kw", "name"), [
    ({"orig_sr": 0, "target_sr": 8000}, "orig_sr"),
    ({"orig_sr": 8000, "target_sr": -1}, "target_sr"),
    ({"orig_sr": 8000, "target_sr": 16000, "quality": "best"}, "quality"),
])
def test_resample_parameter_errors(kw, name):
    with pytest.raises(ParameterError, match=name):
        io.resample(np.zeros(100), **kw)


def test_resample_refuses_integer_pcm():
    with pytest.raises(ParameterError, match="floating-point"):
        io.resample(np.zeros(100, dtype=np.int16), orig_sr=8000, target_sr=16000)


def test_to_mono(rng):
    x = rng.standard_normal((2, 50)).astype(np.float32)
    m = io.to_mono(x)
    assert m.dtype == np.float32
    np.testing.assert_allclose(m, (x[0] + x[1]) / 2, rtol=1e-6)
    row = x[0]
    assert io.to_mono(row) is row
    with pytest.raises(ParameterError, match="shape"):
        io.to_mono(np.zeros((2, 2, 5)))


# --------------------------------------------------------------------------- stream
def reassemble(blocks: list[np.ndarray], hop: int) -> np.ndarray:
    return np.concatenate([b[..., :hop] for b in blocks[:-1]] + [blocks[-1]], axis=-1)


@pytest.mark.parametrize(("block", "hop"), [(1000, 1000), (1000, 300), (512, 128), (5000, 100)])
def test_stream_reassembles_to_load(shared_data, block, hop):
    path = shared_data / FSDD
    full, _ = io.load(path)
    blocks = list(io.stream(path, block_length=block, hop_length=hop))
    assert all(len(b) == block for b in blocks[:-1]) and 0 < len(blocks[-1]) <= block
    np.testing.assert_array_equal(reassemble(blocks, hop), full)
    starts = np.arange(len(blocks)) * hop
    for s, b in zip(starts, blocks, strict=True):
        np.testing.assert_array_equal(b, full[s:s + block])


def test_stream_resamples_continuously(shared_data):
    path = shared_data / EMODB
    full, _ = io.load(path, sr=16000)
    blocks = list(io.stream(path, block_length=4000, hop_length=1000, sr=16000))
    np.testing.assert_allclose(reassemble(blocks, 1000), full, atol=1e-6)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_stream_opens_the_file_once_knows_its_rate_and_closes_it(shared_data, monkeypatch):
    from tympan.io import reading

    path = shared_data / EMODB
    opened = []
    real = reading.open_audio
    monkeypatch.setattr(reading, "open_audio", lambda p: opened.append(p) or real(p))
    before = _open_fds()
    blocks = io.stream(path, block_length=4000)
    assert blocks.sr == sf.info(str(path)).samplerate and _open_fds() == before + 1
    assert io.stream(path, block_length=4000, sr=8000).sr == 8000
    assert len(opened) == 2  # one per stream: the checks and the reading share it
    assert sum(len(b) for b in blocks) == sf.info(str(path)).frames
    import gc

    gc.collect()  # the second stream, never read, is dropped: its file closes
    assert _open_fds() == before
    early = io.stream(path, block_length=4000)
    next(early)
    early.close()
    assert _open_fds() == before
    with pytest.raises(StopIteration):
        next(early)


def test_stream_stereo_offset_duration_and_fill(tmp_path):
    x = np.stack([tone(300, 8000, 1.0), tone(500, 8000, 1.0, 0.2)])
    io.save(tmp_path / "s.flac", x, 8000, subtype="PCM_24")
    full, _ = io.load(tmp_path / "s.flac", mono=False, offset=0.25, duration=0.5)
    blocks = list(io.stream(tmp_path / "s.flac", block_length=1500, mono=False, offset=0.25,
                            duration=0.5, fill_value=0.0))
    assert [b.shape for b in blocks] == [(2, 1500), (2, 1500), (2, 1500)]
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1)[:, :4000], full)
    assert not blocks[-1][:, 1000:].any()


def test_stream_hop_longer_than_block_skips(shared_data):
    full, _ = io.load(shared_data / FSDD)
    blocks = list(io.stream(shared_data / FSDD, block_length=100, hop_length=1000))
    assert len(blocks) == 4
    for i, b in enumerate(blocks):
        np.testing.assert_array_equal(b, full[i * 1000:i * 1000 + 100])


def test_stream_checks_at_call_time(tmp_path, shared_data):
    with pytest.raises(AudioIOError, match=named(tmp_path / "no.wav")):
        io.stream(tmp_path / "no.wav", block_length=10)
    with pytest.raises(ParameterError, match="hop_length"):
        io.stream(shared_data / FSDD, block_length=10, hop_length=0)
    with pytest.raises(ParameterError, match="block_length"):
        io.stream(shared_data / FSDD, block_length=2.5)
    with pytest.raises(ParameterError, match="fill_value"):
        io.stream(shared_data / FSDD, block_length=10, fill_value="zero")


@pytest.fixture(scope="module")
def stereo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "s.wav"
    x = np.random.default_rng(1).uniform(-0.9, 0.9, size=(2, 5003))
    io.save(path, x, 8000, subtype="PCM_16")
    return path, io.load(path, mono=False)[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(block=st.integers(1, 6000), data=st.data())
def test_stream_property_blocks_reassemble(stereo_file, block, data):
    path, full = stereo_file
    hop = data.draw(st.integers(1, block))
    blocks = list(io.stream(path, block_length=block, hop_length=hop, mono=False))
    np.testing.assert_array_equal(reassemble(blocks, hop), full)
    assert len(blocks) == 1 + -(-max(full.shape[1] - block, 0) // hop)


# soundfile's SoundFile.read seeks after every read, and libsndfile's MPEG seek re-positions the
# decoder (dropping the Layer III bit reservoir): streamed MP3 blocks clicked at each internal read
# (max difference to load 0.15 on l3-he_44khz, 0.0073 on the mono MP3 below).  MPEG blocks are
# read by calling libsndfile directly; every format streams exactly as it loads.
EMODB_TAKES = ["03a01Fa", "03a01Nc", "03a01Wa", "03a02Fc", "03a02Nc", "03a02Ta", "03a02Wb", "03a02Wc"]


@pytest.fixture(scope="module")
def long_files(shared_data, tmp_path_factory):
    """EMO-DB speech at 22.05 kHz in WAV, FLAC, Ogg Vorbis and MP3 written by soundfile: 16 s
    mono, and 8 s stereo (other takes in each channel): 5 internal reads each."""
    takes = [io.load(shared_data / "emodb" / "wav" / f"{t}.wav")[0] * 0.9 for t in EMODB_TAKES]
    signals = {"mono": np.concatenate(takes)[None],
               "stereo": np.stack([np.concatenate(takes[:4]), np.concatenate(takes[4:])])}
    folder = tmp_path_factory.mktemp("long")
    for (name, x), ext in itertools.product(signals.items(), ["wav", "flac", "ogg", "mp3"]):
        sf.write(folder / f"{name}.{ext}", x.T, 22050)
    return folder


@pytest.mark.parametrize("sr", [None, 16000])
@pytest.mark.parametrize(("name", "mono"), [("mono", True), ("stereo", True), ("stereo", False)])
@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_stream_equals_load_across_internal_reads(long_files, ext, name, mono, sr):
    path = long_files / f"{name}.{ext}"
    full, _ = io.load(path, mono=mono, sr=sr)
    meta = io.info(path)
    assert meta.frames * meta.channels >= 5 * BLOCK_SAMPLES
    blocks = list(io.stream(path, block_length=5000, hop_length=3000, mono=mono, sr=sr))
    np.testing.assert_allclose(reassemble(blocks, 3000), full, rtol=0, atol=1e-6)


@pytest.mark.parametrize("sr", [None, 16000])
@pytest.mark.parametrize("name", ["minimp3/l3-he_44khz.bit", "audioread/test-1.mp3"])
def test_stream_equals_load_on_mp3_conformance_vectors(shared_data, name, sr):
    path = shared_data / "codecs" / name
    with sf.SoundFile(path) as f:
        assert reads_directly(f)  # soundfile's cffi handles are still where they were
    full, _ = io.load(path, sr=sr)
    assert len(io.load(path)[0]) >= 3 * BLOCK_SAMPLES  # mono: 5 and 7 internal reads
    blocks = list(io.stream(path, block_length=4096, sr=sr))
    np.testing.assert_allclose(np.concatenate(blocks), full, rtol=0, atol=1e-6)


def test_stream_without_direct_reads_falls_back_to_soundfile(long_files, monkeypatch):
    path = long_files / "stereo.mp3"  # one where soundfile's seeks happen to be harmless
    full, _ = io.load(path, mono=False)
    assert not reads_directly(object())  # a SoundFile without the handle
    monkeypatch.setattr(decoding, "reads_directly", lambda file: False)
    blocks = list(io.stream(path, block_length=7000, mono=False))
    np.testing.assert_allclose(np.concatenate(blocks, axis=1), full, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- info
def test_info_on_fsdd(shared_data):
    meta = io.info(shared_data / FSDD)
    assert (meta.format, meta.subtype, meta.sr, meta.channels, meta.bit_depth) == (
        "WAV", "PCM_16", 8000, 1, 16)
    assert meta.frames == 3886 and meta.duration == pytest.approx(3886 / 8000)
    text = str(meta)
    assert "8000 Hz" in text and "16 bit" in text and "0.486 s" in text and FSDD in text
    with pytest.raises(AttributeError):
        meta.sr = 1  # frozen


@pytest.mark.parametrize(("name", "kw", "expect"), [
    ("a.wav", {}, ("WAV", "PCM_16", 16)),
    ("a.flac", {"subtype": "PCM_24"}, ("FLAC", "PCM_24", 24)),
    ("a.wav", {"subtype": "FLOAT"}, ("WAV", "FLOAT", None)),
    ("a.ogg", {}, ("OGG", "VORBIS", None)),
    ("a.mp3", {}, ("MP3", "MPEG_LAYER_III", None)),
    ("a.bin", {"format": "wav", "subtype": "PCM_U8"}, ("WAV", "PCM_U8", 8)),
])
def test_info_on_written_files(tmp_path, name, kw, expect):
    io.save(tmp_path / name, np.stack([tone(440, 22050, 0.5)] * 2), 22050, **kw)
    meta = io.info(tmp_path / name)
    assert (meta.format, meta.subtype, meta.bit_depth) == expect
    assert (meta.sr, meta.channels, meta.frames) == (22050, 2, 11025)


# --------------------------------------------------------------------------- bad files
def _wav_bytes(tmp_path) -> bytes:
    io.save(tmp_path / "ok.wav", tone(440, 8000, 0.5), 8000)
    return (tmp_path / "ok.wav").read_bytes()


@pytest.mark.parametrize(("make", "cause"), [
    (lambda d, b: None, "no such file"),
    (lambda d, b: b"", "empty"),
    (lambda d, b: b[:30], "corrupt|truncated"),  # cut inside the header
    (lambda d, b: b[: len(b) // 2], "truncated"),  # cut inside the data chunk
    (lambda d, b: np.random.default_rng(2).bytes(5000), "corrupt"),
    (lambda d, b: b"hello\n" * 100, "corrupt file: no valid WAV header"),
])
@pytest.mark.parametrize("func", [io.load, io.info, lambda p: io.stream(p, block_length=64)])
def test_bad_wav_files_raise_audio_io_error(tmp_path, make, cause, func):
    content = make(tmp_path, _wav_bytes(tmp_path))
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioIOError, match=rf"{named(path)}.*({cause})") as exc:
        func(path)
    assert isinstance(exc.value, TympanError) and isinstance(exc.value, OSError)


def test_directory_and_text_file(tmp_path):
    with pytest.raises(AudioIOError, match=rf"{named(tmp_path)}.*directory"):
        io.load(tmp_path)
    (tmp_path / "notes.txt").write_text("not audio\n" * 50)
    with pytest.raises(AudioIOError, match=rf"{named(tmp_path / 'notes.txt')}.*unsupported"):
        io.info(tmp_path / "notes.txt")


def test_truncated_flac_fails_when_decoding(tmp_path):
    io.save(tmp_path / "ok.flac", tone(440, 8000, 1.0) * np.hanning(8000), 8000)
    data = (tmp_path / "ok.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioIOError, match=rf"{named(tmp_path / 'cut.flac')}.*decoding failed"):
        io.load(tmp_path / "cut.flac")


def test_path_type_is_checked():
    with pytest.raises(ParameterError, match="path"):
        io.load(42)


# --------------------------------------------------------------------------- save errors
@pytest.mark.parametrize(("name", "y", "kw", "exc", "match"), [
    ("x.m4a", None, {}, AudioIOError, r"x\.m4a.*unsupported extension '\.m4a'"),
    ("x", None, {}, AudioIOError, "unsupported extension"),
    ("x.wav", np.zeros(10, np.int16), {}, ParameterError, "floating-point"),
    ("x.wav", np.zeros((100, 2)), {}, ParameterError, r"channels.*y\.T"),
    ("x.wav", np.zeros((1, 2, 3)), {}, ParameterError, "shape"),
    ("x.wav", None, {"subtype": "PCM_99"}, ParameterError, "subtype"),
    ("x.flac", None, {"subtype": "PCM_32"}, ParameterError, "subtype"),
    ("x.wav", None, {"format": "xyz"}, ParameterError, "format"),
    ("x.mp3", None, {"sr": 7000}, ParameterError, "sr"),
    ("x.mp3", None, {"bitrate": 400}, ParameterError, r"bitrate.*\[32, 320\]"),
    ("x.wav", None, {"bitrate": 128}, ParameterError, "bitrate"),
    ("x.mp3", None, {"bitrate": 128, "compression_level": 0.5}, ParameterError, "either"),
    ("x.ogg", None, {"compression_level": 1.5}, ParameterError, "compression_level"),
    ("x.wav", None, {"compression_level": 0.5}, ParameterError, "compression_level"),
    ("x.wav", np.array([0.0, np.nan]), {}, ParameterError, "finite"),
    ("x.mp3", np.zeros((3, 4410)), {}, ParameterError, "channels for MP3"),
])
def test_save_errors(tmp_path, name, y, kw, exc, match):
    sr = kw.pop("sr", 44100)
    with pytest.raises(exc, match=match):
        io.save(tmp_path / name, tone(440, sr, 0.1) if y is None else y, sr, **kw)
    assert list(tmp_path.iterdir()) == []


def test_save_to_missing_folder_or_directory(tmp_path):
    with pytest.raises(AudioIOError, match=rf"{named(tmp_path / 'no' / 'x.wav')}.*does not exist"):
        io.save(tmp_path / "no" / "x.wav", np.zeros(10), 8000)
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(AudioIOError, match="directory"):
        io.save(tmp_path / "d.wav", np.zeros(10), 8000)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "x.wav"
    io.save(str(path), tone(440, 8000, 0.1), 8000)
    before = path.read_bytes()

    def broken_write(file, data, *args, **kw):
        Path(file).write_bytes(b"RIFF half")
        raise sf.LibsndfileError(0, "disk full")

    monkeypatch.setattr(sf, "write", broken_write)
    with pytest.raises(AudioIOError, match=rf"{named(path)}.*disk full"):
        io.save(path, np.zeros(800), 8000)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]  # no temporary file left


def test_save_keeps_permissions_of_a_normal_file(tmp_path):
    io.save(tmp_path / "x.flac", np.zeros(100), 8000)
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "x.flac").stat().st_mode & 0o777 == 0o666 & ~umask


def test_reads_mpeg_stream_with_other_extension(shared_data, tmp_path):
    shutil.copy(shared_data / "codecs/minimp3/l3-compl.bit", tmp_path / "x.mp3")
    a, _ = io.load(tmp_path / "x.mp3")
    b, _ = io.load(shared_data / "codecs/minimp3/l3-compl.bit")
    np.testing.assert_array_equal(a, b)

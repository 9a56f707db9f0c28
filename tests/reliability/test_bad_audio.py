"""The bad-audio table: every damaged, forged or unusual file gives a clean AudioIOError naming the
file and the cause, or the right samples; never a traceback, a hang or an allocation beyond what
the file holds.  Each file is built here from a valid one written by soundfile."""

from __future__ import annotations

import io as pyio
import os
import re
import struct
import time
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from tympan import io
from tympan.cli.main import main
from tympan.errors import AudioIOError, InputWarning, ParameterError

SR = 8000
N = 2000  # 0.25 s


def signal(n: int = N, channels: int = 1, sr: int = SR) -> np.ndarray:
    """(n, channels) of distinct tones in (-0.5, 0.5)."""
    t = np.arange(n) / sr
    return np.stack([0.4 * np.sin(2 * np.pi * (300 + 100 * c) * t) for c in range(channels)], axis=1)


def encode(fmt: str = "WAV", subtype: str | None = None, x: np.ndarray | None = None,
           sr: int = SR) -> bytes:
    b = pyio.BytesIO()
    sf.write(b, signal() if x is None else x, sr, format=fmt, subtype=subtype)
    return b.getvalue()


def put(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    b[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    return bytes(b)


def xing(total: int) -> bytes:
    """An MP3 whose Xing frame count says ``total``."""
    b = encode("MP3")
    i = b.find(b"Xing")
    assert i > 0 and struct.unpack(">I", b[i + 4:i + 8])[0] & 1  # the frames field is present
    return put(b, i + 8, ">I", total)


def flac_total(total: int) -> bytes:
    """A FLAC whose STREAMINFO total-samples field (36 bits at byte 18) says ``total``."""
    b = bytearray(encode("FLAC"))
    v = int.from_bytes(b[18:26], "big")
    assert v & (2**36 - 1) == N
    b[18:26] = ((v & ~(2**36 - 1)) | total).to_bytes(8, "big")
    return bytes(b)


def rf64_frames(frames: int) -> bytes:
    b = encode("RF64")
    i = b.find(b"ds64")
    return put(put(b, i + 16, "<Q", frames * 2), i + 24, "<Q", frames)


def cut(fmt: str) -> bytes:
    b = encode(fmt)
    return b[: len(b) // 2]


def wav_with(x: np.ndarray, subtype: str = "FLOAT") -> bytes:
    return encode("WAV", subtype, x)


WAV = encode()
NAN = signal()
NAN[[100, 1500], 0] = [np.nan, np.inf]

# name, content, cause of load's error, what info says: a regex of its error or the frames
BAD = [
    ("empty.wav", b"", "the file is empty", "the file is empty"),
    ("random.wav", np.random.default_rng(1).bytes(5000), "no valid WAV header", "no valid WAV"),
    ("random.mp3", np.random.default_rng(2).bytes(5000), "no valid MP3 header", "no valid MP3"),
    ("random.flac", np.random.default_rng(3).bytes(5000), "no valid FLAC header", "no valid FLAC"),
    ("cut10.wav", WAV[:10], "no valid WAV header", "no valid WAV header"),
    ("cut43.wav", WAV[:43], r"holds no audio \(0 samples\)", 0),
    ("cut44.wav", WAV[:44], r"declares 2000 frames \(4000 bytes\) but the file holds 0",
     "declares 2000 frames"),
    ("zero.wav", encode(x=np.zeros((0, 1))), r"holds no audio \(0 samples\)", 0),
    ("data_big.wav", put(WAV, 40, "<I", 40000), r"declares 20000 frames \(40000 bytes\) but the "
     r"file holds 2000 \(4000 bytes\)", "declares 20000 frames"),
    ("channels0.wav", put(WAV, 22, "<H", 0), "invalid header: 0 channels", "0 channels"),
    ("channels65535.wav", put(WAV, 22, "<H", 65535), "more channels than libsndfile reads",
     "more channels"),
    ("rate0.wav", put(WAV, 24, "<I", 0), "invalid header: sample rate 0", "sample rate 0"),
    ("bits0.wav", put(WAV, 34, "<H", 0), "0 bits per sample", "0 bits per sample"),
    ("rf64_10h.rf64", rf64_frames(10 * 3600 * SR), "declares 288000000 frames but the file holds "
     "2000", "declares 288000000 frames"),
    ("rf64_cut.rf64", cut("RF64"), r"declares 2000 frames but the file holds \d+", "truncated"),
    ("flac_total.flac", flac_total(2**36 - 1), r"declares 68719476735 frames, more than a FLAC "
     r"file of \d+ bytes can hold", "declares 68719476735 frames"),
    ("flac_2x.flac", flac_total(2 * N), r"decoding failed at frame 1999, but the header declares "
     "4000 frames", 2 * N),
    ("id3_garbage.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x10" + bytes(16)
     + np.random.default_rng(4).bytes(4000), "no valid MP3 header", "no valid MP3 header"),
    ("cut.ogg", cut("OGG"), "corrupt, truncated", "corrupt, truncated"),
    ("cut.aiff", cut("AIFF"), r"declares 2000 frames \(4008 bytes\) but the file holds \d+",
     "truncated file"),
    ("cut.au", cut("AU"), r"declares 2000 frames \(4000 bytes\) but the file holds \d+",
     "truncated file"),
    ("cut.w64", cut("W64"), r"truncated file: the header declares \d+ bytes", "truncated file"),
    ("nan.wav", wav_with(NAN), r"2 non-finite sample\(s\) \(NaN/inf\), the first at sample 100 "
     r"\(0\.0125 s\)", N),
    ("huge.wav", wav_with(signal() * 1e30, "DOUBLE"), r"samples reach 4e\+29", N),
]


@pytest.mark.parametrize(("name", "content", "cause", "header"), BAD, ids=[c[0] for c in BAD])
def test_bad_file_is_a_clean_error(tmp_path, name, content, cause, header):
    path = tmp_path / name
    path.write_bytes(content)
    t0 = time.perf_counter()
    with pytest.raises(AudioIOError, match=rf"'{re.escape(str(path))}': .*{cause}"):
        io.load(path)
    with pytest.raises(AudioIOError, match=rf"{re.escape(name)}'.*{cause}"):
        list(io.stream(path, block_length=256))
    if isinstance(header, int):
        assert io.info(path).frames == header
    else:
        with pytest.raises(AudioIOError, match=rf"{re.escape(name)}'.*{header}"):
            io.info(path)
    assert time.perf_counter() - t0 < 5.0


# name, content, the frames load returns (the written signal, or its first frames)
GOOD = [
    ("riff_big.wav", put(WAV, 4, "<I", 10 * len(WAV)), N),  # the audio is all there
    ("riff_ff.wav", put(WAV, 4, "<I", 0xFFFFFFFF), N),
    ("data_ff.wav", put(WAV, 40, "<I", 0xFFFFFFFF), N),  # streaming writers: length unknown
    ("block_align0.wav", put(WAV, 32, "<H", 0), N),
    ("flac_half.flac", flac_total(N // 2), N // 2),  # the header's length is the stream's
    ("flac_unknown.flac", flac_total(0), N - 1),  # libsndfile loses the last sample
]


@pytest.mark.parametrize(("name", "content", "frames"), GOOD, ids=[c[0] for c in GOOD])
def test_tolerated_header_damage_loads_the_written_signal(tmp_path, name, content, frames):
    path = tmp_path / name
    path.write_bytes(content)
    y, sr = io.load(path, dtype="float64")
    assert sr == SR and y.shape == (frames,)
    np.testing.assert_allclose(y, signal()[:frames, 0], atol=2**-15)
    assert io.info(path).frames == frames


def peak_mib(func) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("total", [0x7FFFFFFF, 0xFFFFFFFF])
def test_forged_xing_count_decodes_what_the_file_holds(tmp_path, total):
    (tmp_path / "ok.mp3").write_bytes(encode("MP3"))
    (tmp_path / "x.mp3").write_bytes(xing(total))
    assert io.info(tmp_path / "ok.mp3").frames == N
    meta = io.info(tmp_path / "x.mp3")
    assert N <= meta.frames < N + 2 * 1152 and meta.duration < 0.6  # was 154,618,822 s
    box = {}
    assert peak_mib(lambda: box.update(y=io.load(tmp_path / "x.mp3")[0])) < 50  # was 4.5 TiB
    assert len(box["y"]) == meta.frames
    ref, _ = io.load(tmp_path / "ok.mp3")
    assert np.corrcoef(ref[1000:1900], box["y"][1000:1900])[0, 1] > 0.99  # the same audio


@pytest.mark.parametrize(("name", "content"), [
    ("flac_total.flac", flac_total(2**36 - 1)), ("flac_2x.flac", flac_total(2 * N)),
    ("rf64.rf64", rf64_frames(2**40)), ("data.wav", put(WAV, 40, "<I", 0xFFFFFFF0))])
def test_forged_lengths_allocate_nothing_big(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)

    def attempt():
        with pytest.raises(AudioIOError, match=re.escape(name)):
            io.load(tmp_path / name)

    assert peak_mib(attempt) < 50


def test_stream_stops_at_non_finite_samples_naming_their_position(tmp_path):
    x = signal(80000, 2) * 0.5
    x[70000, 1] = np.nan  # in the third block of 32768 frames
    (tmp_path / "n.wav").write_bytes(wav_with(x))
    blocks = io.stream(tmp_path / "n.wav", block_length=4000, mono=False)
    with pytest.raises(AudioIOError, match=r"n\.wav'.*1 non-finite sample.*first at sample 70000 "
                                           r"\(8\.7500 s\)"):
        list(blocks)


def test_absurd_sample_rate_loads_with_a_warning(tmp_path):
    (tmp_path / "r.wav").write_bytes(put(put(WAV, 24, "<I", 4_000_000), 28, "<I", 8_000_000))
    with pytest.warns(InputWarning, match=r"r\.wav' has a sample rate of 4000000 Hz"):
        y, sr = io.load(tmp_path / "r.wav")
    assert sr == 4_000_000 and len(y) == N
    assert io.info(tmp_path / "r.wav").sr == 4_000_000


def test_a_forged_low_rate_is_not_resampled(tmp_path):
    """A 400 kB WAV whose header says 1 Hz: resampled to 16 kHz it would be 3.2e9 samples (soxr
    crashed the process).  Loading it at its own rate still works, with the warning."""
    sf.write(tmp_path / "slow.wav", signal(200_000), 1, subtype="PCM_16")
    refused = r"slow\.wav': its sample rate of 1 Hz is outside 1000-768000 Hz .* not resampled to 16000 Hz"
    t0 = time.perf_counter()
    with pytest.raises(AudioIOError, match=refused):
        io.load(tmp_path / "slow.wav", sr=16000)
    with pytest.raises(AudioIOError, match=refused):
        io.stream(tmp_path / "slow.wav", block_length=1024, sr=16000)
    assert time.perf_counter() - t0 < 2
    with pytest.warns(InputWarning, match="sample rate of 1 Hz"):
        y, sr = io.load(tmp_path / "slow.wav")
    assert sr == 1 and len(y) == 200_000



def test_for_sr_refuses_a_forged_low_rate_without_the_rate_warning(tmp_path, recwarn):
    """Callers that read at the file's own rate and resample it themselves (load_clips, predict,
    plot, segment) refuse the rate as io.load(sr=) does, in one error naming the file; load_clips
    gets it for an Item's Path too (before for_sr: AttributeError 'PosixPath' ... 'encode')."""
    from pathlib import Path

    from tympan import data

    sf.write(tmp_path / "slow.wav", signal(2_000), 1, subtype="PCM_16")
    refused = r"slow\.wav': its sample rate of 1 Hz is outside 1000-768000 Hz .* not resampled to 8000 Hz"
    with pytest.raises(AudioIOError, match=refused):
        io.load(tmp_path / "slow.wav", for_sr=8000, offset=0.5, duration=1.0)
    with pytest.raises(AudioIOError, match=refused):
        io.stream(tmp_path / "slow.wav", block_length=1024, for_sr=8000)
    item = data.Item(path=Path(tmp_path / "slow.wav"), label="a")
    with pytest.raises(AudioIOError, match=refused):
        data.load_clips([item], sr=8000, duration=1.0, progress=False, workers=1)
    assert not [w for w in recwarn.list if "sample rate of 1 Hz" in str(w.message)]
    sf.write(tmp_path / "ok.wav", signal(8_000), 8000, subtype="PCM_16")
    ok = data.Item(path=Path(tmp_path / "ok.wav"), label="a")
    with pytest.warns(data.DatasetWarning, match=refused):
        x, kept = data.load_clips([item, ok], sr=8000, duration=1.0, progress=False, workers=1,
                                  on_error="skip")
    assert kept.tolist() == [1] and x.shape == (1, 8000)

def test_resample_refuses_an_output_soxr_cannot_hold():
    with pytest.raises(ParameterError, match=r"3 samples from 1 Hz to 1e\+09 Hz would make 3000000000 "
                                             r"per channel, more than soxr takes"):
        io.resample(np.zeros(3, np.float32), orig_sr=1, target_sr=1e9)


def test_beyond_full_scale_warns_and_silence_does_not(tmp_path, recwarn):
    (tmp_path / "loud.wav").write_bytes(wav_with(signal() * 8))
    (tmp_path / "quiet.wav").write_bytes(encode(x=np.zeros((N, 1))))
    y, _ = io.load(tmp_path / "quiet.wav")
    assert not recwarn.list and not y.any()
    with pytest.warns(InputWarning, match=r"loud\.wav' peaks at 3\.2"):
        io.load(tmp_path / "loud.wav")


def test_non_utf8_file_name(tmp_path):
    name = os.fsdecode(b"caf\xe9.flac")  # a Latin-1 name: surrogateescape in Python
    path = tmp_path / name
    path.write_bytes(encode("FLAC"))
    y, _ = io.load(path, dtype="float64")
    np.testing.assert_allclose(y, signal()[:, 0], atol=2**-15)
    assert io.info(os.fsencode(path).decode("utf-8", "surrogateescape")).frames == N
    assert "caf\\xe9.flac" in str(io.info(path))
    path.write_bytes(b"nonsense" * 100)
    with pytest.raises(AudioIOError, match=r"caf\\xe9\.flac'.*no valid FLAC header") as exc:
        io.load(path)
    str(exc.value).encode("utf-8")  # printable


@pytest.mark.parametrize(("subtype", "dtype", "scale"), [("PCM_16", "int16", 2**15),
                                                          ("PCM_24", "int32", 2**31),
                                                          ("PCM_32", "int32", 2**31)])
def test_int_dtype_returns_the_pcm_codes(tmp_path, subtype, dtype, scale):
    x = signal(N, 2)
    (tmp_path / "c.wav").write_bytes(encode("WAV", subtype, x))
    codes, sr = io.load(tmp_path / "c.wav", mono=False, dtype=dtype)
    assert codes.dtype == np.dtype(dtype) and sr == SR
    np.testing.assert_array_equal(codes, sf.read(tmp_path / "c.wav", dtype=dtype)[0].T)
    np.testing.assert_allclose(codes / scale, x.T, atol=2.0**-15)
    mono, _ = io.load(tmp_path / "c.wav", dtype=dtype)
    np.testing.assert_array_equal(mono, np.rint(codes.mean(axis=0)).astype(dtype))
    with pytest.raises(ParameterError, match=rf"sr must be None with dtype '{dtype}'.*16000"):
        io.load(tmp_path / "c.wav", dtype=dtype, sr=16000)


def test_resample_of_nothing_names_y():
    with pytest.raises(ParameterError, match=r"y must hold at least one sample.*\(0,\)"):
        io.resample(np.zeros(0, np.float32), orig_sr=8000, target_sr=16000)


@pytest.mark.parametrize(("fmt", "subtype", "atol"), [
    ("WAV", "PCM_U8", 2**-7), ("WAV", "PCM_16", 2**-15), ("WAV", "PCM_24", 2**-23),
    ("WAV", "PCM_32", 2**-31), ("WAV", "FLOAT", 1e-7), ("WAV", "DOUBLE", 0),
    ("FLAC", "PCM_24", 2**-23), ("AIFF", "PCM_16", 2**-15)])
@pytest.mark.parametrize("channels", [1, 2, 8])
def test_valid_encodings_load_the_written_signal(tmp_path, fmt, subtype, atol, channels):
    x = signal(N, channels)
    path = tmp_path / f"v.{fmt.lower()}"
    path.write_bytes(encode(fmt, subtype, x))
    y, sr = io.load(path, mono=False, dtype="float64")
    assert sr == SR
    np.testing.assert_allclose(np.atleast_2d(y), x.T, atol=atol)
    assert (io.info(path).channels, io.info(path).frames) == (channels, N)


@pytest.mark.parametrize("sr", [4000, 8000, 44100, 96000, 192000])
def test_valid_rates_load_without_warning(tmp_path, sr, recwarn):
    (tmp_path / "r.wav").write_bytes(encode(x=signal(sr // 10, sr=sr), sr=sr))
    y, got = io.load(tmp_path / "r.wav", dtype="float64")
    assert got == sr and not recwarn.list
    np.testing.assert_allclose(y, signal(sr // 10, sr=sr)[:, 0], atol=2**-15)


def test_mp3_named_wav_decodes_as_mp3(tmp_path):
    (tmp_path / "a.mp3").write_bytes(encode("MP3"))
    (tmp_path / "a.wav").write_bytes(encode("MP3"))
    np.testing.assert_array_equal(io.load(tmp_path / "a.wav")[0], io.load(tmp_path / "a.mp3")[0])
    assert io.info(tmp_path / "a.wav").format == "MP3"


CLI = [("empty.wav", b"", "empty"), ("cut44.wav", WAV[:44], "declares 2000 frames"),
       ("rate0.wav", put(WAV, 24, "<I", 0), "sample rate 0"),
       ("flac_total.flac", flac_total(2**36 - 1), "declares 68719476735 frames"),
       ("rf64_10h.rf64", rf64_frames(10 * 3600 * SR), "declares 288000000 frames"),
       ("random.flac", np.random.default_rng(3).bytes(5000), "no valid FLAC header"),
       # libsndfile probes these bytes as MPEG audio on opening: libmpg123's own notes stay quiet
       ("random.wav", np.random.default_rng(1).bytes(5000), "no valid WAV header")]


@pytest.mark.parametrize(("name", "content", "cause"), CLI, ids=[c[0] for c in CLI])
def test_cli_info_prints_one_error_line(tmp_path, capfd, name, content, cause):
    (tmp_path / name).write_bytes(content)
    assert main(["info", str(tmp_path / name)]) == 1
    out, err = capfd.readouterr()  # descriptor 2 too: what C libraries print there
    assert out == ""
    [line] = err.splitlines()
    assert re.fullmatch(rf"error: cannot read audio file '{re.escape(str(tmp_path / name))}': .*{cause}.*",
                        line)


def test_damaged_mp3_is_one_error_without_libmpg123_notes(tmp_path, capfd):
    """libmpg123 prints its resync notes to descriptor 2 from C; the error alone is reported,
    and what others write to stderr meanwhile still gets through."""
    good = encode("MP3", x=0.3 * np.sin(0.05 * np.arange(2 * SR)))
    data = bytearray(good)
    rng = np.random.default_rng(0)
    data[len(data) // 3: len(data) // 3 + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path = tmp_path / "mid.mp3"
    path.write_bytes(bytes(data))
    capfd.readouterr()
    with pytest.raises(AudioIOError, match=r"'.*mid\.mp3': decoding failed \(corrupt or truncated MPEG"):
        io.load(path)
    with pytest.raises(AudioIOError, match=r"mid\.mp3"):
        list(io.stream(path, block_length=4096))
    err = capfd.readouterr().err
    assert "libmpg123" not in err and "Note:" not in err, err
    from tympan.io.decoder_messages import mpg123_quiet

    with mpg123_quiet():
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x0 at offset 1.\nkept line\n")
    assert capfd.readouterr().err == "kept line\n"


def ogg_crc(page: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, not reflected), written out here."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def ogg_last_granule(data: bytes, granule: int) -> bytes:
    """``data`` with its last page's granule position set to ``granule``, checksum fixed."""
    b = bytearray(data)
    i = b.rfind(b"OggS")
    b[i + 6:i + 14] = struct.pack("<q", granule)
    b[i + 22:i + 26] = bytes(4)
    b[i + 22:i + 26] = struct.pack("<I", ogg_crc(bytes(b[i:])))
    return bytes(b)


TEN_S = 0.4 * np.sin(2 * np.pi * 300 * np.arange(10 * SR) / SR) * np.sin(np.arange(10 * SR) / SR)


@pytest.mark.parametrize("seconds", [2, 10])  # all audio in one page / in several
@pytest.mark.parametrize("granule", [0, 100, -1, "most"])
def test_forged_ogg_length_decodes_to_the_end_of_the_data(tmp_path, seconds, granule):
    """libsndfile stops at the last page's granule position: forged (checksum fixed) to 0, 100,
    -1 or 7/8 of the real length, it hid the audio; the pages contradict it."""
    n = seconds * SR
    good = encode("OGG", x=TEN_S[:n, None])
    (tmp_path / "ok.ogg").write_bytes(good)
    forged = ogg_last_granule(good, n * 7 // 8 if granule == "most" else granule)
    (tmp_path / "f.ogg").write_bytes(forged)
    with pytest.warns(InputWarning, match=r"f\.ogg': the granule position of its last Ogg page"):
        y, sr = io.load(tmp_path / "f.ogg")
    assert sr == SR and n <= len(y) <= n + 1024  # the encoder's padding, which the real end trims
    ref, _ = io.load(tmp_path / "ok.ogg")
    np.testing.assert_allclose(y[:n], ref, atol=1e-6)
    with pytest.warns(InputWarning):
        assert io.info(tmp_path / "f.ogg").frames == len(y)
        assert sum(len(b) for b in io.stream(tmp_path / "f.ogg", block_length=1000)) == len(y)


def test_valid_ogg_keeps_its_exact_length_without_a_warning(tmp_path, recwarn):
    (tmp_path / "ok.ogg").write_bytes(encode("OGG", x=TEN_S[:, None]))
    y, _ = io.load(tmp_path / "ok.ogg")
    assert len(y) == io.info(tmp_path / "ok.ogg").frames == len(TEN_S) and not recwarn.list


def test_ogg_last_page_failing_its_checksum_is_not_taken_for_a_forged_length(tmp_path, recwarn):
    good = encode("OGG", x=TEN_S[:, None])
    b = bytearray(ogg_last_granule(good, 100))
    b[-1] ^= 0xFF  # the page damaged: its checksum fails; libsndfile drops it, nothing is mended
    (tmp_path / "c.ogg").write_bytes(bytes(b))
    y, _ = io.load(tmp_path / "c.ogg")
    assert 0 < len(y) < len(TEN_S) and not [w for w in recwarn.list if "granule" in str(w.message)]


def test_the_ogg_length_check_reads_the_end_of_the_file_not_every_page(tmp_path):
    """20 MB of empty pages (the crafted case that took 5 s when every page was walked) and a
    valid Vorbis file: the check reads two pages' worth from the end, in milliseconds."""
    from tympan.io import ogg_pages

    page = b"OggS\x00\x00" + struct.pack("<qIII", 0, 7, 0, 0) + b"\x00"
    assert len(page) == 27  # a page of no segments
    (tmp_path / "many.ogg").write_bytes(page * 740_000)
    (tmp_path / "ok.ogg").write_bytes(encode("OGG", x=TEN_S[:, None]))
    for name in ("many.ogg", "ok.ogg"):
        fd = os.open(tmp_path / name, os.O_RDONLY)
        try:
            t0 = time.perf_counter()
            assert ogg_pages.forged_end(fd, os.fstat(fd).st_size) is None
            assert time.perf_counter() - t0 < 0.5
        finally:
            os.close(fd)


@pytest.mark.parametrize("granule", [None, 0, -1])
def test_bytes_after_the_last_ogg_page_do_not_hide_a_forged_length(tmp_path, granule, recwarn):
    """libsndfile skips bytes after the last page and takes the length from that page: forged
    (checksum fixed) to -1 it hid the audio's last pages without a word; a valid file with
    trailing bytes keeps its exact length without a warning."""
    good = encode("OGG", x=TEN_S[:, None])
    (tmp_path / "ok.ogg").write_bytes(good)
    data = good if granule is None else ogg_last_granule(good, granule)
    (tmp_path / "t.ogg").write_bytes(data + b"junk" * 10)
    y, _ = io.load(tmp_path / "t.ogg")
    said = [w for w in recwarn.list if "t.ogg': the granule position of its last Ogg page" in str(w.message)]
    ref, _ = io.load(tmp_path / "ok.ogg")
    if granule is None:
        np.testing.assert_array_equal(y, ref)
        assert not said
    else:
        assert len(said) == 1 and len(TEN_S) <= len(y) <= len(TEN_S) + 1024
        np.testing.assert_allclose(y[:len(TEN_S)], ref, atol=1e-6)

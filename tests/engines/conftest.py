"""A small corpus of real recordings (FSDD clips, a corrupt copy, a 10 s MP3 and a 44.1 kHz
stereo file) and a tiny classifier trained on FSDD once per session, for the engines' tests."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from tympan import io, pipeline

DIGITS = [f"{d}_{s}_{t}.wav" for d in range(10) for s in ("jackson", "nicolas") for t in (0,)]


@pytest.fixture(scope="session")
def fsdd(shared_data):
    return shared_data / "fsdd" / "recordings"


@pytest.fixture(scope="session")
def tiny_run(fsdd, tmp_path_factory):
    """``runs/tiny``: conv1d (filters 4, 8) on 16 log-mels of 1 s clips at 8 kHz, one epoch on 20
    FSDD clips (digits 0-9, jackson and nicolas)."""
    clips = tmp_path_factory.mktemp("engines-train")
    for name in DIGITS:
        shutil.copy(fsdd / name, clips / name)
    out = tmp_path_factory.mktemp("engines-runs") / "tiny"
    config = pipeline.PipelineConfig(audio=pipeline.AudioConfig(sr=8000, duration=1.0),
                                     model={"name": "conv1d", "filters": [4, 8]},
                                     features={"kind": "mel", "n_mels": 16},
                                     training=pipeline.TrainConfig(epochs=1))
    pipeline.train(clips, config, discovery={"labels_from": "regex", "pattern": "fsdd"}, split="group",
                   split_options={"test_groups": ["nicolas"]}, out=out, verbose=0, progress=False)
    return out


@pytest.fixture(scope="session")
def corpus(fsdd, shared_data, tmp_path_factory):
    """``(folder, names)``: 8 FSDD clips of speakers not trained on, ``corrupt.wav`` (a clip cut
    short: its header claims more samples than it holds), ``long.mp3`` (10 s, 44.1 kHz: several
    windows) and ``stereo44k.wav`` (an FSDD clip resampled to 44.1 kHz, in two channels).  Names
    in the order :func:`tympan.data.audio_files` lists them."""
    folder = tmp_path_factory.mktemp("engines-corpus")
    for name in ("0_theo_1.wav", "1_lucas_2.wav", "2_george_3.wav", "3_yweweler_4.wav",
                 "4_theo_5.wav", "5_lucas_6.wav", "6_george_7.wav", "7_yweweler_8.wav"):
        shutil.copy(fsdd / name, folder / name)
    (folder / "corrupt.wav").write_bytes((fsdd / "8_theo_0.wav").read_bytes()[:3000])
    shutil.copy(shared_data / "codecs" / "pydub" / "test1.mp3", folder / "long.mp3")
    y, sr = sf.read(fsdd / "9_lucas_1.wav", dtype="float32")
    y44 = io.resample(y, orig_sr=sr, target_sr=44100)
    sf.write(folder / "stereo44k.wav", np.stack([y44, 0.5 * y44], axis=1), 44100)
    return folder


@pytest.fixture(scope="session")
def local_preds(tiny_run, corpus, tmp_path_factory):
    """The local engine's predictions of the corpus in shards of 3 (11 inputs: 4 shards)."""
    from tympan.engines import predict_to_parquet

    out = tmp_path_factory.mktemp("engines-local") / "preds.parquet"
    summary = predict_to_parquet(tiny_run, corpus, out=out, shard_size=3, batch_size=2, progress=False)
    return out, summary


@pytest.fixture(scope="session")
def same_rows():
    """``same_rows(a, b)``: assert two lists of rows equal (see :func:`_assert_same_rows`)."""
    return _assert_same_rows


@pytest.fixture(scope="session")
def rows():
    """``rows(folder)``: the rows of a Parquet output folder, in index order."""
    def read(folder) -> list[dict]:
        import pyarrow.parquet as pq

        return sorted(pq.read_table(folder).to_pylist(), key=lambda r: r["index"])
    return read


def _assert_same_rows(a: list[dict], b: list[dict], *, atol: float = 1e-6) -> None:
    """Equal rows: every column equal, the probabilities within ``atol`` (a batch of another
    size may round the last bit differently)."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for key in x:
            if key in ("probabilities", "feature"):
                assert (x[key] is None) == (y[key] is None), (x["source"], key)
                if x[key] is not None:
                    np.testing.assert_allclose(x[key], y[key], atol=atol, err_msg=f"{x['source']} {key}")
            elif key == "probability":
                assert (x[key] is None) == (y[key] is None)
                if x[key] is not None:
                    assert abs(x[key] - y[key]) <= atol, (x["source"], key)
            elif key == "windows":
                assert [(w["start"], w["end"], w["label"]) for w in x[key]] == \
                       [(w["start"], w["end"], w["label"]) for w in y[key]]
                np.testing.assert_allclose([w["probability"] for w in x[key]],
                                           [w["probability"] for w in y[key]], atol=atol)
            else:
                assert x[key] == y[key], (x["source"], key)

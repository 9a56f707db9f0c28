"""The gather-free framing under every STFT layer: exactly the samples an index gather takes."""

import numpy as np
import pytest
from keras import ops

from tympan.layers import _ops


def _gathered(x, n_fft, hop, count):
    index = np.arange(count)[:, None] * hop + np.arange(n_fft)[None, :]
    return x[:, index]


@pytest.mark.parametrize(("n_fft", "hop"), [(256, 80), (2048, 512), (400, 160), (256, 256), (255, 100),
                                            (512, 7), (64, 100), (16, 3)])
@pytest.mark.parametrize("extra", [0, 1, 37])
def test_frames_equal_a_gather(n_fft, hop, extra):
    x = np.random.default_rng(n_fft + hop + extra).standard_normal((2, 3 * n_fft + extra))
    x = x.astype("float32")
    count = 1 + (x.shape[1] - n_fft) // hop
    got = _ops.frame_signal(ops.convert_to_tensor(x), n_fft=n_fft, hop_length=hop, count=count)
    assert np.array_equal(ops.convert_to_numpy(got), _gathered(x, n_fft, hop, count))


def test_frames_of_the_shortest_signal():
    x = np.arange(2 * 250, dtype="float32").reshape(2, 250)  # one frame of 250 with hop 100
    got = _ops.frame_signal(ops.convert_to_tensor(x), n_fft=250, hop_length=100, count=1)
    assert np.array_equal(ops.convert_to_numpy(got), x[:, None, :])

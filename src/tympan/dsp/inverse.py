"""Back to audio from spectral representations: Griffin-Lim, mel and MFCC inversion.

Only the complex STFT is invertible exactly (:func:`tympan.dsp.istft`).  A magnitude
spectrogram has lost its phase, which :func:`griffinlim` estimates by alternating projections
(the "fast" variant of Perraudin et al., as ``librosa.griffinlim``); a mel spectrogram has also
lost frequency detail, which :func:`mel_to_stft` fills in by non-negative least squares; MFCCs
have lost the fine structure of the log-mel spectrum (truncated DCT) and everything below
``top_db``.  See ``docs/features.md`` ("Inversion") for what each step costs, measured.

Parameter names and defaults mirror :func:`tympan.dsp.melspectrogram` and
:func:`tympan.dsp.mfcc`, so one dict ``p`` drives both directions:
``mel_to_audio(melspectrogram(y, **p), **p)`` and ``mfcc_to_audio(mfcc(y, **p), **p)``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import scipy.fft

from tympan import _validate as v
from tympan.dsp import filters
from tympan.dsp.frames import n_frames
from tympan.dsp.spectrum import PAD_MODES, db_to_power, istft, resolve_stft_params, stft
from tympan.errors import ParameterError

NNLS_ITERATIONS = 200  # accelerated projected-gradient steps in mel_to_stft (converged, see tests)


def _float_dtype(x: np.ndarray) -> np.dtype:
    return np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)


def _non_negative_spectrogram(name: str, S) -> np.ndarray:
    S = np.asarray(S)
    if S.ndim < 2 or np.iscomplexobj(S) or not np.issubdtype(S.dtype, np.number):
        raise ParameterError(
            f"{name} must be a real non-negative array (..., feature, frames), got {S.dtype} {S.shape}"
        )
    S = S.astype(_float_dtype(S), copy=False)
    if not np.all(np.isfinite(S)):
        raise ParameterError(f"{name} must contain only finite values")
    if S.size and S.min() < 0:
        raise ParameterError(f"{name} must be non-negative, got a minimum of {S.min()!r}")
    return S


def _rng(random_state) -> np.random.Generator | np.random.RandomState:
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    raise ParameterError(
        f"random_state must be None, an int or a numpy Generator/RandomState, got {random_state!r}"
    )


def _initial_phase(init, shape, random_state) -> np.ndarray | None:
    """Phase angles to start from, or ``None`` for zero phase."""
    if isinstance(init, str):
        v.choice("init", init, ("random", None))
        return 2 * np.pi * _rng(random_state).random(size=shape)
    if init is None:
        return None
    phase = np.asarray(init, dtype=np.float64)
    try:
        phase = np.broadcast_to(phase, shape)
    except ValueError:
        raise ParameterError(
            f"init must be 'random', None or phase angles broadcastable to {shape}, got shape {phase.shape}"
        ) from None
    if not np.all(np.isfinite(phase)):
        raise ParameterError("init phase angles must be finite")
    return phase


# ------------------------------------------------------------------------------ Griffin-Lim
def griffinlim(
    S: np.ndarray,
    *,
    n_iter: int = 32,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_fft: int | None = None,
    window="hann",
    center: bool = True,
    length: int | None = None,
    pad_mode: str = "constant",
    momentum: float = 0.99,
    init="random",
    random_state=None,
) -> np.ndarray:
    """A signal whose STFT magnitude approximates ``S`` (..., 1 + n_fft // 2, frames): fast Griffin-Lim.

    Alternates :func:`istft` and :func:`stft`, keeping the phase of each new estimate and the
    magnitude ``S``, with the momentum ``momentum`` of Perraudin et al. (2013) (0 gives the
    original Griffin-Lim), as ``librosa.griffinlim``.  ``init="random"`` draws uniform phases
    from ``random_state`` (an int seeds ``numpy.random.default_rng``; a Generator or
    RandomState is used as is); ``init=None`` starts from zero phase; an array of phase angles
    in radians (broadcastable to ``S``) starts from those.  ``length`` (if given) is enforced
    in every iteration and must give ``S``'s number of frames.  Batched over leading axes;
    float32 in, float32 out.
    """
    S = _non_negative_spectrogram("S", S)
    n_fft = 2 * (S.shape[-2] - 1) if n_fft is None else n_fft
    n_fft, hop_length, win_length = resolve_stft_params(n_fft, hop_length, win_length)
    if S.shape[-2] != 1 + n_fft // 2:
        raise ParameterError(f"S has {S.shape[-2]} bins but n_fft={n_fft} needs {1 + n_fft // 2}")
    n_iter = v.positive_int("n_iter", n_iter)
    momentum = v.non_negative_number("momentum", momentum)
    if momentum > 1:
        warnings.warn(f"Griffin-Lim with momentum={momentum} > 1 may not converge", stacklevel=2)
    v.choice("pad_mode", pad_mode, PAD_MODES)
    if length is not None:
        length = v.positive_int("length", length)
        count = n_frames(length, n_fft=n_fft, hop_length=hop_length, center=center)
        if count != S.shape[-1]:
            raise ParameterError(
                f"length={length} gives {count} frames with hop_length={hop_length}, "
                f"but S has {S.shape[-1]}"
            )
    phase = _initial_phase(init, S.shape, random_state)
    ctype = np.complex128 if S.dtype == np.float64 else np.complex64
    angles = S.astype(ctype) if phase is None else (np.exp(1j * phase) * S).astype(ctype)
    stft_kw = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                   center=center)
    eps = np.finfo(S.dtype).tiny
    fade = momentum / (1.0 + momentum)
    previous = None
    for _ in range(n_iter):
        rebuilt = stft(istft(angles, **stft_kw, length=length), **stft_kw, pad_mode=pad_mode)
        angles = rebuilt if previous is None else rebuilt - fade * previous
        angles = angles * (S / (np.abs(angles) + eps))
        previous = rebuilt
    return istft(angles, **stft_kw, length=length)


# ------------------------------------------------------------------------------------- mel
@functools.lru_cache(maxsize=16)
def _cached_mel_solver(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    """The float64 mel basis, its pseudo-inverse (the start) and ``1 / ||basis||_2 ** 2`` (the step)."""
    basis = np.array(filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
                                 norm=norm, dtype=np.float64))
    pinv = np.linalg.pinv(basis)
    step = 1.0 / np.linalg.norm(basis, 2) ** 2
    for a in (basis, pinv):
        a.setflags(write=False)
    return basis, pinv, step


def _nnls(basis, pinv, step, M) -> np.ndarray:
    """``argmin_{X >= 0} ||basis @ X - M||_F`` column by column, by accelerated projected gradient
    (FISTA) from the clipped least-squares solution.  Each frame is its own problem (the step
    and momentum do not depend on the data), so a batch gives what its items give one by one."""
    X = np.maximum(pinv @ M, 0.0)
    Y, t = X, 1.0
    for _ in range(NNLS_ITERATIONS):
        X_next = np.maximum(Y - step * (basis.T @ (basis @ Y - M)), 0.0)
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        Y = X_next + ((t - 1.0) / t_next) * (X_next - X)
        X, t = X_next, t_next
    return X


def _check_n_mels(n_mels, actual: int) -> None:
    if n_mels is not None and v.positive_int("n_mels", n_mels) != actual:
        raise ParameterError(f"n_mels={n_mels} does not match the input's {actual} mel bands")


def mel_to_stft(
    M: np.ndarray,
    *,
    sr: float = 22050,
    n_fft: int = 2048,
    power: float = 2.0,
    n_mels: int | None = None,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Magnitude spectrogram ``(..., 1 + n_fft // 2, frames)`` whose mel projection matches ``M``.

    ``M`` is a mel spectrogram ``(..., n_mels, frames)`` of ``|STFT| ** power`` (as
    :func:`tympan.dsp.melspectrogram` makes with the same ``sr``, ``n_fft``, ``fmin``, ``fmax``,
    ``htk`` and ``norm``, the mel filterbank's normalisation).  Each frame is solved by
    non-negative least squares against the mel filterbank, then raised to ``1 / power``.  The
    solver (accelerated projected gradient, 200 steps from the clipped pseudo-inverse solution)
    fits ``M`` more closely than librosa's L-BFGS, which stops near its starting point.
    ``n_mels``, if given, must equal ``M.shape[-2]``.
    """
    M = _non_negative_spectrogram("M", M)
    _check_n_mels(n_mels, M.shape[-2])
    power = v.positive_number("power", power)
    filters.mel(sr=sr, n_fft=n_fft, n_mels=M.shape[-2], fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    basis, pinv, step = _cached_mel_solver(float(sr), int(n_fft), M.shape[-2], float(fmin),
                                           None if fmax is None else float(fmax), bool(htk), norm)
    *lead, mels, frames = M.shape
    # every frame of every example is one column: (n_mels, batch * frames)
    columns = np.moveaxis(M.astype(np.float64).reshape(-1, mels, frames), 0, 1).reshape(mels, -1)
    X = _nnls(basis, pinv, step, columns)
    X = np.moveaxis(X.reshape(X.shape[0], -1, frames), 1, 0).reshape(*lead, X.shape[0], frames)
    return np.power(X, 1.0 / power).astype(M.dtype, copy=False)


def mel_to_audio(
    M: np.ndarray,
    *,
    sr: float = 22050,
    n_fft: int = 2048,
    hop_length: int | None = 512,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    n_mels: int | None = None,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
    n_iter: int = 32,
    length: int | None = None,
    momentum: float = 0.99,
    init="random",
    random_state=None,
) -> np.ndarray:
    """Audio ``(..., samples)`` from a mel spectrogram: :func:`mel_to_stft` then :func:`griffinlim`.

    Takes every parameter of :func:`tympan.dsp.melspectrogram` with its default (``hop_length``
    512 as there; ``None`` means ``win_length // 4``), plus Griffin-Lim's ``n_iter``,
    ``length``, ``momentum``, ``init`` and ``random_state``.
    """
    S = mel_to_stft(M, sr=sr, n_fft=n_fft, power=power, n_mels=n_mels, fmin=fmin, fmax=fmax,
                    htk=htk, norm=norm)
    return griffinlim(S, n_iter=n_iter, hop_length=hop_length, win_length=win_length, n_fft=n_fft,
                      window=window, center=center, length=length, pad_mode=pad_mode,
                      momentum=momentum, init=init, random_state=random_state)


# ------------------------------------------------------------------------------------ MFCC
def mfcc_to_mel(
    mfcc: np.ndarray,
    *,
    n_mels: int = 128,
    dct_type: int = 2,
    norm: str | None = "ortho",
    ref: float = 1.0,
    lifter: float = 0,
    top_db: float | None = 80.0,
    n_mfcc: int | None = None,
) -> np.ndarray:
    """Mel power spectrogram ``(..., n_mels, frames)`` from MFCCs ``(..., n_mfcc, frames)``.

    Undoes the liftering, applies the inverse DCT-II (``norm`` is the DCT's, as in
    :func:`tympan.dsp.mfcc`; the missing coefficients are zeros, so the log-mel comes back
    smoothed), clips the result ``top_db`` below each example's peak as the forward transform
    did, and converts from dB with ``ref``.  ``n_mfcc``, if given, must equal
    ``mfcc.shape[-2]``.
    """
    C = np.asarray(mfcc)
    if C.ndim < 2 or np.iscomplexobj(C) or not np.issubdtype(C.dtype, np.number):
        raise ParameterError(f"mfcc must be a real array (..., n_mfcc, frames), got {C.dtype} {C.shape}")
    if dct_type != 2:
        raise ParameterError(f"dct_type must be 2 (DCT-II), got {dct_type!r}")
    if n_mfcc is not None and v.positive_int("n_mfcc", n_mfcc) != C.shape[-2]:
        raise ParameterError(f"n_mfcc={n_mfcc} does not match the input's {C.shape[-2]} coefficients")
    filters.dct(C.shape[-2], n_mels, norm=norm)  # validates n_mels, n_mfcc <= n_mels and norm
    ref = v.positive_number("ref", ref)
    dtype = _float_dtype(C)
    C = C.astype(np.float64)
    if lifter:
        weights = filters.lifter_weights(C.shape[-2], v.positive_number("lifter", lifter), dtype=np.float64)
        if np.any(np.abs(weights) < np.finfo(np.float64).eps):
            raise ParameterError(f"lifter={lifter} has a zero weight: liftering cannot be undone")
        C = C / weights[:, None]
    log_mel = scipy.fft.idct(C, type=2, n=n_mels, axis=-2, norm=norm)
    if top_db is not None:
        top_db = v.non_negative_number("top_db", top_db)
        np.maximum(log_mel, log_mel.max(axis=(-2, -1), keepdims=True) - top_db, out=log_mel)
    return db_to_power(log_mel, ref=ref).astype(dtype, copy=False)


def mfcc_to_audio(
    mfcc: np.ndarray,
    *,
    sr: float = 22050,
    n_mfcc: int | None = None,
    dct_type: int = 2,
    norm: str | None = "ortho",
    lifter: float = 0,
    top_db: float | None = 80.0,
    ref: float = 1.0,
    mel_norm: str | None = "slaney",
    n_mels: int = 128,
    n_fft: int = 2048,
    hop_length: int | None = 512,
    win_length: int | None = None,
    window="hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    n_iter: int = 32,
    length: int | None = None,
    momentum: float = 0.99,
    init="random",
    random_state=None,
) -> np.ndarray:
    """Audio ``(..., samples)`` from MFCCs: :func:`mfcc_to_mel` then :func:`mel_to_audio`.

    Takes every parameter of :func:`tympan.dsp.mfcc` (``norm`` the DCT's, ``mel_norm`` the mel
    filterbank's, and its mel keywords) with the same defaults, plus Griffin-Lim's.
    """
    M = mfcc_to_mel(mfcc, n_mels=n_mels, dct_type=dct_type, norm=norm, ref=ref, lifter=lifter,
                    top_db=top_db, n_mfcc=n_mfcc)
    return mel_to_audio(M, sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                        window=window, center=center, pad_mode=pad_mode, power=power, fmin=fmin,
                        fmax=fmax, htk=htk, norm=mel_norm, n_iter=n_iter, length=length,
                        momentum=momentum, init=init, random_state=random_state)

"""Letterboxing frames into a batch and mapping boxes back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.detection.preprocess import (
    PAD_VALUE,
    Letterboxer,
    letterbox_batch,
    letterbox_geometry,
)
from gridsight.core.errors import DataError


def _frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_geometry_of_a_wide_frame() -> None:
    info = letterbox_geometry((360, 640), (640, 640))
    assert info.scale == 1.0
    assert info.resized == (360, 640)
    assert info.pad == (0, 140)


def test_batch_layout_colour_order_and_padding() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[..., 0] = 10  # blue
    frame[..., 2] = 250  # red
    batch, (info,) = letterbox_batch([frame], (64, 64))
    assert batch.shape == (1, 3, 64, 64) and batch.dtype == np.float32
    assert info.resized == (32, 64) and info.pad == (0, 16)
    inside = batch[0, :, 16:48, :]
    np.testing.assert_allclose(inside[0], 250 / 255, atol=1e-6)  # channel 0 is red (RGB)
    np.testing.assert_allclose(inside[2], 10 / 255, atol=1e-6)
    np.testing.assert_allclose(batch[0, :, :16], PAD_VALUE / 255, atol=1e-6)
    np.testing.assert_allclose(batch[0, :, 48:], PAD_VALUE / 255, atol=1e-6)


def test_frames_of_different_sizes_in_one_batch() -> None:
    frames = [_frame(360, 640, 1), _frame(480, 480, 2), _frame(50, 300, 3)]
    batch, infos = letterbox_batch(frames, (160, 160))
    assert batch.shape == (3, 3, 160, 160)
    for i, (frame, info) in enumerate(zip(frames, infos, strict=True)):
        h, w = info.resized
        left, top = info.pad
        expected = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)[..., ::-1]
        got = batch[i, :, top : top + h, left : left + w].transpose(1, 2, 0) * 255
        np.testing.assert_allclose(got, expected, atol=1e-3)


def test_reused_buffers_leave_no_stale_pixels() -> None:
    lb = Letterboxer((96, 96))
    lb([_frame(96, 96, 1), _frame(96, 96, 2)])  # fills the whole canvas with image
    reused, _ = lb([_frame(40, 96, 3), _frame(96, 30, 4)], copy=True)
    fresh, _ = letterbox_batch([_frame(40, 96, 3), _frame(96, 30, 4)], (96, 96))
    np.testing.assert_array_equal(reused, fresh)
    again, _ = lb([_frame(40, 96, 5), _frame(96, 30, 6)])  # same placement: padding kept
    np.testing.assert_array_equal(
        again, letterbox_batch([_frame(40, 96, 5), _frame(96, 30, 6)], (96, 96))[0]
    )


def test_grayscale_and_bgra_are_accepted_bad_input_is_not() -> None:
    gray = np.full((20, 20), 77, np.uint8)
    bgra = np.full((20, 20, 4), 77, np.uint8)
    a, _ = letterbox_batch([gray, bgra], (20, 20))
    np.testing.assert_allclose(a, 77 / 255, atol=1e-6)
    with pytest.raises(DataError, match="frame 0: expected a uint8"):
        letterbox_batch([np.zeros((10, 10, 3), np.float32)], (32, 32))
    with pytest.raises(DataError, match=r"frame 1: expected shape \(h, w, 3\)"):
        letterbox_batch([gray, np.zeros((10, 10, 2), np.uint8)], (32, 32))
    with pytest.raises(DataError, match="non-empty"):
        letterbox_batch([np.zeros((0, 10, 3), np.uint8)], (32, 32))
    assert letterbox_batch([], (32, 32))[0].shape == (0, 3, 32, 32)


sizes = st.integers(min_value=1, max_value=2000)


@settings(max_examples=200, deadline=None)
@given(
    h=sizes,
    w=sizes,
    h_in=st.integers(16, 1024),
    w_in=st.integers(16, 1024),
    fx=st.lists(st.floats(0, 1), min_size=4, max_size=4),
)
def test_box_round_trip_is_exact(h: int, w: int, h_in: int, w_in: int, fx: list[float]) -> None:
    info = letterbox_geometry((h, w), (h_in, w_in))
    new_h, new_w = info.resized
    left, top = info.pad
    assert 1 <= new_h <= h_in and 1 <= new_w <= w_in
    assert left >= 0 and left + new_w <= w_in and top >= 0 and top + new_h <= h_in
    # The image fills the input along at least one axis.
    assert new_h == h_in or new_w == w_in
    x1, x2 = sorted((fx[0] * w, fx[1] * w))
    y1, y2 = sorted((fx[2] * h, fx[3] * h))
    box = np.array([[x1, y1, x2, y2]])
    back = info.to_original(info.to_input(box))
    np.testing.assert_allclose(back, box, rtol=1e-6, atol=1e-3)  # float32 output
    # Input-space boxes land inside the resized image area.
    inp = info.to_input(box)[0]
    assert left - 1e-6 <= inp[0] <= inp[2] <= left + new_w + 1e-6
    assert top - 1e-6 <= inp[1] <= inp[3] <= top + new_h + 1e-6


@settings(max_examples=50, deadline=None)
@given(h=st.integers(2, 400), w=st.integers(2, 400))
def test_mapping_matches_the_pixels(h: int, w: int) -> None:
    """A bright rectangle in the frame shows up where ``to_input`` says it does."""
    frame = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = w // 4, h // 4, max(w // 4 + 1, 3 * w // 4), max(h // 4 + 1, 3 * h // 4)
    frame[y1:y2, x1:x2] = 255
    size = (128, 96)
    batch, (info,) = letterbox_batch([frame], size)
    ex1, ey1, ex2, ey2 = info.to_input(np.array([[x1, y1, x2, y2]], float))[0]
    bright = batch[0, 0] > 0.5
    ys, xs = np.nonzero(bright)
    if ys.size == 0:  # a rectangle thinner than a resized pixel may vanish
        assert min(ex2 - ex1, ey2 - ey1) < 2
        return
    sx, sy = info.scale_xy
    tol_x, tol_y = 1.5 + 1 / sx, 1.5 + 1 / sy  # bilinear blur of one source pixel
    assert abs(xs.min() - ex1) <= max(tol_x, 1.5) and abs(xs.max() + 1 - ex2) <= max(tol_x, 1.5)
    assert abs(ys.min() - ey1) <= max(tol_y, 1.5) and abs(ys.max() + 1 - ey2) <= max(tol_y, 1.5)


def test_boxes_are_clipped_to_the_frame() -> None:
    info = letterbox_geometry((100, 200), (64, 64))
    out = info.to_original(np.array([[-10.0, -10.0, 80.0, 80.0]]))
    assert out.tolist() == [[0.0, 0.0, 200.0, 100.0]]
    unclipped = info.to_original(np.array([[-10.0, -10.0, 80.0, 80.0]]), clip=False)
    assert unclipped[0, 0] < 0 and unclipped[0, 2] > 200

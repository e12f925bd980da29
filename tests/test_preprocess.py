"""The Python half of the preprocessing contract, checked against TensorFlow's own ops."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk import preprocess


@pytest.mark.parametrize(
    "src,dst", [((7, 5), (3, 4)), ((4, 4), (9, 11)), ((32, 24), (16, 16)), ((5, 9), (5, 9))]
)
def test_resize_matches_tf_bilinear_half_pixel(src, dst):
    from edgesdk._tf import tf

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, src + (3,)).astype(np.float32)
    ours = preprocess.resize_bilinear(img, *dst)
    theirs = tf().image.resize(img[None], dst, method="bilinear", antialias=False).numpy()[0]
    assert ours.shape == dst + (3,)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_resize_same_size_is_identity_and_gray_2d():
    img = np.arange(20, dtype=np.uint8).reshape(4, 5)
    out = preprocess.resize_bilinear(img, 4, 5)
    assert out.dtype == np.float32 and np.array_equal(out, img.astype(np.float32))


def test_quantize_rounds_half_up_and_clamps():
    q = preprocess.quantize(
        np.array([0.5, 1.5, -0.5, 1000.0, -1000.0], np.float32), 1.0, 0, np.int8
    )
    assert q.tolist() == [1, 2, 0, 127, -128]
    u = preprocess.quantize(np.array([0.0, 1.0], np.float32), 0.5, 10, np.uint8)
    assert u.tolist() == [10, 12]


def test_dequantize_and_top_k_ties_go_to_lower_index():
    d = preprocess.dequantize(np.array([-128, 0, 127], np.int8), 0.5, -128)
    assert d.tolist() == [0.0, 64.0, 127.5]
    assert preprocess.top_k(np.array([0.1, 0.7, 0.7, 0.2]), 3) == [
        (1, pytest.approx(0.7)),
        (2, pytest.approx(0.7)),
        (3, pytest.approx(0.2)),
    ]


def test_prepare_input_normalizes_per_channel():
    px = np.full((2, 2, 3), 255, np.uint8)
    x = preprocess.prepare_input(px, height=2, width=2, mean=(0, 127.5, 255), std=(255, 127.5, 1))
    assert np.allclose(x[0, 0], [1.0, 1.0, 0.0])

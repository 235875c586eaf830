from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from kiln.simulator.noise import ar1, keys_of, lag, normal, stable_key, uniform


def test_random_numbers_depend_only_on_key_and_index() -> None:
    keys = keys_of([stable_key(1, "a"), stable_key(1, "b")])
    whole = normal(keys, np.arange(100, 200))
    part = normal(keys[1:], np.arange(150, 160))
    np.testing.assert_array_equal(whole[1, 50:60], part[0])
    assert not np.array_equal(whole[0], whole[1])


def test_normals_look_normal_and_uniforms_uniform() -> None:
    keys = keys_of([stable_key("n")])
    z = normal(keys, np.arange(200_000))[0]
    assert abs(z.mean()) < 0.01
    assert abs(z.std() - 1.0) < 0.01
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.01
    u = uniform(keys, np.arange(200_000))[0]
    assert u.min() >= 0.0
    assert u.max() < 1.0
    assert np.histogram(u, bins=10)[0].min() > 19_000


@given(cut=st.integers(1, 499), phi=st.floats(0.0, 0.999))
def test_filters_cut_anywhere_give_the_same_values(cut: int, phi: float) -> None:
    e = normal(keys_of([7, 8]), np.arange(500))
    prev = np.array([0.3, -1.0])
    for fn in (ar1, lag):
        whole, last = fn(e, phi, prev)
        a, mid = fn(e[:, :cut], phi, prev)
        b, end = fn(e[:, cut:], phi, mid)
        np.testing.assert_array_equal(whole, np.concatenate([a, b], axis=1))
        np.testing.assert_array_equal(last, end)


def test_ar1_noise_keeps_unit_variance() -> None:
    e = normal(keys_of([1]), np.arange(100_000))
    x, _ = ar1(e, 0.9, np.zeros(1))
    assert abs(x.std() - 1.0) < 0.05
    assert abs(np.corrcoef(x[0, :-1], x[0, 1:])[0, 1] - 0.9) < 0.01

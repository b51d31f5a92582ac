"""Component data: JSON and float32 weights in one bytes value, which Streamlit passes on untouched."""
import numpy as np
import pytest

from ui.component_data import HEADER, component_data, unpack


@pytest.mark.parametrize("text", ["", "é", "abc", "abcd"])
def test_payload_and_weights_round_trip_with_the_weights_aligned(text):
    weights = np.arange(7, dtype="<f4").tobytes()
    data = component_data({"t": text, "n": [1, 2.5, None]}, weights)
    payload, blob = unpack(data)
    assert payload == {"t": text, "n": [1, 2.5, None]}
    assert np.array_equal(np.frombuffer(blob, "<f4"), np.arange(7, dtype="<f4"))
    assert (len(data) - len(weights)) % 4 == 0  # the weights start on a float32 boundary
    n_text, n_blob = HEADER.unpack_from(data)
    assert n_blob == len(weights) and n_text <= len(data) - HEADER.size - n_blob


def test_without_weights_and_refusals():
    assert unpack(component_data({"a": 1})) == ({"a": 1}, b"")
    with pytest.raises(ValueError, match="float32"):
        component_data({}, b"abc")
    with pytest.raises(ValueError):
        component_data({"x": float("nan")})

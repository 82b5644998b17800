"""Ports' positions and the usual sailing time between two of them."""

from __future__ import annotations

import pytest

from pipeline.reference.ports import great_circle_nm, ports, usual_sailing_hours


def test_the_bundled_table_knows_the_main_ports_and_port_cities() -> None:
    known = ports()
    assert len(known) > 20_000
    for code in ("NLRTM", "SGSIN", "USLAX", "DEHAM", "CNSGH", "CNNGB"):
        assert code in known, code


def test_great_circle_of_a_known_pair() -> None:
    # Rotterdam to Singapore is about 5,600 nautical miles along the great circle.
    distance = great_circle_nm(ports()["NLRTM"], ports()["SGSIN"])
    assert 5_500 < distance < 5_750


def test_sailing_time_is_a_lower_bound_of_the_real_voyage() -> None:
    # Ningbo to Hamburg takes about 30 days by sea; the estimate must not be longer.
    hours = usual_sailing_hours("CNNGB", "DEHAM")
    assert hours is not None
    assert 8 * 24 < hours < 30 * 24


def test_sailing_time_ignores_case_and_is_symmetric() -> None:
    assert usual_sailing_hours("nlrtm", "sgsin") == usual_sailing_hours("SGSIN", "NLRTM")


@pytest.mark.parametrize("pair", [("ZZZZZ", "NLRTM"), ("NLRTM", "XXXXX"), ("", "NLRTM")])
def test_an_unknown_port_gives_no_estimate(pair: tuple[str, str]) -> None:
    assert usual_sailing_hours(*pair) is None

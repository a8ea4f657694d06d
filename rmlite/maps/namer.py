"""Pronounceable, unique station names in several language flavours (with accented letters).

Names are built from hand-picked roots, endings and two-word patterns per flavour, so they read like real
stations ("Grønåsen", "Place Verte", "Nowa Wola", "Kőhalom"). Every name is checked to be unambiguous under
BOTH rmlite's `normalize_station` and `rewardmap_clean` (the released RewardMap's clean-up), and to avoid text that
either normaliser strips or rewrites (Station, Metro, Road, Univ, Tech, brackets, "--", ":", "*", ",", "'").
Left out: real place names and transliteration (no CJK; the bundled DejaVu font has no CJK glyphs).

>>> gen = StationNamer(random.Random(0), flavours=("norwegian",))
>>> names = [gen.next() for _ in range(3)]
>>> len(set(names)) == 3
True
"""

from __future__ import annotations

import random
import re

from rmlite.names import normalize_station, rewardmap_clean

# flavour -> (roots, endings, prefix words "X …", suffix words "… X"). Roots take an ending or a word.
_FLAVOURS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "norwegian": (
        ("Bjør", "Sol", "Grøn", "Kval", "Tå", "Ask", "Elv", "Fjell", "Hol", "Lin", "Rød", "Skå", "Ves", "Ulle",
         "Sand", "Lille", "Stor", "Fur", "Hauke", "Kjel", "Mor", "Nord", "Øst", "Vest", "Ris", "Berg", "Lind", "Hov",
         "Torg", "Bryn", "Grefsen", "Kjøl", "Lyse", "Mølle", "Sjø", "Strand", "Tveit", "Ekeli", "Fager", "Gjøl"),
        ("åsen", "dalen", "by", "vik", "heim", "stad", "løkka", "rud", "berg", "haugen", "myra", "øy", "vollen",
         "kollen", "bakken", "skogen", "sletta", "tun", "lia", "moen", "nes", "sund", "vang", "jordet"),
        ("Nedre", "Øvre", "Lille", "Store", "Nye"),
        ("torg", "park", "brygge", "sentrum", "hageby"),
    ),
    "french": (
        ("Mont", "Belle", "Beau", "Ver", "Chambre", "Bois", "Champ", "Clair", "Ro", "Vau", "Mar", "Font", "Lan",
         "Cour", "Bel", "Val", "Pré", "Roche", "Grand", "Mé", "Ber", "Sé", "Cha", "Gen", "Lu", "Pon", "Vil", "Fleu"),
        ("ville", "court", "mont", "fontaine", "château", "lieu", "val", "champ", "bois", "vière", "mare", "ière",
         "elle", "ette", "ançon", "igny", "ère", "ois", "ard", "eau"),
        ("Place", "Pont", "Porte", "Rue", "Quai", "Gare", "Parc", "Clos", "Champs"),
        ("Verte", "Neuve", "Blanche", "Royale", "Fleurie", "Haute", "Basse", "du Lac", "des Prés", "Marché",
         "Saint Éloi", "du Moulin", "Française"),
    ),
    "hungarian": (
        ("Kő", "Szél", "Nagy", "Kis", "Vár", "Hegy", "Fő", "Új", "Ó", "Rét", "Szent", "Tölgy", "Nyír", "Hárs",
         "Zugló", "Ker", "Bük", "Cser", "Füz", "Somos", "Pest", "Buda", "Rákos", "Sas", "Gyöngy", "Dió", "Kút"),
        ("falva", "halom", "liget", "völgy", "hegy", "vár", "kert", "rét", "lak", "szög", "telep", "patak", "újhely",
         "hát", "sziget", "mező", "kút", "domb", "erdő", "part"),
        ("Alsó", "Felső", "Kis", "Nagy", "Újpesti", "Óbudai"),
        ("tér", "körút", "kapu", "piac", "park", "sétány"),
    ),
    "portuguese": (
        ("Alfa", "Campo", "Bela", "Vila", "Ribeira", "Serra", "Alto", "Monte", "Rio", "Ponte", "Olival", "Pinhal",
         "Carva", "Ameix", "Lou", "Sacav", "Brandoa", "Tojal", "Cabo", "Gra", "Sal", "Marv", "Ola", "Fonte"),
        ("ão", "eira", "ança", "inha", "ães", "elo", "ada", "osa", "al", "ense", "ico", "alva", "ura", "eiro"),
        ("São", "Vila", "Praça", "Campo", "Alto", "Quinta", "Largo", "Cais"),
        ("Nova", "Grande", "Velha", "das Flores", "do Sol", "da Luz", "do Mar", "Verde", "Alegre", "da Conceição"),
    ),
    "italian": (
        ("Porta", "Monte", "Vigna", "Castel", "Borgo", "Colle", "Prato", "Ponte", "Valle", "Casal", "Tor", "Fonte",
         "Santa", "Lun", "Mar", "Ros", "Trev", "Cer", "Fior", "Gian", "Quar", "Bel"),
        ("ino", "ella", "ano", "etto", "ona", "ese", "ara", "iccio", "ola", "aro", "ignano", "ello", "ate", "uzzo"),
        ("Porta", "San", "Piazza", "Ponte", "Largo", "Villa", "Monte", "Viale"),
        ("Nuova", "Vecchia", "Grande", "Fiorita", "del Mare", "dei Fiori", "Alta", "Bassa", "Verde", "Città"),
    ),
    "polish": (
        ("Wol", "Łęk", "Gór", "Brzoz", "Dąb", "Sosn", "Lip", "Krak", "Żab", "Młyn", "Ogród", "Słon", "Kaz", "Bial",
         "Zielon", "Rąb", "Piask", "Bród", "Choj", "Jeż", "Grab", "Olsz", "Wierzb", "Łąk"),
        ("ów", "ice", "owo", "ek", "ina", "any", "ówka", "isko", "owice", "ewo", "ki", "ole", "nica", "ąg"),
        ("Nowa", "Stara", "Nowe", "Stare", "Wielka", "Mała", "Dolna", "Górna"),
        ("Wola", "Brama", "Rynek", "Polana", "Zdrój", "Las", "Most", "Błonie"),
    ),
    "english": (
        ("Ash", "Brook", "Kings", "Mill", "Elm", "Oak", "Holly", "Fair", "Hazel", "Stone", "Marsh", "Wick", "Lang",
         "Red", "Black", "Castle", "Chester", "Daven", "Ever", "Fern", "Glen", "Hamp", "Kent", "Lark", "Nor", "Wes"),
        ("field", "wood", "ton", "ley", "bury", "ham", "ford", "bridge", "well", "mead", "dale", "gate", "hurst",
         "worth", "combe", "stead", "moor", "by"),
        ("North", "South", "East", "West", "Upper", "Lower", "Old", "New", "Great"),
        ("Park", "Hill", "Green", "Cross", "Square", "Common", "Quay", "Heath", "Junction", "Gardens", "Lane"),
    ),
}
FLAVOURS: tuple[str, ...] = tuple(_FLAVOURS)

# Text that a normaliser strips or rewrites (case-insensitive substrings), plus characters it drops.
_FORBIDDEN = re.compile(r"station|metro|road|univ|tech|asian games|--|[:()\[\]{}（）*,'\u2019]", re.IGNORECASE)


def is_clean_name(name: str) -> bool:
    """True when `name` contains nothing that a station normaliser would strip or rewrite.

    >>> is_clean_name("Place Verte"), is_clean_name("Roadside"), is_clean_name("Pont-d'Arve")
    (True, False, False)
    """
    return bool(name.strip()) and not _FORBIDDEN.search(name)


_VOWELS = set("aeiouyåæøéèêëáíóöőúüűãõàìòâôîœ")


def _join(root: str, ending: str) -> str:
    """Glue root and ending, eliding a vowel clash as speech does ("Belle" + "ette" → "Bellette").

    >>> _join("Porta", "ino"), _join("Kő", "halom")
    ('Portino', 'Kőhalom')
    """
    if root[-1] in _VOWELS and ending[0] in _VOWELS and len(root) > 2:
        root = root[:-1]
    if len(root) > 1 and root[-1] == root[-2] == ending[0]:  # no triple letters ("Grefsenn" + "nes")
        ending = ending[1:]
    return root + ending


class StationNamer:
    """Draws unique names; remembers keys under both normalisers so no two names ever collide.

    Args:
        rng: the caller's seeded random source (names are a pure function of its state).
        flavours: language flavours to mix; a map mostly uses its first drawn flavour, like a real city.
        reserved: names (e.g. line names) that no station key may collide with.
    """

    def __init__(self, rng: random.Random, flavours: tuple[str, ...] = FLAVOURS, reserved: tuple[str, ...] = ()):
        unknown = [f for f in flavours if f not in _FLAVOURS]
        if not flavours or unknown:
            raise ValueError(f"unknown name flavours {unknown}; choose from {FLAVOURS}")
        self.rng = rng
        # One main flavour per map (80% of names), the rest sprinkled in: real cities are mostly one language.
        self.main = rng.choice(flavours)
        self.flavours = flavours
        self._keys: set[str] = set()
        self._official: set[str] = set()
        for r in reserved:
            self._remember(r)

    def _remember(self, name: str) -> None:
        self._keys.add(normalize_station(name))
        self._official.add(rewardmap_clean(name))

    def _draw(self) -> str:
        rng = self.rng
        flavour = self.main if rng.random() < 0.8 or len(self.flavours) == 1 else rng.choice(self.flavours)
        roots, endings, prefixes, words = _FLAVOURS[flavour]
        u = rng.random()
        if u < 0.62:
            return _join(rng.choice(roots), rng.choice(endings))
        if u < 0.82:  # "Place Verte", "Nowa Wola": prefix word + a root-based or a fixed word
            second = rng.choice(words) if rng.random() < 0.5 else _join(rng.choice(roots), rng.choice(endings))
            if " " not in second:  # "Place" + "verte"-style roots get a capital; "du Lac" keeps its particle
                second = second[0].upper() + second[1:]
            return f"{rng.choice(prefixes)} {second}"
        stem = _join(rng.choice(roots), rng.choice(endings))
        word = rng.choice(words)
        if word[0].islower() and " " not in word:  # Norwegian "torg", Hungarian "tér": a capitalised 2nd word
            word = word.capitalize()
        return f"{stem} {word}"

    def next(self, max_len: int = 16) -> str:
        """A fresh name, at most `max_len` characters, that collides with no earlier one under either normaliser."""
        for _ in range(10_000):
            name = self._draw()
            if len(name) > max_len or not is_clean_name(name):
                continue
            key, off = normalize_station(name), rewardmap_clean(name)
            if key in self._keys or off in self._official:
                continue
            self._keys.add(key)
            self._official.add(off)
            return name
        raise RuntimeError("station-name space exhausted; allow more flavours or a longer max_len")

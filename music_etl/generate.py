"""Write a realistic sample landing zone (SPEC section 2) into a local folder.

The data is deliberately imperfect so that every data-quality rule of SPEC section 3 is exercised:
bad catalogue rows, invalid / duplicate / late stream rows, unknown users and tracks, format quirks
(gzip, CRLF + BOM, column order, schema drift) and, optionally, whole files that must be rejected.

Stream files are built one hour at a time, fully vectorised (numpy for sampling, pyarrow compute for
strings), so memory is bounded by one hour of events and 10 million events take seconds, not minutes.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SONG_COLUMNS = (
    "id", "track_id", "artists", "album_name", "track_name", "popularity", "duration_ms", "explicit",
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo", "time_signature", "track_genre",
)  # fmt: skip
USER_COLUMNS = ("user_id", "user_name", "user_age", "user_country", "created_at")
STREAM_COLUMNS = ("user_id", "track_id", "listen_time")

# The 114 genres of the Spotify tracks dataset.
GENRES = (
    "acoustic", "afrobeat", "alt-rock", "alternative", "ambient", "anime", "black-metal", "bluegrass",
    "blues", "brazil", "breakbeat", "british", "cantopop", "chicago-house", "children", "chill",
    "classical", "club", "comedy", "country", "dance", "dancehall", "death-metal", "deep-house",
    "detroit-techno", "disco", "disney", "drum-and-bass", "dub", "dubstep", "edm", "electro",
    "electronic", "emo", "folk", "forro", "french", "funk", "garage", "german", "gospel", "goth",
    "grindcore", "groove", "grunge", "guitar", "happy", "hard-rock", "hardcore", "hardstyle",
    "heavy-metal", "hip-hop", "honky-tonk", "house", "idm", "indian", "indie-pop", "indie",
    "industrial", "iranian", "j-dance", "j-idol", "j-pop", "j-rock", "jazz", "k-pop", "kids", "latin",
    "latino", "malay", "mandopop", "metal", "metalcore", "minimal-techno", "mpb", "new-age", "opera",
    "pagode", "party", "piano", "pop-film", "pop", "power-pop", "progressive-house", "psych-rock",
    "punk-rock", "punk", "r-n-b", "reggae", "reggaeton", "rock-n-roll", "rock", "rockabilly",
    "romance", "sad", "salsa", "samba", "sertanejo", "show-tunes", "singer-songwriter", "ska", "sleep",
    "songwriter", "soul", "spanish", "study", "swedish", "synth-pop", "tango", "techno", "trance",
    "trip-hop", "turkish", "world-music",
)  # fmt: skip

# Real-looking names that trip up naive CSV handling and string comparison; each one gets a song.
TRICKY_ARTISTS = (
    "Earth, Wind & Fire", "Beyoncé", "宇多田ヒカル", "Sigur Rós", "Motörhead", "Guns N' Roses",
    '"Weird Al" Yankovic', "AC/DC", "Björk", "Мумий Тролль",
)  # fmt: skip

BROKEN_DIR = "streams/broken"

# Word lists for synthetic names; some entries carry accents so plain names are not all ASCII.
_ADJECTIVES = (
    "Velvet", "Electric", "Silent", "Golden", "Broken", "Midnight", "Neon", "Crystal", "Wild", "Lonely",
    "Burning", "Frozen", "Hidden", "Cosmic", "Paper", "Sweet", "Bitter", "Blue", "Scarlet", "Hollow",
    "Lucky", "Savage", "Gentle", "Rapid", "Quiet", "Atomic", "Sunny", "Rusty", "Secret", "Royal",
    "Señor", "Über", "Dévoré", "Fading", "Crimson", "Lazy", "Endless", "Sacred", "Little", "Northern",
)  # fmt: skip
_NOUNS = (
    "Heart", "River", "Night", "Fire", "Road", "Dream", "Summer", "Light", "Rain", "Ocean", "City",
    "Love", "Moon", "Song", "Storm", "Garden", "Mirror", "Signal", "Ghost", "Window", "Engine", "Tiger",
    "Echo", "Shadow", "King", "Wolf", "Wave", "Star", "Rose", "Fox", "Comet", "Saint", "Pilot", "Thief",
    "Giant", "Sparrow", "Bandit", "Prophet", "Satellite", "Island",
)  # fmt: skip
_FIRST_NAMES = (
    "Anna", "Björn", "Chloé", "Diego", "Emeka", "Fatima", "Giulia", "Hiroshi", "Inès", "Jamal",
    "Kaito", "Lena", "Marta", "Nikolai", "Olusegun", "Priya", "Quentin", "Rosa", "Søren", "Tomás",
    "Uma", "Valentina", "Wei", "Xavier", "Yara", "Zoë", "Łukasz", "Mariana", "Noah", "Ava",
    "Mateo", "Aïsha", "Jonas", "Carmen", "Dmitri", "Elif", "Felipe", "Hana", "Iker", "José",
)  # fmt: skip
_LAST_NAMES = (
    "Andersson", "Bianchi", "Costa", "Dubois", "Eriksen", "Fernández", "García", "Hoffmann", "Ivanova",
    "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rossi",
    "Schäfer", "Tanaka", "Umarov", "Vargas", "Wójcik", "Xu", "Yılmaz", "Zhang", "Núñez", "O'Connor",
    "Kim", "Silva", "Müller", "Novák", "Haddad", "Mensah", "Ólafsson", "Popescu", "Horvat", "Santos",
    "Lefèvre", "Çelik",
)  # fmt: skip
_UNICODE_TITLES = (
    "Corazón Salvaje", "Ночь", "夜に駆ける", "Ça plane pour moi", "Smørrebrød", "Señorita",
    "Über den Wolken", "Déjà Vu", "사랑해", "Café del Mar", "Fiesta ☀️", "Ελπίδα", "Garota de Ipanema",
    "Jóga", "Kärlek", "Straße", "Dziękuję", "Niñа Bonita", "मेरा दिल", "سلام",
)  # fmt: skip
_UNICODE_USER_NAMES = (
    "山田 花子", "김민준", "Анна Смирнова", "محمد علي", "Ελένη Παπαδοπούλου", "李伟", "Nguyễn Văn An",
    "Şule Demir", "Ngũgĩ Wa", "Þórdís Jónsdóttir", "Renée Zoë", "田中 太郎", "Иван Петров", "أحمد حسن",
)  # fmt: skip
_TRACK_TEMPLATES = (
    "{adj} {noun}", "{noun} of the {noun2}", "{noun}, {noun2} & Me", '"{adj}" {noun}',
    "{adj} {noun} - Remastered {year}", "{adj} {noun}, Pt. {n}", "{uni}", "{uni} ({adj} Mix)",
    "Don't Lose the {noun}",
)  # fmt: skip
_ALBUM_TEMPLATES = (
    "{adj} {nouns}", "Greatest Hits, Vol. {n}", "{noun} (Deluxe Edition)", 'The "{adj}" Sessions',
    "Live at the {noun} Club", "{uni}", "{adj} {noun} ({year})",
)  # fmt: skip
# Artists fields with stray spaces and empty parts, to exercise the trim/drop-empties rule.
_MESSY_ARTIST_TEMPLATES = ("{a}; {b};", " {a} ;{b}", "{a};;{b}", "{a} ; {b} ; {c}")
_COUNTRIES = (
    "US", "GB", "DE", "BR", "MX", "FR", "JP", "IN", "ES", "CA", "IT", "KR", "AU", "NL", "SE", "PL",
    "TR", "AR", "CO", "ID", "PH", "ZA", "NG", "VN", "TW", "NO", "FI", "PT", "IE", "CL",
)  # fmt: skip
_DEVICES = pa.array(["ios", "android", "web", "desktop", "smart-speaker"])

_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_TRACK_ID_LENGTH = 22
_BAD_SONG_IDS = 3  # fresh ids of the invalid catalogue rows, never streamed
_UNKNOWN_TRACK_POOL = 50
_MIN_SONGS = 20  # room for the tricky names and the messy artist fields
_MIN_EVENTS_PER_HOUR = 50  # keeps every file big enough for its share of special rows

# Shares of the hourly rows that are deliberately special.
_DUPLICATE_SHARE = 0.005
_LATE_SHARE = 0.003
_INVALID_SHARE = 0.002
_UNKNOWN_USER_SHARE = 0.0001
_ISO_TIME_SHARE = 0.02  # listen_time written as ISO 8601 with T, zone and maybe fractions
_MAX_LATE_HOURS = 12

# ISO 8601 zone suffixes and their offsets: the local time written is UTC plus the offset.
_ZONES = (("Z", 0), ("+01:00", 3600), ("-05:00", -5 * 3600), ("+05:30", 5 * 3600 + 1800))
_ZONE_NAMES = pa.array([name for name, _ in _ZONES])
_ZONE_OFFSETS = np.array([offset for _, offset in _ZONES])

# Invalid stream rows: (quarantine reason, column overwritten, literal value or None if computed).
# Each row is otherwise valid, so the intended reason is the first one that applies.
_INVALID_VARIANTS = (
    ("missing_user_id", "user_id", ""),
    ("missing_track_id", "track_id", ""),
    ("missing_listen_time", "listen_time", ""),
    ("invalid_user_id", "user_id", "abc"),
    ("invalid_user_id", "user_id", "-5"),
    ("invalid_user_id", "user_id", "0"),
    ("invalid_user_id", "user_id", "12.5"),
    ("invalid_listen_time", "listen_time", "not a time"),
    ("invalid_listen_time", "listen_time", "2026-13-45 99:00:00"),
    ("future_listen_time", "listen_time", None),
    ("unknown_track", "track_id", None),
)

# "MM:SS" for every second of an hour: timestamps are formatted as hour prefix + this lookup,
# which is far faster than strftime per row.
_MINUTE_SECOND = pa.array([f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)])


@dataclass(frozen=True)
class GenerateSummary:
    root: Path
    songs: int  # valid catalogue songs (the deliberately bad catalogue rows come on top)
    users: int
    events: int  # rows in the hourly stream files, special rows included
    stream_files: int  # hourly files, broken files not included
    broken_files: list[str]  # keys relative to root
    bytes_written: int  # all files, as stored (gzip files compressed)


def generate_landing(
    root: Path,
    *,
    songs: int = 5000,
    users: int = 2000,
    events: int = 100_000,
    hours: int = 24,
    start: datetime | None = None,
    seed: int = 7,
    broken_files: bool = True,
    progress: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Write songs/, users/ and streams/ under `root`; deterministic given `seed` and `start`.

    `start` (tz-aware, on the hour) is the hour of the first stream file; by default the data covers
    the `hours` hours before the current hour.
    """
    _check_sizes(songs, users, events, hours)
    first_hour = _first_hour(start, hours)
    writer = _Writer(Path(root), progress)

    tracks = _write_catalogue(writer, _rng(seed, "catalogue"), songs)
    writer.write("users/users.csv", _users_csv(_rng(seed, "users"), users, first_hour))

    context = _StreamContext.build(_rng(seed, "context"), tracks, users, first_hour, hours)
    _write_hourly_streams(writer, context, seed, events)

    broken: list[str] = []
    if broken_files:
        for name, data in _broken_files(_rng(seed, "broken"), context).items():
            broken.append(writer.write(f"{BROKEN_DIR}/{name}", data))

    return GenerateSummary(
        root=Path(root),
        songs=songs,
        users=users,
        events=events,
        stream_files=hours,
        broken_files=broken,
        bytes_written=writer.bytes_written,
    )


def _check_sizes(songs: int, users: int, events: int, hours: int) -> None:
    if songs < _MIN_SONGS:
        raise ValueError(f"songs must be at least {_MIN_SONGS}")
    if users < 1 or hours < 1:
        raise ValueError("users and hours must be positive")
    if events < _MIN_EVENTS_PER_HOUR * hours:
        raise ValueError(f"events must be at least {_MIN_EVENTS_PER_HOUR} per hour")


def _first_hour(start: datetime | None, hours: int) -> datetime:
    if start is None:
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        return now - timedelta(hours=hours)
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = start.astimezone(UTC)
    if (start.minute, start.second, start.microsecond) != (0, 0, 0):
        raise ValueError("start must be on the hour")
    return start


class _Writer:
    """Writes files under root, counts their bytes and reports each one."""

    def __init__(self, root: Path, progress: Callable[[str], None] | None):
        self.root = root
        self.progress = progress
        self.bytes_written = 0

    def write(self, key: str, data: bytes, detail: str = "") -> str:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.bytes_written += len(data)
        if self.progress:
            self.progress(f"wrote {key} ({len(data):,} bytes{detail})")
        return key


# --------------------------------------------------------------------------------------------------
# Song catalogue


@dataclass(frozen=True)
class _TrackPool:
    """What stream generation needs from the catalogue."""

    track_ids: list[str]  # valid songs only: the ones stream events may reference
    popularity: np.ndarray  # of the valid songs
    unknown_track_ids: list[str]  # valid-looking ids that are not in the catalogue


@dataclass(frozen=True)
class _Catalogue:
    part1: list[list]  # CSV rows without the running id
    part2: list[list]
    tracks: _TrackPool


def _write_catalogue(writer: _Writer, rng: np.random.Generator, songs: int) -> _TrackPool:
    """Write both catalogue files; only the track pool outlives this call (memory)."""
    catalogue = _catalogue(rng, songs)
    writer.write("songs/tracks_part1.csv", _catalogue_csv(catalogue.part1, 0))
    writer.write("songs/tracks_part2.csv", _catalogue_csv(catalogue.part2, len(catalogue.part1)))
    return catalogue.tracks


def _catalogue(rng: np.random.Generator, songs: int) -> _Catalogue:
    """Valid songs split in two files, plus the deliberately bad rows inside the second one."""
    ids = _track_ids(rng, songs + _BAD_SONG_IDS + _UNKNOWN_TRACK_POOL)
    valid = _song_rows(rng, ids[:songs])
    half = (songs + 1) // 2
    part1, part2 = valid[:half], valid[half:]
    for row in _bad_song_rows(rng, valid, part1, ids[songs : songs + _BAD_SONG_IDS]):
        part2.insert(int(rng.integers(0, len(part2) + 1)), row)
    tracks = _TrackPool(
        track_ids=ids[:songs],
        popularity=np.array([row[4] for row in valid]),
        unknown_track_ids=ids[songs + _BAD_SONG_IDS :],
    )
    return _Catalogue(part1=part1, part2=part2, tracks=tracks)


def _track_ids(rng: np.random.Generator, count: int) -> list[str]:
    """Unique 22-character base62 ids, like Spotify's."""
    ids: dict[str, None] = {}  # insertion-ordered set keeps the result deterministic
    while len(ids) < count:
        codes = rng.integers(0, len(_BASE62), size=(count - len(ids), _TRACK_ID_LENGTH))
        for raw in _BASE62[codes].view(f"S{_TRACK_ID_LENGTH}").ravel():
            ids[raw.decode()] = None
    return list(ids)


def _song_rows(rng: np.random.Generator, track_ids: list[str]) -> list[list]:
    n = len(track_ids)
    popularity = _popularity(rng, n)
    features = _audio_features(rng, n)
    columns = [
        track_ids,
        _song_artists(rng, n),
        _names(rng, n, _ALBUM_TEMPLATES),
        _names(rng, n, _TRACK_TEMPLATES),
        popularity.tolist(),
        np.clip(rng.lognormal(np.log(215_000), 0.3, n), 90_000, 600_000).astype(int).tolist(),
        (rng.random(n) < 0.09).tolist(),
        *features,
        _genres(rng, n),
    ]
    return [list(row) for row in zip(*columns, strict=True)]


def _popularity(rng: np.random.Generator, n: int) -> np.ndarray:
    """Skewed like Spotify's: mostly low, a long tail of hits, a spike of zeros."""
    popularity = np.rint(rng.beta(1.6, 3.0, n) * 100).astype(int)
    popularity[rng.random(n) < 0.08] = 0
    return popularity


def _audio_features(rng: np.random.Generator, n: int) -> list[list]:
    """danceability .. time_signature, in SONG_COLUMNS order."""
    instrumental = np.where(rng.random(n) < 0.7, rng.beta(0.3, 30, n), rng.beta(1, 1.5, n))
    return [
        np.round(rng.beta(5, 3, n), 3).tolist(),  # danceability
        np.round(rng.beta(4, 2.5, n), 3).tolist(),  # energy
        rng.integers(0, 12, n).tolist(),  # key
        np.round(np.clip(rng.normal(-8, 4, n), -40, 1), 3).tolist(),  # loudness
        (rng.random(n) < 0.64).astype(int).tolist(),  # mode
        np.round(rng.beta(1, 12, n), 4).tolist(),  # speechiness
        np.round(rng.beta(0.6, 1.4, n), 4).tolist(),  # acousticness
        np.round(instrumental, 6).tolist(),  # instrumentalness
        np.round(rng.beta(2, 8, n), 4).tolist(),  # liveness
        np.round(rng.beta(2.5, 2.5, n), 3).tolist(),  # valence
        np.round(np.clip(rng.normal(122, 28, n), 50, 220), 3).tolist(),  # tempo
        rng.choice([4, 3, 5, 1], n, p=[0.89, 0.08, 0.02, 0.01]).tolist(),  # time_signature
    ]


def _genres(rng: np.random.Generator, n: int) -> list[str]:
    """Every genre once (when n allows), the rest uniform, in random order."""
    first = np.arange(min(n, len(GENRES)))
    codes = rng.permutation(np.concatenate([first, rng.integers(0, len(GENRES), n - len(first))]))
    return [GENRES[code] for code in codes]


def _names(rng: np.random.Generator, n: int, templates: Sequence[str]) -> list[str]:
    """Track or album names from templates; some contain commas, quotes and non-Latin text."""
    picks = zip(
        rng.integers(0, len(templates), n),
        rng.integers(0, len(_ADJECTIVES), n),
        rng.integers(0, len(_NOUNS), n),
        rng.integers(0, len(_NOUNS), n),
        rng.integers(0, len(_UNICODE_TITLES), n),
        rng.integers(1960, 2024, n),
        rng.integers(1, 5, n),
        strict=True,
    )
    return [
        templates[t].format(
            adj=_ADJECTIVES[a],
            noun=_NOUNS[b],
            nouns=_plural(_NOUNS[b]),
            noun2=_NOUNS[c],
            uni=_UNICODE_TITLES[u],
            year=y,
            n=k,
        )
        for t, a, b, c, u, y, k in picks
    ]


def _plural(noun: str) -> str:
    irregular = {"Echo": "Echoes", "Fox": "Foxes", "Thief": "Thieves", "Wolf": "Wolves"}
    return irregular.get(noun, noun + "s")


def _artist_pool(rng: np.random.Generator, size: int) -> list[str]:
    """Synthetic artist names in random order; `size` is capped by the word-list combinations."""
    bands = [f"The {a} {_plural(n)}" for a, n in itertools.product(_ADJECTIVES, _NOUNS)]
    duos = [f"{a} {n}" for a, n in itertools.product(_ADJECTIVES, _NOUNS)]
    people = [f"{f} {l}" for f, l in itertools.product(_FIRST_NAMES, _LAST_NAMES)]
    djs = [f"DJ {f}" for f in _FIRST_NAMES]
    names = bands + duos + people + djs
    return [names[i] for i in rng.permutation(len(names))[:size]]


def _song_artists(rng: np.random.Generator, n: int) -> list[str]:
    """The `artists` field: a skewed primary artist, ~20% with featured artists joined by ';'."""
    pool = _artist_pool(rng, max(30, n // 4))
    primary = _sample(_zipf_cdf(len(pool), offset=5, exponent=0.9), n, rng)
    # Featured artists: offsets 1.. from the primary keep them distinct from it and from each other.
    first_offset = rng.integers(1, len(pool), n)
    second_offset = rng.integers(1, len(pool) - 1, n)
    second_offset += second_offset >= first_offset
    featured = np.where(rng.random(n) < 0.2, np.where(rng.random(n) < 0.7, 1, 2), 0)

    names = []
    for p, o1, o2, k in zip(primary, first_offset, second_offset, featured, strict=True):
        names.append([pool[p], pool[(p + o1) % len(pool)], pool[(p + o2) % len(pool)]][: k + 1])

    # Distinct songs for the tricky names, the messy fields and one artist listed twice.
    special = rng.choice(n, len(TRICKY_ARTISTS) + len(_MESSY_ARTIST_TEMPLATES) + 1, replace=False)
    tricky, messy, (repeated,) = np.split(special, [len(TRICKY_ARTISTS), -1])
    for song, name in zip(tricky, TRICKY_ARTISTS, strict=True):
        names[song][0] = name
    artists = [";".join(parts) for parts in names]
    for song, template in zip(messy, _MESSY_ARTIST_TEMPLATES, strict=True):
        a, b, c = (pool[(primary[song] + i) % len(pool)] for i in range(3))
        artists[song] = template.format(a=a, b=b, c=c)
    artists[repeated] = ";".join([pool[primary[repeated]]] * 2)
    return artists


def _bad_song_rows(
    rng: np.random.Generator, valid: list[list], part1: list[list], fresh_ids: list[str]
) -> list[list]:
    """Rows the catalogue validation must quarantine: spoiled copies of valid rows under ids that
    no stream uses, and a later row reusing a track_id of the first file under another name."""
    copies = rng.choice(len(valid), len(fresh_ids), replace=False)
    empty_name, bad_popularity, bad_duration = (
        [track_id, *valid[i][1:]] for track_id, i in zip(fresh_ids, copies, strict=True)
    )
    empty_name[3] = ""
    bad_popularity[4] = 150
    bad_duration[5] = -1
    # A later row reusing an earlier track_id: the first (valid) row wins.
    duplicate = list(part1[int(rng.integers(0, len(part1)))])
    duplicate[3] = f"{duplicate[3]} (Live)"
    return [empty_name, bad_popularity, bad_duration, duplicate]


def _catalogue_csv(rows: list[list], first_id: int) -> bytes:
    """One catalogue file; `id` keeps running across the files like the dataset's row index."""
    return _csv_bytes(SONG_COLUMNS, [[first_id + i, *row] for i, row in enumerate(rows)])


def _csv_bytes(header: Sequence[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # minimal RFC 4180 quoting
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------------
# Users


def _users_csv(rng: np.random.Generator, users: int, first_hour: datetime) -> bytes:
    first = rng.integers(0, len(_FIRST_NAMES), users)
    last = rng.integers(0, len(_LAST_NAMES), users)
    names = [f"{_FIRST_NAMES[f]} {_LAST_NAMES[l]}" for f, l in zip(first, last, strict=True)]
    for i in np.flatnonzero(rng.random(users) < 0.15):
        names[i] = _UNICODE_USER_NAMES[int(rng.integers(0, len(_UNICODE_USER_NAMES)))]
    for i in np.flatnonzero(rng.random(users) < 0.01):
        names[i] += ", Jr."  # a comma inside a user name

    ages = np.clip(np.rint(rng.gamma(4.0, 7.5, users) + 10), 13, 90).astype(int)
    countries = _sample(_zipf_cdf(len(_COUNTRIES), offset=3, exponent=1.0), users, rng)
    age_seconds = rng.integers(3600, 5 * 365 * 86400, users)
    created = _format_times(_epoch(first_hour) - age_seconds, " ").to_pylist()
    rows = [
        [user_id, name, age, _COUNTRIES[country], created_at]
        for user_id, name, age, country, created_at in zip(
            range(1, users + 1), names, ages.tolist(), countries, created, strict=True
        )
    ]
    return _csv_bytes(USER_COLUMNS, rows)


# --------------------------------------------------------------------------------------------------
# Stream events


@dataclass(frozen=True)
class _StreamContext:
    """What every hourly file draws from: who listens, to what, and when."""

    users: int
    user_cdf: np.ndarray  # heavy-tailed: a few users stream a lot
    track_ids: pa.Array  # valid catalogue songs only
    track_by_rank: np.ndarray  # song index of each popularity rank
    rank_cdf: np.ndarray  # Zipf-like over popularity ranks
    unknown_track_ids: pa.Array
    first_hour: int  # epoch seconds of the first file's hour
    hours: int

    @classmethod
    def build(
        cls, rng: np.random.Generator, tracks: _TrackPool, users: int, first_hour: datetime, hours: int
    ) -> _StreamContext:
        user_weights = rng.lognormal(0.0, 0.9, users)
        popularity = tracks.popularity
        return cls(
            users=users,
            user_cdf=np.cumsum(user_weights) / user_weights.sum(),
            track_ids=pa.array(tracks.track_ids, pa.string()),
            track_by_rank=np.lexsort((rng.random(len(popularity)), -popularity)),
            rank_cdf=_zipf_cdf(len(popularity), offset=10, exponent=1.0),
            unknown_track_ids=pa.array(tracks.unknown_track_ids, pa.string()),
            first_hour=_epoch(first_hour),
            hours=hours,
        )

    @property
    def end(self) -> int:
        return self.first_hour + self.hours * 3600


@dataclass(frozen=True)
class _HourPlan:
    """How many rows of each kind one hourly file gets."""

    index: int
    epoch: int  # first second of the file's hour
    rows: int  # everything written to the file
    duplicates_within: int  # copies of rows of the same file
    duplicates_across: int  # copies of rows of the previous file
    late: int  # events of an hour 1..12 hours earlier
    unknown_users: int
    invalid: np.ndarray  # one _INVALID_VARIANTS index per invalid row

    @property
    def regular(self) -> int:
        special = self.duplicates_within + self.duplicates_across + self.late + self.unknown_users
        return self.rows - special - len(self.invalid)


@dataclass(frozen=True)
class _Rows:
    user_id: pa.Array
    track_id: pa.Array
    listen_time: pa.Array
    position: np.ndarray  # second of the file's hour at which the row appears in the file

    def __len__(self) -> int:
        return len(self.position)

    def take(self, indices: np.ndarray, position: np.ndarray) -> _Rows:
        picked = pa.array(indices, pa.int64())
        columns = (self.user_id, self.track_id, self.listen_time)
        return _Rows(*(column.take(picked) for column in columns), position)

    @staticmethod
    def in_file_order(parts: list[_Rows]) -> _Rows:
        """All parts merged, ordered by position: a log roughly sorted by time, oddities interleaved."""
        rows = _Rows(
            pa.concat_arrays([p.user_id for p in parts]),
            pa.concat_arrays([p.track_id for p in parts]),
            pa.concat_arrays([p.listen_time for p in parts]),
            np.concatenate([p.position for p in parts]),
        )
        order = np.argsort(rows.position, kind="stable")
        return rows.take(order, rows.position[order])


@dataclass(frozen=True)
class _FileFormat:
    columns: tuple[str, ...]
    gzip: bool
    crlf_bom: bool


def _write_hourly_streams(writer: _Writer, context: _StreamContext, seed: int, events: int) -> None:
    previous: _Rows | None = None  # the last file's regular rows, source of cross-file duplicates
    for plan in _plan_hours(_rng(seed, "plan"), context, events):
        rng = _rng(seed, "hour", plan.index)
        rows, previous = _hour_rows(context, rng, plan, previous)
        layout = _file_format(plan.index, context.hours)
        data = _hour_csv(rows, layout, rng)
        if layout.gzip:
            data = gzip.compress(data, compresslevel=6, mtime=0)  # mtime=0 keeps output reproducible
        writer.write(_hour_key(plan.epoch, layout.gzip), data, f", {len(rows):,} rows")


def _plan_hours(rng: np.random.Generator, context: _StreamContext, events: int) -> list[_HourPlan]:
    """Split `events` over the files along a daily curve, then share out the special rows."""
    hours = context.hours
    rows = _apportion(events, _hourly_weights(rng, context.first_hour, hours))
    # Late events and cross-file duplicates need an earlier file, so the first file gets none.
    with_history = np.where(np.arange(hours) > 0, rows, 0)
    duplicates = round(events * _DUPLICATE_SHARE)
    across = _apportion(duplicates // 2 if hours > 1 else 0, with_history)
    within = _apportion(duplicates - int(across.sum()), rows)
    late = _apportion(round(events * _LATE_SHARE) if hours > 1 else 0, with_history)
    unknown_users = _apportion(max(3, round(events * _UNKNOWN_USER_SHARE)), rows)
    # Cycling through the variants guarantees every quarantine reason appears at least once.
    invalid_count = max(len(_INVALID_VARIANTS), round(events * _INVALID_SHARE))
    variants = rng.permutation(np.arange(invalid_count) % len(_INVALID_VARIANTS))
    invalid = np.split(variants, np.cumsum(_apportion(invalid_count, rows))[:-1])
    return [
        _HourPlan(
            index=i,
            epoch=context.first_hour + i * 3600,
            rows=int(rows[i]),
            duplicates_within=int(within[i]),
            duplicates_across=int(across[i]),
            late=int(late[i]),
            unknown_users=int(unknown_users[i]),
            invalid=invalid[i],
        )
        for i in range(hours)
    ]


def _hourly_weights(rng: np.random.Generator, first_hour: int, hours: int) -> np.ndarray:
    """Relative traffic per file: quiet at night, busy in the afternoon, busier at weekends."""
    hour_index = first_hour // 3600 + np.arange(hours)
    hour_of_day = hour_index % 24
    weekday = (hour_index // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    curve = 0.3 + 0.7 * np.sin(np.pi * (hour_of_day - 4) / 24) ** 2  # low at 04:00, peak at 16:00
    weekend = np.where(weekday >= 5, 1.15, 1.0)
    return curve * weekend * rng.uniform(0.9, 1.1, hours)


def _hour_rows(
    context: _StreamContext, rng: np.random.Generator, plan: _HourPlan, previous: _Rows | None
) -> tuple[_Rows, _Rows]:
    """All rows of one file in file order, and its regular rows (for the next file's duplicates)."""
    hour = plan.epoch

    def in_hour(n: int) -> np.ndarray:
        return rng.integers(0, 3600, n)

    offsets = in_hour(plan.regular)
    regular = _valid_rows(context, rng, hour + offsets, offsets)

    offsets = in_hour(plan.unknown_users)
    extra_users = max(5, context.users // 50)
    unknown_ids = context.users + 1 + rng.integers(0, extra_users, plan.unknown_users)
    unknown = _valid_rows(context, rng, hour + offsets, offsets, user_ids=unknown_ids)

    max_lateness = max(1, min(_MAX_LATE_HOURS, plan.index))  # the first file has no late rows
    hours_late = rng.integers(1, max_lateness + 1, plan.late)
    late = _valid_rows(context, rng, hour - 3600 * hours_late + in_hour(plan.late), in_hour(plan.late))

    parts = [regular, unknown, late, _invalid_rows(context, rng, plan.invalid, hour)]
    within = rng.integers(0, len(regular), plan.duplicates_within)
    parts.append(regular.take(within, in_hour(plan.duplicates_within)))
    if plan.duplicates_across:
        across = rng.integers(0, len(previous), plan.duplicates_across)
        parts.append(previous.take(across, in_hour(plan.duplicates_across)))
    return _Rows.in_file_order(parts), regular


def _valid_rows(
    context: _StreamContext,
    rng: np.random.Generator,
    seconds: np.ndarray,
    position: np.ndarray,
    user_ids: np.ndarray | None = None,
) -> _Rows:
    """Plausible events at the given epoch seconds: skewed users, popularity-skewed tracks."""
    n = len(seconds)
    if user_ids is None:
        user_ids = _sample(context.user_cdf, n, rng) + 1
    tracks = context.track_by_rank[_sample(context.rank_cdf, n, rng)]
    return _Rows(
        pc.cast(pa.array(user_ids, pa.int64()), pa.string()),
        context.track_ids.take(pa.array(tracks, pa.int64())),
        _listen_times(rng, seconds),
        position,
    )


def _invalid_rows(
    context: _StreamContext, rng: np.random.Generator, variants: np.ndarray, hour: int
) -> _Rows:
    """Valid rows with one field spoiled per row, as `variants` says."""
    position = rng.integers(0, 3600, len(variants))
    base = _valid_rows(context, rng, hour + position, position)
    columns = {name: np.array(getattr(base, name).to_pylist(), dtype=object) for name in STREAM_COLUMNS}
    for code, (reason, column, literal) in enumerate(_INVALID_VARIANTS):
        rows = np.flatnonzero(variants == code)
        if literal is None:
            columns[column][rows] = _spoiled_values(reason, context, rng, len(rows))
        else:
            columns[column][rows] = literal
    return _Rows(*(pa.array(columns[name], pa.string()) for name in STREAM_COLUMNS), position)


def _spoiled_values(reason: str, context: _StreamContext, rng: np.random.Generator, n: int) -> list[str]:
    if reason == "future_listen_time":
        # Days after the window's end, i.e. after "now" when start is left to its default.
        return _format_times(context.end + rng.integers(2 * 86400, 5 * 86400, n), " ").to_pylist()
    if reason == "unknown_track":
        picks = rng.integers(0, len(context.unknown_track_ids), n)
        return context.unknown_track_ids.take(pa.array(picks, pa.int64())).to_pylist()
    raise ValueError(reason)


def _listen_times(rng: np.random.Generator, seconds: np.ndarray) -> pa.Array:
    """Mostly `YYYY-MM-DD HH:MM:SS` (UTC); a small share as ISO 8601 with a zone, same instant."""
    times = _format_times(seconds, " ")
    iso = rng.random(len(seconds)) < _ISO_TIME_SHARE
    if iso.any():
        times = pc.replace_with_mask(times, pa.array(iso), _iso_times(rng, seconds[iso]))
    return times


def _iso_times(rng: np.random.Generator, seconds: np.ndarray) -> pa.Array:
    """E.g. `2026-11-27T10:15:03Z` or `2026-11-27T11:15:03.250+01:00` for 10:15:03.250 UTC."""
    n = len(seconds)
    zone = rng.integers(0, len(_ZONES), n)
    local = _format_times(seconds + _ZONE_OFFSETS[zone], "T")
    millis = pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 1000, n)), pa.string()), width=3, padding="0")
    fraction = pc.if_else(pa.array(rng.random(n) < 0.5), pc.binary_join_element_wise(".", millis, ""), "")
    return pc.binary_join_element_wise(local, fraction, _ZONE_NAMES.take(pa.array(zone)), "")


def _format_times(seconds: np.ndarray, separator: str) -> pa.Array:
    """`YYYY-MM-DD<separator>HH:MM:SS` for epoch seconds; strftime runs once per distinct hour only."""
    hours, inverse = np.unique(seconds // 3600, return_inverse=True)
    stamps = pa.array((hours * 3600).astype("datetime64[s]"))
    prefixes = pc.strftime(stamps, format=f"%Y-%m-%d{separator}%H:")
    minute_second = _MINUTE_SECOND.take(pa.array(seconds % 3600, pa.int64()))
    return pc.binary_join_element_wise(prefixes.take(pa.array(inverse, pa.int64())), minute_second, "")


def _file_format(index: int, hours: int) -> _FileFormat:
    """Deliberate layout variations; with fewer than 4 hours several land on the same file."""
    columns = STREAM_COLUMNS
    if index == 2 % hours:
        columns = ("listen_time", "user_id", "track_id")
    if index == 3 % hours:
        columns = (*columns, "device")  # schema drift
    return _FileFormat(columns=columns, gzip=index % 6 == 0, crlf_bom=index == 1 % hours)


def _hour_csv(rows: _Rows, layout: _FileFormat, rng: np.random.Generator) -> bytes:
    values = {"user_id": rows.user_id, "track_id": rows.track_id, "listen_time": rows.listen_time}
    if "device" in layout.columns:
        values["device"] = _DEVICES.take(pa.array(rng.integers(0, len(_DEVICES), len(rows))))
    eol = "\r\n" if layout.crlf_bom else "\n"
    return _join_csv(layout.columns, [values[c] for c in layout.columns], eol, bom=layout.crlf_bom)


def _join_csv(header: Sequence[str], columns: list[pa.Array], eol: str, bom: bool) -> bytes:
    """CSV text in a few vectorised joins. Stream values never contain commas, quotes or line
    breaks, so plain joining is valid RFC 4180 (no field needs quoting)."""
    lines = pc.binary_join_element_wise(*columns, ",")
    as_one_list = pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines)
    body = pc.binary_join(as_one_list, eol)[0].as_buffer()
    head = ("\ufeff" if bom else "") + ",".join(header) + eol
    return b"".join([head.encode("utf-8"), body, eol.encode() if len(lines) else b""])


def _hour_key(epoch: int, compressed: bool) -> str:
    hour = datetime.fromtimestamp(epoch, UTC)
    return f"streams/{hour:%Y/%m/%d/%H}.csv" + (".gz" if compressed else "")


# --------------------------------------------------------------------------------------------------
# Broken stream files


# A well-formed gzip member header followed by a deflate block of reserved type 3: not valid gzip.
_CORRUPT_GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 24


def _broken_files(rng: np.random.Generator, context: _StreamContext) -> dict[str, bytes]:
    """Whole files a run must reject (or record as empty), by name under BROKEN_DIR."""
    header = ",".join(STREAM_COLUMNS) + "\n"
    lines = _valid_lines(context, rng, 25)
    user, track, time = lines[0].split(",")
    without_time = "".join(line.rsplit(",", 1)[0] + "\n" for line in lines[:5])
    return {
        "latin1.csv": (header + "".join(lines[:3]) + f"{user},café,{time}").encode("latin-1"),
        "missing_column.csv": ("user_id,track_id\n" + without_time).encode(),
        "header_only.csv": header.encode(),
        "empty.csv": b"",
        "mostly_invalid.csv": (header + "".join(_mostly_invalid_lines(rng, lines[5:25]))).encode(),
        # The quote opened in the second row is never closed.
        "bad_quotes.csv": (header + lines[1] + f'{user},"{track},{time}' + "".join(lines[2:5])).encode(),
        "corrupt.csv.gz": _CORRUPT_GZIP,
    }


def _valid_lines(context: _StreamContext, rng: np.random.Generator, n: int) -> list[str]:
    offsets = rng.integers(0, 3600, n)
    rows = _valid_rows(context, rng, context.first_hour + offsets, offsets)
    columns = (rows.user_id.to_pylist(), rows.track_id.to_pylist(), rows.listen_time.to_pylist())
    return [f"{u},{t},{s}\n" for u, t, s in zip(*columns, strict=True)]


def _mostly_invalid_lines(rng: np.random.Generator, lines: list[str]) -> list[str]:
    """Three quarters of the rows get an invalid user_id, in shuffled order."""
    bad_ids = ("abc", "-5", "0", "12.5", "user7")
    spoiled = [f"{bad_ids[i % len(bad_ids)]},{line.split(',', 1)[1]}" for i, line in enumerate(lines[:15])]
    mixed = spoiled + lines[15:]
    return [mixed[i] for i in rng.permutation(len(mixed))]


# --------------------------------------------------------------------------------------------------
# Helpers


def _rng(seed: int, purpose: str, index: int = 0) -> np.random.Generator:
    """An independent, reproducible random stream per purpose (and file)."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode()), index])


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _zipf_cdf(n: int, *, offset: float, exponent: float) -> np.ndarray:
    """Cumulative weights 1 / (rank + offset) ** exponent over ranks 0..n-1."""
    weights = 1.0 / (np.arange(n) + offset) ** exponent
    return np.cumsum(weights) / weights.sum()


def _sample(cdf: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices drawn from the distribution with cumulative weights `cdf`."""
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights that sum exactly to total (largest remainder)."""
    if total == 0:
        return np.zeros(len(weights), dtype=np.int64)
    share = total * weights / weights.sum()
    counts = np.floor(share).astype(np.int64)
    remainder = total - int(counts.sum())
    counts[np.argsort(counts - share, kind="stable")[:remainder]] += 1
    return counts

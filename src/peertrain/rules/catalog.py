"""The course catalogue and the function tracks, as immutable values.

:func:`peertrain.rules.loading.load_catalogue` reads them from TOML; this module only holds them and
answers questions such as "which course is 'ICISF Group Crisis Intervention' in this export?".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from attrs import field, frozen

from peertrain.rules.model import Course, Function, _text_set, to_names

__all__ = ["Catalogue", "Track", "is_iri", "normalise_name"]


def normalise_name(text: str) -> str:
    """How titles and aliases are compared: case-folded, inner spaces collapsed, ends stripped."""
    return " ".join(text.casefold().split())


def is_iri(text: str) -> bool:
    """Whether a name is an IRI (an xAPI activity id such as ``https://lms.example/act/gci``,
    or a ``urn:``/``tag:`` name). IRIs are compared exactly, as a learning system sends them."""
    text = text.strip()
    return "://" in text or text.startswith(("urn:", "tag:"))


@frozen
class Track:
    """A function track from the IACP/COPS guide: the training content for one function.

    ``topics`` are the content areas the guide lists; ``courses`` are catalogue courses that teach
    them (recommended, not required: requirements decide what is required).
    """

    id: str
    title: str
    function: Function = field(converter=Function)
    topics: frozenset[str] = field(default=frozenset(), converter=_text_set)
    courses: tuple[str, ...] = field(default=(), converter=to_names)
    source: str | None = None
    note: str | None = None


def _course_map(courses: Iterable[Course]) -> Mapping[str, Course]:
    result: dict[str, Course] = {}
    for course in courses:
        if course.id in result:
            raise ValueError(f"two courses have the id {course.id!r}")
        result[course.id] = course
    return MappingProxyType(result)


def _tracks(tracks: Iterable[Track]) -> tuple[Track, ...]:
    return tuple(tracks)


@frozen
class Catalogue:
    """All known courses and tracks. Course ids, titles and aliases each name exactly one course."""

    courses: Mapping[str, Course] = field(converter=_course_map)
    tracks: tuple[Track, ...] = field(default=(), converter=_tracks)
    _names: Mapping[str, str] = field(init=False, eq=False, repr=False)
    _iris: Mapping[str, str] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        names: dict[str, str] = {}
        iris: dict[str, str] = {}
        for course in self.courses.values():
            for name in (course.id, course.title, *course.aliases):
                # An activity IRI is matched exactly (IRIs are case-sensitive); other names loosely.
                index, key = (iris, name.strip()) if is_iri(name) else (names, normalise_name(name))
                other = index.get(key)
                if other is not None and other != course.id:
                    raise ValueError(
                        f"the name {name!r} is used by both {other!r} and {course.id!r}"
                    )
                index[key] = course.id
        object.__setattr__(self, "_names", MappingProxyType(names))
        object.__setattr__(self, "_iris", MappingProxyType(iris))

    def __iter__(self) -> Iterator[Course]:
        return iter(self.courses.values())

    def __len__(self) -> int:
        return len(self.courses)

    def course(self, course_id: str) -> Course:
        """The course with exactly this id (``KeyError`` if unknown)."""
        return self.courses[course_id]

    def find(self, name: str) -> Course | None:
        """The course an export calls ``name`` (an id, title or alias), or ``None``.

        An IRI (see :func:`is_iri`) matches only an alias that is the same IRI, character for
        character (leading and trailing spaces aside); other names ignore case and spacing.
        """
        course_id = self._iris.get(name.strip()) if is_iri(name) else self._names.get(normalise_name(name))
        return None if course_id is None else self.courses[course_id]

    def track(self, track_id: str) -> Track:
        """The track with this id (``KeyError`` if unknown)."""
        for track in self.tracks:
            if track.id == track_id:
                return track
        raise KeyError(track_id)

    def merged(self, other: Catalogue) -> Catalogue:
        """This catalogue plus ``other``'s courses and tracks (an id may not appear in both)."""
        return Catalogue([*self.courses.values(), *other.courses.values()], [*self.tracks, *other.tracks])

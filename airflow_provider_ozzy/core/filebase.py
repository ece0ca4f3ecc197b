"""``filebase``, parsed once: which placeholders it has, and the distinct name of every file.

Every file-based writer (FS, S3, GCS, Azure Blob and Files, SFTP, FTP, Google Drive) names its
files by asking ``Filebase.path``. The guarantee: two different (group, file number) pairs never
get the same path, and no path segment is longer than ``SEGMENT_BYTES`` bytes.

How, in order:

* Placeholders are only ``{groups[N]}`` and ``{file_number}`` (with an optional ``0Nd`` width);
  format specs, conversions and indexing into a value could make two values one text.
* Group values become path text through ``path_safety.safe_segment`` (injective).
* The file name always holds the file number (``{file_number:04d}`` is appended when ``filebase``
  has none, after a ``-`` when the name would otherwise end with a group) and every group
  (those ``filebase`` does not name are appended as ``-value``, as exporters did). A ``filebase``
  ending in ``/`` has an empty file-name prefix, so its files are ``<dir>/0000.jl.gz`` and, grouped,
  ``<dir>/0000-<value>.jl.gz`` (exporters' names): the name starts with the file number, never
  empty, hidden, ``.``/``..`` or the md5 file.
* Inside one path segment the placeholders' texts can be read back left to right: each ends
  where the literal after it starts (or at the first digit before a file number, at the first
  non-digit after one). A segment where this does not hold, or that is too long, or that reads as
  the md5 file, ``.`` or ``..``, is cut to fit and suffixed with ``~`` and a hash of the
  placeholders' texts. ``~`` is in no placeholder text and is refused in the literal text of a
  segment with placeholders, so such a name cannot be any other pair's name either.

The option is interpreted here only: its validation (``problems``), the names of one run
(``effective_at``: strftime with the run's moment), the static directory (the md5 file, the shard
check's listing), the pattern of every path it names (``regex``, for the shard check), a shard's own
names (``sharded``: the shard tag in the file-name part) and the directory lineage reports
(``lineage_directory``).
"""

from __future__ import annotations

import datetime
import json
import re
import string
from dataclasses import dataclass
from typing import cast

from airflow_provider_ozzy.core.path_safety import DIGEST_HEX, cut_to_bytes, digest, utf8

MD5_FILE_NAME = "md5checksum.md5"
# A file system takes 255 bytes per name; 240 leaves room for the hidden partial name
# ``.<name>.ozzy-partial`` that SFTP, FTP and Azure Files upload to before the rename.
SEGMENT_BYTES = 240
EXTENSION_BYTES = 24  # room kept for ".<extension>.<compression>" (".parquet.zstd" is 13)
MARK = "~"
_HASHED_BYTES = len(MARK) + 16
_GROUP = re.compile(r"groups\[(\d+)\]\Z")
_NUMBER_SPEC = re.compile(r"(0\d+)?d?\Z")
_SAMPLE_DATE = datetime.datetime(2000, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)
_LONE_BRACE = re.compile(r"\{\{|\}\}|\{")  # "{{" and "}}" are literal braces, a lone "{" opens a field
_HASHED = re.escape(MARK) + f"[0-9a-f]{{{DIGEST_HEX}}}"


@dataclass(frozen=True)
class Field:
    """A placeholder: group ``group`` (an index) or, when ``group`` is ``None``, the file number."""

    group: int | None
    spec: str = ""

    def text(self, groups: tuple[str, ...], number: int) -> str:
        return format(number, self.spec or "d") if self.group is None else groups[self.group]


Part = str | Field


@dataclass(frozen=True)
class Segment:
    """One path segment of ``filebase``: literal text and placeholders, in order."""

    parts: tuple[Part, ...]

    @property
    def fields(self) -> list[Field]:
        return [part for part in self.parts if isinstance(part, Field)]

    @property
    def literal(self) -> str:
        return "".join(part for part in self.parts if isinstance(part, str))

    def render(self, groups: tuple[str, ...], number: int, tail: str = "") -> str:
        """The segment's text (``tail``, the file extension, is kept whole at the end)."""
        texts = [part.text(groups, number) if isinstance(part, Field) else part for part in self.parts]
        rendered = "".join(texts) + tail
        if not self.fields:
            return rendered
        if (
            self._readable(groups, number)
            and len(utf8(rendered)) <= SEGMENT_BYTES
            and rendered not in (".", "..", MD5_FILE_NAME)
        ):
            return rendered
        field_texts = [field.text(groups, number) for field in self.fields]
        mark = MARK + digest(json.dumps(field_texts, ensure_ascii=False))
        room = SEGMENT_BYTES - len(utf8(mark + tail))
        return cut_to_bytes("".join(texts), room) + mark + tail

    def regex(self, tail: str = "") -> str:
        """The pattern of every text ``render`` gives (``tail``: the pattern of its tail).

        Without placeholders, the literal. Else the readable parts, or a shortened form: it keeps
        the literal before the first placeholder, since validation leaves room for the whole literal.

        A readable text was rendered only when each placeholder's text ends where the next part
        begins (``_readable``), so each placeholder's pattern stops there too: at most one way to
        split a text, and the match takes linear time. (``[^/]+`` per group backtracked through
        every split of a failing name: minutes for four groups in a 240-byte segment.)
        """
        if not self.fields:
            return re.escape(self.literal) + tail
        hashed = rf"{re.escape(self.parts[0] if isinstance(self.parts[0], str) else '')}[^/]*{_HASHED}{tail}"
        patterns = [
            _part_pattern(part, self.parts[index + 1] if index + 1 < len(self.parts) else None)
            for index, part in enumerate(self.parts)
        ]
        if None in patterns:  # never rendered readable
            return f"(?:{hashed})"
        return f"(?:{''.join(cast(list[str], patterns))}{tail}|{hashed})"

    def _readable(self, groups: tuple[str, ...], number: int) -> bool:
        """Whether each placeholder's text ends where a reader going left to right expects it."""
        parts = list(self.parts)
        for index, part in enumerate(parts):
            if not isinstance(part, Field):
                continue
            following = parts[index + 1 : index + 2]
            if not following:
                return True
            text = part.text(groups, number)
            after = following[0]
            if isinstance(after, str):
                if after[0] in text:
                    return False
            elif (part.group is None) == (after.group is None):
                return False  # two groups (or two numbers) side by side
            elif part.group is None:
                if after.text(groups, number)[:1].isdigit():
                    return False
            elif any(character.isdigit() for character in text):
                return False
        return True


def _part_pattern(part: Part, after: Part | None) -> str | None:
    """The pattern of ``part`` in a readable text, given the part after it (``None``: two
    placeholders of one kind side by side, which ``Segment._readable`` never renders readable)."""
    if isinstance(part, str):
        return re.escape(part)
    if part.group is None:
        return None if isinstance(after, Field) and after.group is None else r"\d+"
    if after is None:
        return r"[^/]+"
    if isinstance(after, str):
        return rf"[^/{re.escape(after[0])}]+"  # the text holds no first character of the literal
    return None if after.group is not None else r"[^/\d]+"  # before a number: no digit


def parse_segment(template: str) -> Segment:
    """``template``'s parts; raises ``ValueError`` with a one-line reason for a bad placeholder."""
    parts: list[Part] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"option 'filebase' has unbalanced braces ({error})") from None
    for literal, field, spec, conversion in parsed:
        if literal:
            parts.append(literal)
        if field is None:
            continue
        shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        root = re.split(r"[\[.]", field, maxsplit=1)[0]
        if root == "" or root.isdigit():
            raise ValueError(
                "option 'filebase' uses a positional placeholder '{}': use {groups[N]}, {file_number} or strftime codes"
            )
        if root not in ("groups", "file_number"):
            raise ValueError(
                f"option 'filebase' has an unknown placeholder '{shown}' (known: groups[N], file_number)"
            )
        group = _GROUP.match(field)
        plain_number = field == "file_number" and _NUMBER_SPEC.match(spec or "")
        if conversion or not (plain_number or (group and not spec)):
            raise ValueError(
                f"option 'filebase' has placeholder '{shown}': only {{groups[N]}} and {{file_number}} "
                "(or {file_number:04d}) are allowed, since format specs and indexing can give two groups one name"
            )
        parts.append(Field(int(group.group(1)) if group else None, spec or ""))
    return Segment(tuple(parts))


class Filebase:
    """A ``filebase`` after strftime: directory segments and the file-name prefix."""

    def __init__(self, effective: str) -> None:
        self.effective = effective
        *directory, prefix = effective.split("/")
        self.directory = [parse_segment(segment) for segment in directory]
        self.prefix = parse_segment(prefix)
        self.named_groups = {
            field.group
            for segment in [*self.directory, self.prefix]
            for field in segment.fields
            if field.group is not None
        }

    @staticmethod
    def effective_at(option: str, moment: datetime.datetime | None = None) -> str:
        """The raw ``filebase`` with its strftime codes filled for ``moment`` (now, in UTC)."""
        return (moment or datetime.datetime.now(datetime.UTC)).strftime(option)

    @classmethod
    def at(cls, option: str, moment: datetime.datetime | None = None) -> Filebase:
        """The ``Filebase`` of a run at ``moment`` (now): the names the writer gives that run."""
        return cls(cls.effective_at(option, moment))

    @property
    def names_no_file_prefix(self) -> bool:
        """Whether ``filebase`` ends with ``/``: files are ``<dir>/0000.<ext>``, as in exporters."""
        return not self.prefix.parts

    @classmethod
    def problems(cls, option: str) -> list[str]:
        """Why ``option`` (the raw ``filebase``) cannot name files: one line each, empty when it can."""
        if not option:
            return ["option 'filebase' must not be empty"]
        try:
            effective = cls.effective_at(option, _SAMPLE_DATE)
        except ValueError as error:
            return [f"option 'filebase' is not a valid strftime pattern ({error})"]
        *directory, prefix = effective.split("/")
        problems: list[str] = []
        if ".." in option.split("/"):
            problems.append("option 'filebase' must not contain '..'")
        segments: list[tuple[str, Segment]] = []
        for template in [*directory, prefix]:
            try:
                segments.append((template, parse_segment(template)))
            except ValueError as error:
                if str(error) not in problems:
                    problems.append(str(error))
        if problems:
            return problems
        *directory_segments, (_, name) = segments
        if any(field.group is None for _, segment in directory_segments for field in segment.fields):
            problems.append("option 'filebase' must not use {file_number} in its directory part")
        for index, (template, segment) in enumerate(segments):
            is_name = index == len(segments) - 1
            if not segment.fields and not is_name:
                if len(utf8(template)) > 255:
                    problems.append(_too_long(template, 255))
                continue
            if MARK in segment.literal:
                problems.append(
                    f"option 'filebase' must not use '{MARK}' beside a placeholder ({template!r}): "
                    "Ozzy marks shortened names with it"
                )
            limit = SEGMENT_BYTES - _HASHED_BYTES - (EXTENSION_BYTES + 5 if is_name else 0)
            if len(utf8(segment.literal)) > limit:
                problems.append(_too_long(template, limit))
        return problems

    def name_segment(self, group_count: int) -> Segment:
        """The prefix with what exporters appended: the file number, and groups it does not name."""
        parts = list(self.prefix.parts)
        if not any(field.group is None for field in self.prefix.fields):
            if parts and isinstance(parts[-1], Field):
                parts.append("-")
            parts.append(Field(None, "04d"))
        for group in range(group_count):
            if group not in self.named_groups:
                parts += ["-", Field(group)]
        return Segment(tuple(parts))

    def path(self, groups: tuple[str, ...], number: int, tail: str) -> str:
        """The path of file ``number`` of the group whose path texts are ``groups``.

        ``groups`` are ``path_safety.safe_segment`` texts; ``tail`` is ``.<extension>[.<compression>]``.
        Raises ``IndexError`` when ``filebase`` names a group the grouper does not give.
        """
        segments = [segment.render(groups, number) for segment in self.directory]
        segments.append(self.name_segment(len(groups)).render(groups, number, tail))
        return "/".join(segments)

    def static_directory(self) -> str:
        """The directory segments before the first one with a placeholder (the md5 file goes there).

        ``""`` when the first segment has one (or there is no directory), ``/`` for the root.
        """
        static = []
        for segment in self.directory:
            if segment.fields:
                break
            static.append(segment.render((), 0))
        return "/".join(static) if static != [""] else "/"

    def regex(self) -> re.Pattern[str]:
        """Matches every path ``path`` gives, whatever the groups, file numbers and tail.

        The file name is the prefix with the file number (appended when absent), then any groups
        ``filebase`` does not name (``-value``), then ``.<extension>[.<compression>]``.
        """
        segments = [segment.regex() for segment in self.directory]
        # "-a-b" is one "-[^/]+": a repeated group would backtrack through every split of the dashes
        segments.append(self.name_segment(0).regex(r"(?:-[^/]+)?\.[^/]*"))
        return re.compile(r"\A" + "/".join(segments) + r"\Z")

    @staticmethod
    def sharded(option: str, index: int, count: int) -> str:
        """The raw ``filebase`` of shard ``index`` of ``count``: its tag (``shard003_``, one width for
        all shards) before the first placeholder of the file-name part, or at its end when it has none.

        There the tag is in the literal a shortened name keeps, so two shards never share a name
        and no shard's ``regex`` matches another's files.
        """
        tag = f"shard{index:0{max(3, len(str(count - 1)))}d}_"
        directory, slash, name = option.rpartition("/")
        brace = next((match for match in _LONE_BRACE.finditer(name) if match.group() == "{"), None)
        at = brace.start() if brace else len(name)
        return f"{directory}{slash}{name[:at]}{tag}{name[at:]}"

    @classmethod
    def lineage_directory(cls, option: str, root: str = "/") -> str:
        """The directory lineage names for the raw ``filebase``: one dataset for every run.

        Its leading directory segments without a strftime code or placeholder, without a trailing
        ``/``; ``/`` when none and ``filebase`` is absolute, else ``root``.
        """
        *directory, _ = option.split("/")
        fixed = []
        for segment in directory:
            if "%" in segment.replace("%%", ""):
                break
            fixed.append(segment)
        static = cls.at("/".join([*fixed, ""])).static_directory().rstrip("/")
        return static or ("/" if option.startswith("/") else root)


def _too_long(template: str, limit: int) -> str:
    size = len(utf8(template))
    return (
        f"option 'filebase' has a path segment of {size} bytes ({template[:40]!r}...): "
        f"at most {limit} bytes, so every file name fits the 255 bytes a file system allows"
    )

"""Safe handling of uploaded model archives.

An upload is spooled to a temporary file with a byte limit, then every member is checked and
decompressed once, counting the bytes that actually come out, so a zip that lies about its sizes
is caught as surely as an honest bomb. Nothing is kept until the whole archive passes.
"""
from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable

from tucluster.errors import Invalid, TooLarge
from tucluster.settings import Settings

CHUNK = 1024 * 1024
ENTRY_POINT_SUFFIXES = (".tcf", ".py")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class ArchiveInfo:
    path: str
    size: int
    files: list[dict] = field(default_factory=list)  # [{"path", "size"}]
    entry_points: list[str] = field(default_factory=list)


def spool(stream: BinaryIO, limit: int, directory: str | None = None, tee=None) -> str:
    """Copy ``stream`` to a temporary file in chunks; TooLarge (and no file left) beyond ``limit``.

    ``tee``, if given, also receives every chunk (to store the bytes while they arrive).
    """
    handle = tempfile.NamedTemporaryFile(prefix="upload-", suffix=".zip", dir=directory, delete=False)
    received = 0
    try:
        with handle:
            while chunk := stream.read(CHUNK):
                received += len(chunk)
                if received > limit:
                    raise TooLarge(f"archive larger than the {limit} byte limit")
                handle.write(chunk)
                if tee is not None:
                    tee(chunk)
    except BaseException:
        os.unlink(handle.name)
        raise
    return handle.name


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return f"member {name!r} has an absolute path"
    if ".." in re.split(r"[\\/]", name):
        return f"member {name!r} climbs out of the archive with '..'"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"member {name!r} is a symbolic link"
    return None


def _check_expansion(archive: zipfile.ZipFile, info: zipfile.ZipInfo, settings: Settings, used: int) -> int:
    """Decompress one member, counting the bytes that come out against the guards.

    zipfile stops at the declared size and then checks the CRC, so a member that lies about its
    size fails as unreadable; an honest bomb is stopped here as soon as it crosses a limit.
    """
    produced = 0
    with archive.open(info) as member:
        while chunk := member.read(CHUNK):
            produced += len(chunk)
            if used + produced > settings.max_uncompressed_bytes:
                raise Invalid(f"archive expands beyond {settings.max_uncompressed_bytes} bytes")
            ratio = produced / max(info.compress_size, 1)
            if produced > settings.ratio_min_bytes and ratio > settings.max_compression_ratio:
                raise Invalid(
                    f"member {info.filename!r} compresses {ratio:.0f}:1, beyond the "
                    f"{settings.max_compression_ratio:.0f}:1 limit (zip bomb guard)"
                )
    return produced


def inspect(path: str, settings: Settings) -> ArchiveInfo:
    """Check an archive on disk; raises Invalid with the reason, returns its listing."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise Invalid(f"not a zip archive: {exc}") from exc
    with archive:
        members = archive.infolist()
        if len(members) > settings.max_archive_members:
            raise Invalid(f"archive has {len(members)} members, more than {settings.max_archive_members}")
        files, used = [], 0
        for info in members:
            problem = _member_problem(info)
            if problem:
                raise Invalid(problem)
            if info.is_dir():
                continue
            try:
                used += _check_expansion(archive, info, settings, used)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
                raise Invalid(f"member {info.filename!r} cannot be read: {exc}") from exc
            files.append({"path": info.filename.replace("\\", "/"), "size": info.file_size})
    entry_points = sorted(f["path"] for f in files if "/" not in f["path"]
                          and f["path"].lower().endswith(ENTRY_POINT_SUFFIXES))
    if not entry_points:
        raise Invalid(_no_entry_point_message(f["path"] for f in files))
    return ArchiveInfo(path=path, size=os.path.getsize(path), files=files, entry_points=entry_points)


def _no_entry_point_message(paths: Iterable[str]) -> str:
    nested = sorted(p for p in paths if p.lower().endswith(ENTRY_POINT_SUFFIXES))
    message = "no entry point at the archive root: a model needs a .tcf control file or a .py model script there"
    if nested:
        message += f" (found {nested[0]!r}: zip the folder's contents, not the folder)"
    return message


class ZipSource:
    """``controlfiles.Source`` over an open zip: exact names first, then case-insensitively."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.names = {info.filename.replace("\\", "/"): info.filename for info in archive.infolist()}
        self.folded = {name.lower(): stored for name, stored in self.names.items()}

    def _stored(self, path: str) -> str | None:
        return self.names.get(path) or self.folded.get(path.lower())

    def exists(self, path: str) -> bool:
        return self._stored(path) is not None

    def read_text(self, path: str) -> str:
        stored = self._stored(path)
        if stored is None:
            raise FileNotFoundError(path)
        return self.archive.read(stored).decode("utf-8", errors="replace")


def extract(archive_stream: BinaryIO, destination: str) -> list[str]:
    """Extract a stored (already checked) archive into ``destination``; returns the member paths.

    Paths are normalised again here: workers do not trust the database more than the API did.
    """
    written = []
    root = os.path.realpath(destination)
    with zipfile.ZipFile(archive_stream) as archive:
        for info in archive.infolist():
            if _member_problem(info) or info.is_dir():
                continue
            relative = posixpath.normpath(info.filename.replace("\\", "/"))
            target = os.path.realpath(os.path.join(root, relative))
            if not target.startswith(root + os.sep):
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, CHUNK)
            written.append(relative)
    return written

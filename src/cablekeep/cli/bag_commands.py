"""`bag`: any folder of files as a BagIt bag."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import click

from ..errors import EXIT_INVALID, UsageError
from .main import FileProgress, _echo_cleaned, _render_profile_report, _serialize_and_show, file_progress_line, main

def _bag_display(target: Path) -> AbstractContextManager[Callable[[FileProgress], None] | None]:
    return file_progress_line("bagging", target)


@main.command("bag")
@click.argument("source", type=click.Path(path_type=Path))  # checked by bag_directory: an interrupted --in-place
@click.option("--in-place", is_flag=True, help="Turn SOURCE itself into a bag (its files move into data/).")
@click.option("--output", type=click.Path(path_type=Path), show_default="bags",
              help="Where the new bag goes (not with --in-place).")
@click.option("--algorithm", "algorithms", multiple=True, show_default="sha512, sha256; with --profile, the profile's",
              type=click.Choice(["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]), help="Repeat for several.")
@click.option("--info", "info_items", multiple=True, metavar="LABEL=VALUE", help="A bag-info.txt field; repeatable.")
@click.option("--processes", type=click.IntRange(1, 256), help="Hashing processes (default: one per core).")
@click.option("--profile", "profile_name", metavar="NAME|PATH",
              help="Make the bag for a BagIt profile (aptrust, btr, or a profile file): its defaults are used and "
                   "a bag that would violate it is refused before anything is written.")
@click.option("--serialize", "serialize_as", type=click.Choice(["tar", "tar.gz", "zip"]),
              help="Also write the bag as one archive beside it, with its .sha256.")
def bag_command(source: Path, in_place: bool, output: Path | None, algorithms: tuple[str, ...],
                info_items: tuple[str, ...], processes: int | None, profile_name: str | None,
                serialize_as: str | None) -> None:
    """Bag any directory of files as BagIt 1.0, each file read once for all algorithms.

    An empty directory makes a bag with an empty payload (Payload-Oxum 0.0). With --profile, exit 2
    when the bag would violate the profile (nothing is written), 1 when the finished bag does.
    An interrupted run is finished by the same command; what it had left is removed and named. Exit 6
    when the bag cannot be written, 7 while another process bags the same folder."""
    from ..bagging.build import bag_directory

    if in_place and output is not None:
        raise UsageError("--in-place turns SOURCE itself into a bag; --output is for a copy: give one of them")
    info: dict[str, list[str]] = {}
    for item in info_items:
        label, sep, value = item.partition("=")
        if not sep or not label.strip():
            raise UsageError(f"--info {item!r}: write it as LABEL=VALUE")
        info.setdefault(label.strip(), []).append(value)
    full_info: Mapping[str, str | Sequence[str]] = info
    tag_files: Mapping[str, bytes] = {}
    profile = None
    if profile_name is not None:
        from ..handoff.profiles import (
            check_before_bagging,
            default_algorithms,
            load_profile,
            profile_tags,
            refuse_violations,
        )

        profile = load_profile(profile_name)
        algorithms = algorithms or default_algorithms(profile)
        tags = profile_tags(profile, info)  # bag-info.txt, and the profile's other tag files (aptrust-info.txt)
        full_info, tag_files = tags.info, tags.tag_files
        violations = check_before_bagging(full_info, algorithms, tag_files, profile, serialization=serialize_as)
        refuse_violations(violations, profile, f"the bag of {source}")
    with _bag_display(source) as on_progress:
        ref = bag_directory(source, dest_parent=None if in_place else (output or Path("bags")), in_place=in_place,
                            algorithms=algorithms or ("sha512", "sha256"), info=full_info, processes=processes,
                            on_progress=on_progress, tag_files=tag_files)
    _echo_cleaned(ref.cleaned)
    click.echo(f"bag: {ref.path}")
    click.echo(f"Payload-Oxum {ref.payload_oxum} ({ref.payload_files} files); {', '.join(ref.algorithms)}; "
               f"External-Identifier {ref.external_identifier}")
    made = ref.path
    if serialize_as is not None:
        made = _serialize_and_show(ref.path, serialize_as, ref.path.parent)
    if profile is not None:
        from ..handoff.profiles import validate_bag_against_profile

        report = validate_bag_against_profile(made, profile)
        _render_profile_report(report)
        if not report.ok:
            sys.exit(EXIT_INVALID)

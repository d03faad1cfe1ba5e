"""`validate-profile`, `serialize` and `deliver`: handing packages to libraries."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..errors import BagUnreadableError, EXIT_INVALID, UsageError
from ..fixity.history import FixityHistory
from ..fixity.serialized import verify_serialized
from ..fixity.verify import verify_bag
from .main import _db_option, _existing_dir, _render_profile_report, _render_report, _serialize_and_show, main
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..handoff.deliver import Destination


@main.command("validate-profile")
@click.argument("bag", type=click.Path(path_type=Path))
@click.argument("profile_name", metavar="PROFILE")
@click.option("--json", "as_json", is_flag=True, help="Both verdicts as one JSON object.")
def validate_profile(bag: Path, profile_name: str, as_json: bool) -> None:
    """Check BAG (a directory, .tar, .tar.gz or .zip) against a BagIt PROFILE (aptrust, btr, or a profile
    file), listing every violation, and verify it as BagIt too (full fixity); both verdicts are shown.

    Exit 0 when the bag conforms to the profile and is valid BagIt, 1 when either fails, 2 for a bad
    profile file (what is wrong in it is listed), 4 when the bag cannot be read."""
    from ..handoff.profiles import load_profile, validate_bag_against_profile

    profile = load_profile(profile_name)
    if not bag.exists():
        raise BagUnreadableError(f"{bag} not found; give a bag folder or a .tar, .tar.gz, .tgz or .zip bag")
    profile_report = validate_bag_against_profile(bag, profile)
    bagit_report = verify_serialized(bag) if bag.is_file() else verify_bag(bag)
    if as_json:
        click.echo(json.dumps({"profile": profile_report.to_json(), "bagit": bagit_report.to_json()}))
    else:
        click.echo(f"profile verdict ({profile.identifier}):")
        _render_profile_report(profile_report)
        click.echo("BagIt verdict (RFC 8493, every checksum):")
        _render_report(bagit_report)
        if profile_report.ok and not bagit_report.ok:
            click.echo("the verdicts disagree: the bag follows the profile's rules but is NOT valid BagIt")
        elif bagit_report.ok and not profile_report.ok:
            click.echo("the verdicts disagree: the bag is valid BagIt but does NOT conform to the profile")
    sys.exit(0 if profile_report.ok and bagit_report.ok else EXIT_INVALID)


@main.command("serialize")
@click.argument("bag", type=_existing_dir)
@click.option("--format", "fmt", type=click.Choice(["tar", "tar.gz", "zip"]), default="tar", show_default=True,
              help="The archive's format.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), show_default="beside BAG",
              help="The folder the archive and its .sha256 go into.")
def serialize_command(bag: Path, fmt: str, output: Path | None) -> None:
    """Write BAG as one archive holding one folder named like the bag, streamed, with NAME.EXT.sha256 beside it.

    An existing archive is never replaced (exit 2); exit 6 when it cannot be written."""
    _serialize_and_show(bag, fmt, output if output is not None else Path(os.path.abspath(bag)).parent)


def _destination(to: str | None, manifest_path: Path | None, to_dir: Path | None, to_s3: str | None,
                 endpoint_url: str | None) -> Destination:
    from urllib.parse import urlsplit

    from ..handoff.deliver import DirectoryDestination, S3Destination
    from ..manifest import load_manifest

    given = [name for name, value in (("--to-dir", to_dir), ("--to-s3", to_s3), ("--to", to)) if value is not None]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)}: give one destination")
    if manifest_path is not None and (to_dir is not None or to_s3 is not None):
        raise UsageError("--manifest names destinations for --to; --to-dir and --to-s3 need no manifest: give one way")
    if endpoint_url is not None and to_s3 is None:
        raise UsageError("--endpoint-url goes with --to-s3")
    if to_dir is not None:
        return DirectoryDestination(to_dir)
    if to_s3 is not None:
        parts = urlsplit(to_s3)
        if parts.scheme != "s3" or not parts.netloc:
            raise UsageError(f"--to-s3 {to_s3!r}: write it as s3://bucket/prefix")
        return S3Destination(parts.netloc, prefix=parts.path.strip("/"), endpoint_url=endpoint_url)
    if manifest_path is None:
        raise UsageError("say where to deliver: --to NAME with --manifest M (its delivery: section), "
                         "--to-dir DIR or --to-s3 s3://bucket/prefix")
    manifest = load_manifest(manifest_path)
    try:
        target = manifest.destination(to)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if target.kind == "directory":
        assert target.path is not None  # the manifest gives every directory destination a path
        return DirectoryDestination(target.path)
    return S3Destination(target.bucket, prefix=target.prefix, endpoint_url=target.endpoint_url, region=target.region,
                         storage_class=target.storage_class, profile=target.profile)


@main.command("deliver")
@click.argument("bag", type=click.Path(path_type=Path))
@click.option("--to", metavar="NAME", help="A destination of the manifest's delivery: section (default: its only one).")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The manifest whose delivery: section names the destinations.")
@click.option("--to-dir", type=click.Path(file_okay=False, path_type=Path), help="Deliver into this folder instead.")
@click.option("--to-s3", metavar="s3://BUCKET/PREFIX", help="Deliver to this bucket and prefix instead.")
@click.option("--endpoint-url", metavar="URL", help="The S3-compatible server of --to-s3 (default: AWS).")
@_db_option
def deliver_command(bag: Path, to: str | None, manifest_path: Path | None, to_dir: Path | None, to_s3: str | None,
                    endpoint_url: str | None, db: Path) -> None:
    """Deliver BAG (a bag folder, or a .tar, .tar.gz or .zip bag with its .sha256) to a library's folder or
    S3-compatible storage, verify every object where it arrived, write BAG.receipt.json beside it and
    record a replication event in the fixity history. Credentials come from the environment or a named
    AWS profile, never from the command line or the manifest. Delivering again resumes. The bag is
    verified in full first: a bag that is not valid is not sent (its problems are listed and recorded).

    Exit 0 delivered and verified, 1 the bag failed verification before sending (nothing sent) or
    verification on arrival failed, 2 usage error, 4 bag unreadable,
    6 could not write (destination refused, unreachable, or a different bag of the same name there),
    7 another delivery or repair of the bag is running."""
    from ..handoff.record import deliver_and_record

    destination = _destination(to, manifest_path, to_dir, to_s3, endpoint_url)
    with FixityHistory(db) as store:
        receipt, _ = deliver_and_record(bag, destination, store)
    sent = sum(1 for obj in receipt.objects if obj.outcome == "sent")
    there = sum(1 for obj in receipt.objects if obj.outcome == "already-there")
    failed = [obj for obj in receipt.objects if obj.outcome == "failed"]
    where = ", ".join(f"{key} {value}" for key, value in receipt.destination.items())
    verdict = "delivered and verified on arrival" if receipt.ok else "FAILED verification on arrival"
    click.echo(f"{receipt.bag}: {verdict} ({where}); {sent} object(s) sent ({receipt.bytes_sent} bytes), "
               f"{there} already there and intact, {len(failed)} failed")
    for obj in failed:
        click.echo(f"  failed: {obj.key}: {obj.detail}")
    click.echo(f"receipt: {receipt.path}")
    if not receipt.ok:
        click.echo("deliver again to send what failed once more", err=True)
    sys.exit(0 if receipt.ok else EXIT_INVALID)

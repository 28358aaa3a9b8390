"""The `generate --hosting KIND --out DIR` options, kept here so generate.py only calls two functions.

Rendering and writing happen before anything is printed, so a refused write (a different
file already in the way) ends with one line on stderr and exit 2, never with half the
output on stdout.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.hosting import HOSTING_KINDS, SERVER_KINDS, HostingBundle, HostingError, render_hosting, write_bundle
from wizard.hosting.bundle import WriteResult


def add_hosting_options(parser: argparse.ArgumentParser) -> None:
    """--hosting, --out, --cert, --key, --web-root, --force."""
    parser.add_argument(
        "--hosting",
        choices=list(HOSTING_KINDS),
        metavar="KIND",
        help=f"also make the files that serve the policy: {', '.join(HOSTING_KINDS)} (default with --out: folder)",
    )
    parser.add_argument("--out", metavar="DIR", help="write the hosting files into DIR instead of printing them")
    parser.add_argument(
        "--cert", metavar="FILE", help="certificate chain path for nginx/apache/caddy (default: certbot's)"
    )
    parser.add_argument("--key", metavar="FILE", help="private key path for nginx/apache/caddy (default: certbot's)")
    parser.add_argument(
        "--web-root", metavar="DIR", help="where the server reads the policy from (default /var/www/mta-sts.DOMAIN)"
    )
    parser.add_argument("--force", action="store_true", help="replace files in DIR that differ from the new ones")


@dataclass
class HostingOutput:
    """A rendered bundle and, with --out, what writing it did."""

    bundle: HostingBundle
    out_dir: Path | None
    result: WriteResult | None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.bundle.kind,
            "title": self.bundle.title,
            "files": self.bundle.files,
            "notes": self.bundle.notes,
            "dns_hint": self.bundle.dns_hint,
        }
        if self.result is not None:
            data["written"] = [str(p) for p in self.result.written]
            data["unchanged"] = [str(p) for p in self.result.unchanged]
        return data

    def render_text(self) -> str:
        lines = []
        if self.result is not None and self.out_dir is not None:
            lines.append(f"# Hosting files for {self.bundle.title}, in {self.out_dir}")
            lines += [f"wrote      {p}" for p in self.result.written]
            lines += [f"unchanged  {p}" for p in self.result.unchanged]
        else:
            lines.append(f"# Hosting files for {self.bundle.title} (add --out DIR to write them)")
            for rel, text in self.bundle.files.items():
                lines.append(f"# ---- {rel}")
                lines.append(text.rstrip("\n") if text else "(empty file)")
        lines.append("# Next steps")
        lines += [f"- {note}" for note in self.bundle.notes]
        lines.append(f"# DNS record for {self.bundle.policy_host}")
        lines.append(self.bundle.dns_hint)
        return "\n".join(lines) + "\n"


def hosting_from_args(args: argparse.Namespace, domain: str, policy_text: str) -> HostingOutput | None:
    """Render (and with --out, write) the bundle the options ask for; None when they ask for none.

    Raises HostingError with a one-line message for options that do not fit together or a
    write that would replace a different file.
    """
    kind = args.hosting or ("folder" if args.out else None)
    server_options = [name for name in ("cert", "key", "web_root") if getattr(args, name)]
    if kind is None:
        if server_options or args.force:
            raise HostingError("--cert, --key, --web-root and --force need --hosting KIND (and --force needs --out)")
        return None
    if server_options and kind not in SERVER_KINDS:
        option = "--" + server_options[0].replace("_", "-")
        raise HostingError(f"{option} applies only to --hosting nginx, apache or caddy, not {kind}")
    if args.force and not args.out:
        raise HostingError("--force only matters with --out DIR")
    bundle = render_hosting(
        kind,
        domain,
        policy_text,
        cert_path=_absolute(args.cert),
        key_path=_absolute(args.key),
        web_root=_absolute(args.web_root),
    )
    if not args.out:
        return HostingOutput(bundle, None, None)
    out_dir = Path(args.out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise HostingError(f"--out {args.out} is a file; give a directory (it is created if missing)")
    try:
        result = write_bundle(bundle, out_dir, overwrite=args.force)
    except OSError as exc:
        raise HostingError(f"cannot write into {out_dir}: {exc.strerror or exc}; choose a writable directory") from None
    if result.conflicts:
        first = result.conflicts[0]
        more = f" (and {len(result.conflicts) - 1} more)" if len(result.conflicts) > 1 else ""
        raise HostingError(
            f"{first}{more} already exists with different content; nothing was written. "
            "Move it away or pass --force to replace it"
        )
    return HostingOutput(bundle, out_dir, result)


def _absolute(path: str | None) -> str | None:
    """Config files need absolute paths; a relative one the user typed is taken from here."""
    return str(Path(path).expanduser().absolute()) if path else None


def add_to_json(document: str, hosting: HostingOutput | None) -> str:
    """generate's JSON document with a "hosting" member added (an addition, per CONTRACT.md)."""
    if hosting is None:
        return document
    import json

    data = json.loads(document)
    data["hosting"] = hosting.to_json()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

"""Find, or unpack, the headless Chromium that kaleido drives to turn figures into PNGs.

One Chromium build serves both modes: the npm package @sparticuz/chromium ships a
brotli-compressed headless shell, built to run on Lambda, that also runs on Debian.
- In Lambda, the charts layer puts its ``*.br`` files in /opt/chromium; they are unpacked
  once per cold start into /tmp (the only writable place).
- Locally, ``make chromium`` fetches the same package with npm and unpacks it into
  ``.cache/chromium``.

Either way the unpacked folder holds a small shell script (the *wrapper*) that sets the
environment the build needs (its own NSS libraries and fonts) and adds the flags it
needs: that script's path is what kaleido is given, as if it were Chrome.

CLI: ``python -m flowdigest.charts.browser unpack --dest DIR [--src DIR]`` and
``python -m flowdigest.charts.browser which``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import shlex
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import brotli

NPM_PACKAGE = "@sparticuz/chromium"
NPM_VERSION = "153.0.0"  # the one pin: mk/chromium.mk and layers/charts/Makefile read it

ENV_CHROMIUM = "FLOWDIGEST_CHROMIUM"  # a chromium binary, or a wrapper, to use as is
ENV_CACHE = "FLOWDIGEST_CACHE"  # a folder used instead of the repository's .cache

LAMBDA_SRC = Path("/opt/chromium")  # where the charts layer's chromium/ folder lands
LAMBDA_DEST = Path(tempfile.gettempdir()) / "chromium"

WRAPPER = "flowdigest-chromium"  # the script handed to kaleido, inside an unpacked folder
_MARKER = ".unpacked"  # written last: its presence means the folder is complete
_LAYOUT = 3  # bump when the folder's layout or the wrapper changes, to force a re-unpack

_BINARY = "chromium.br"
_TARBALLS = {  # tarball -> folder (relative to the unpacked root) it is extracted into
    "al2023.tar.br": "al2023",  # NSS/NSPR/expat: Lambda's AL2023 runtimes have none
    "swiftshader.tar.br": ".",  # software GL: Chromium looks for it beside its binary
    "fonts.tar.br": "fonts",  # Open Sans, the font plotly asks for first
}
ARCHIVES = (_BINARY, *_TARBALLS)

_SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Chromium's flags, added after kaleido's own (the last of a repeated flag wins).
# Never reach for the network: in a VPC without a NAT a connection attempt just hangs,
# and nothing here needs it (plotly.js is loaded from disk, MathJax is turned off).
_DISABLED_FEATURES = (
    # @sparticuz/chromium's (no out-of-process audio, no site isolation: one process)
    "AudioServiceOutOfProcess",
    "IsolateOrigins",
    "site-per-process",
    # services that phone home
    "Translate",
    "OptimizationHints",
    "MediaRouter",
    "DialMediaRouteProvider",
    "CertificateTransparencyComponentUpdater",
    "AutofillServerCommunication",
    "InterestFeedContentSuggestions",
)
_OFFLINE_FLAGS = (
    "--no-sandbox",  # as root (locally, in CI) the sandbox refuses to start
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-first-run",
    "--no-pings",
    f"--disable-features={','.join(_DISABLED_FEATURES)}",
)
# The serverless flags @sparticuz/chromium launches its build with (its Chromium.args,
# graphics on). --single-process and --no-zygote are what let it start inside Lambda.
_SERVERLESS_FLAGS = (
    "--ash-no-nudges",
    "--disable-print-preview",
    "--disk-cache-size=33554432",
    "--single-process",
    "--no-zygote",
    "--font-render-hinting=none",
    "--enable-features=SharedArrayBuffer",
    "--ignore-gpu-blocklist",
    "--in-process-gpu",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--allow-running-insecure-content",
    "--disable-setuid-sandbox",
    "--disable-site-isolation-trials",
    "--disable-web-security",
    "--headless=shell",
)

# fontconfig resolves <dir prefix="relative"> against this file's folder. <cachedir> has
# no such prefix (a relative one lands in the working directory, and none at all means
# the system's /var/cache/fontconfig), so unpack() writes the folder's final path there.
_FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<!-- Written by flowdigest.charts.browser: only the fonts shipped with the build, so
     charts look the same on a laptop and in Lambda. -->
<fontconfig>
  <dir prefix="relative">fonts</dir>
  <cachedir>{cachedir}</cachedir>
</fontconfig>
"""


class ChromiumNotFound(RuntimeError):
    """No usable Chromium: the message says how to get one."""


def _one_line_hint() -> str:
    return f"run `make chromium` (or set {ENV_CHROMIUM} to a Chromium executable)"


# ---------------------------------------------------------------------------- finding


def find_chromium() -> Path:
    """The executable to hand to kaleido (a wrapper script, or a browser binary).

    Order: $FLOWDIGEST_CHROMIUM; the Lambda layer (/opt/chromium, unpacked once into
    /tmp/chromium); an unpacked ``.cache/chromium`` ($FLOWDIGEST_CACHE, then upward from
    the working directory, then upward from this file); a Chromium on PATH.
    """
    explicit = os.environ.get(ENV_CHROMIUM)
    if explicit:
        path = Path(explicit).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ChromiumNotFound(f"{ENV_CHROMIUM}={explicit} is not an executable file; {_one_line_hint()}")
        return path.absolute()

    if (LAMBDA_SRC / _BINARY).is_file():
        return unpack(LAMBDA_SRC, LAMBDA_DEST)

    for folder in _cache_candidates():
        if is_unpacked(folder):
            return (folder / WRAPPER).absolute()

    for name in _SYSTEM_NAMES:
        found = shutil.which(name)
        if found:
            return _system_wrapper(Path(found))

    raise ChromiumNotFound(f"no Chromium found for rendering charts; {_one_line_hint()}")


def _cache_candidates() -> list[Path]:
    """The ``chromium`` folders a local cache may hold, most specific first."""
    roots: list[Path] = []
    env_cache = os.environ.get(ENV_CACHE)
    if env_cache:
        roots.append(Path(env_cache).expanduser())
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        roots.extend(parent / ".cache" for parent in (start, *start.parents))
    seen: set[Path] = set()
    unique = []
    for root in roots:
        folder = (root / "chromium").absolute()
        if folder not in seen:
            seen.add(folder)
            unique.append(folder)
    return unique


def _system_wrapper(binary: Path) -> Path:
    """A wrapper adding the offline flags to a system Chromium (kaleido takes only a path)."""
    script = _wrapper_script(shlex.quote(str(binary)), env_lines=(), flags=_OFFLINE_FLAGS)
    digest = hashlib.sha256(script.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"flowdigest-chromium-{os.getuid()}-{digest}"
    # /tmp is shared: only reuse a file that is ours and says what we would write.
    with contextlib.suppress(OSError):
        if path.stat().st_uid == os.getuid() and path.read_text() == script:
            return path
    _write_atomically(path, script, mode=0o755)
    return path


# --------------------------------------------------------------------------- unpacking


def _fingerprint(src_dir: Path) -> str:
    # Sizes identify a release well enough and cost no reading of 70 MB.
    sizes = " ".join(f"{name}={(src_dir / name).stat().st_size}" for name in ARCHIVES)
    return f"layout={_LAYOUT} {sizes}\n"


def is_unpacked(dest_dir: Path, src_dir: Path | None = None) -> bool:
    """Whether ``dest_dir`` holds a complete unpacked build (of ``src_dir``'s files, if given)."""
    marker = dest_dir / _MARKER
    if not (marker.is_file() and os.access(dest_dir / WRAPPER, os.X_OK)):
        return False
    if not marker.read_text().startswith(f"layout={_LAYOUT} "):
        return False
    return src_dir is None or marker.read_text() == _fingerprint(src_dir)


def unpack(src_dir: Path | str, dest_dir: Path | str, *, force: bool = False) -> Path:
    """Decompress the @sparticuz/chromium ``*.br`` files of ``src_dir`` into ``dest_dir``.

    Returns the wrapper script's path. Does nothing when ``dest_dir`` already holds these
    files unpacked. Safe when processes race: each unpacks into its own temporary folder
    beside ``dest_dir`` and renames it into place; the first rename wins.
    """
    src, dest = Path(src_dir).absolute(), Path(dest_dir).absolute()
    missing = [name for name in ARCHIVES if not (src / name).is_file()]
    if missing:
        raise ChromiumNotFound(f"{src} lacks {', '.join(missing)} (not a {NPM_PACKAGE} bin folder); {_one_line_hint()}")
    if not force and is_unpacked(dest, src):
        return dest / WRAPPER

    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        _decompress_file(src / _BINARY, work / "chromium")
        (work / "chromium").chmod(0o755)
        for tarball, subdir in _TARBALLS.items():
            _extract_tarball(src / tarball, work / subdir)
        # Replaces the package's own, which names /tmp/fonts.
        cachedir = xml_escape(str(dest / "fonts" / "cache"))
        (work / "fonts" / "fonts.conf").write_text(_FONTS_CONF.format(cachedir=cachedir))
        (work / WRAPPER).write_text(_build_wrapper())
        (work / WRAPPER).chmod(0o755)
        (work / _MARKER).write_text(_fingerprint(src))
        work.chmod(0o755)  # mkdtemp makes it 0700
        _move_into_place(work, dest, src)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest / WRAPPER


def _move_into_place(work: Path, dest: Path, src: Path) -> None:
    if dest.exists():
        if is_unpacked(dest, src):  # another process got there first
            return
        # An older or broken unpack: move it aside (a rename, so nothing sees half of it).
        stale = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
        with contextlib.suppress(FileNotFoundError):  # someone else moved it
            os.replace(dest, stale / "old")
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.rename(work, dest)
    except OSError:
        # dest reappeared in between: fine if it is a complete unpack of the same files.
        if not is_unpacked(dest, src):
            raise


def _decompress_file(src: Path, dest: Path) -> None:
    # Streamed in bounded pieces: the binary is ~200 MB unpacked, Lambda memory may be small.
    decompressor = brotli.Decompressor()
    with src.open("rb") as fin, dest.open("wb") as fout:
        while chunk := fin.read(1 << 20):
            fout.write(decompressor.process(chunk, output_buffer_limit=1 << 24))
            while not decompressor.can_accept_more_data():
                fout.write(decompressor.process(b"", output_buffer_limit=1 << 24))
    if not decompressor.is_finished():
        raise OSError(f"{src} is truncated (brotli stream did not finish)")


def _extract_tarball(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    data = brotli.decompress(src.read_bytes())  # a few MB at most
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        # "data" refuses absolute paths, links out of dest and device files; the tarballs
        # hold libraries, whose exec bits it keeps.
        tar.extractall(dest, filter="data")


def _build_wrapper() -> str:
    env_lines = (
        'export LD_LIBRARY_PATH="$here/al2023/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"',
        'export FONTCONFIG_PATH="$here/fonts"',
        'export FONTCONFIG_FILE="$here/fonts/fonts.conf"',
    )
    flags = (*_OFFLINE_FLAGS, *_SERVERLESS_FLAGS)
    return _wrapper_script('"$here/chromium"', env_lines=env_lines, flags=flags)


def _wrapper_script(exe: str, *, env_lines: Sequence[str], flags: Sequence[str]) -> str:
    lines = [
        "#!/bin/sh",
        "# Written by flowdigest.charts.browser: runs Chromium for kaleido with the",
        "# environment and flags it needs (kaleido itself only takes a path).",
        # kaleido calls us by absolute path; locate the unpacked folder without coreutils.
        'case "$0" in */*) here="${0%/*}" ;; *) here=. ;; esac',
        *env_lines,
        # Chromium writes under $HOME (NSS db); in Lambda HOME is unset or read-only.
        'if [ -z "${HOME:-}" ] || [ ! -w "$HOME" ]; then export HOME="${TMPDIR:-/tmp}"; fi',
        f'exec {exe} "$@" \\',
        *(f"  {flag} \\" for flag in flags[:-1]),
        f"  {flags[-1]}",
        "",
    ]
    return "\n".join(lines)


def _write_atomically(path: Path, text: str, *, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------- CLI


def _default_src(dest: Path) -> Path:
    """Where `make chromium` leaves the npm package: beside the unpack folder, in npm/."""
    candidates = [
        dest.absolute().parent / "npm" / "node_modules" / NPM_PACKAGE / "bin",
        Path("node_modules") / NPM_PACKAGE / "bin",
        LAMBDA_SRC,
    ]
    for candidate in candidates:
        if (candidate / _BINARY).is_file():
            return candidate
    return candidates[0]  # unpack() then says what is missing there


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flowdigest.charts.browser",
        description=f"The headless Chromium used to render charts ({NPM_PACKAGE}@{NPM_VERSION}).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p_unpack = commands.add_parser("unpack", help="decompress the npm package's *.br files into a folder")
    p_unpack.add_argument("--dest", type=Path, required=True, help="folder to unpack into (.cache/chromium)")
    p_unpack.add_argument(
        "--src",
        type=Path,
        help=f"the package's bin/ folder (default: ../npm/node_modules/{NPM_PACKAGE}/bin from DEST)",
    )
    p_unpack.add_argument("--force", action="store_true", help="unpack again even if already done")
    commands.add_parser("which", help="print the executable charts would be rendered with")
    args = parser.parse_args(argv)

    try:
        if args.command == "unpack":
            print(unpack(args.src or _default_src(args.dest), args.dest, force=args.force))
        else:
            print(find_chromium())
    except ChromiumNotFound as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

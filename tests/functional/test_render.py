"""Chart rendering: finding/unpacking Chromium, and real PNGs from the one browser per process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import brotli
import plotly.graph_objects as go
import pytest
from pngcheck import png_pixels, png_size

from flowdigest.charts import browser, render
from flowdigest.charts.browser import ChromiumNotFound, find_chromium, is_unpacked, unpack
from flowdigest.charts.render import PngRenderer, RenderError

PLOTLY_BLUE = (0x63, 0x6E, 0xFA)  # plotly's first default trace colour


def bar_chart() -> go.Figure:
    fig = go.Figure(go.Bar(x=["ssh", "https", "dns", "ntp"], y=[120, 950, 430, 60]))
    fig.update_layout(title="Bytes by destination port", template="plotly_white")
    return fig


# --------------------------------------------------------------- rendering (Chromium)


@pytest.mark.chromium
def test_bar_chart_is_a_real_png_of_the_asked_size() -> None:
    png = PngRenderer().render(bar_chart(), 800, 450)

    assert png_size(png) == (800, 450)
    pixels = png_pixels(png)
    assert len(pixels) > 10, "blank image"
    assert (255, 255, 255) in pixels  # the plotly_white background
    assert PLOTLY_BLUE in pixels  # the bars


@pytest.mark.chromium
def test_scale_multiplies_the_pixels() -> None:
    png = PngRenderer().render(bar_chart(), 400, 300, scale=2)
    assert png_size(png) == (800, 600)


@pytest.mark.chromium
def test_renders_reuse_one_browser_per_process() -> None:
    first = PngRenderer()
    first.render(bar_chart(), 300, 200)
    server = render._server
    second = PngRenderer()
    with second:
        pngs = second.render_many([(bar_chart(), 320, 200), (go.Figure(), 200, 100)])

    assert render._server is server
    assert second.browser_pid == first.browser_pid is not None
    assert second.browser_start_seconds == 0  # nothing was started for it
    assert [png_size(p) for p in pngs] == [(320, 200), (200, 100)]
    assert len(second.chart_seconds) == 2


@pytest.mark.chromium
def test_a_bad_figure_fails_with_one_line() -> None:
    with pytest.raises(RenderError) as caught:
        PngRenderer().render({"data": "not a list"}, 300, 200)
    assert "\n" not in str(caught.value)
    assert "300x200" in str(caught.value)


@pytest.mark.chromium
def test_a_fresh_browser_writes_nothing_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = find_chromium()  # before the chdir: found from the repository's .cache
    monkeypatch.chdir(tmp_path)
    render.stop_server()  # fontconfig writes its cache when the browser starts
    PngRenderer(chromium).render(bar_chart(), 300, 200)
    assert list(tmp_path.iterdir()) == []


def test_a_browser_that_does_not_start_is_an_error_not_a_hang(tmp_path: Path) -> None:
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'no display' >&2\nexit 3\n")
    broken.chmod(0o755)
    render.stop_server()  # the next renderer then starts a browser of its own

    with pytest.raises(RenderError, match="could not start Chromium"):
        PngRenderer(broken, timeout=30).start()
    assert render._server is None


# ----------------------------------------------------------------------- finding it


@pytest.fixture
def no_chromium_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment where no search step finds a browser: the tests add one back."""
    monkeypatch.delenv(browser.ENV_CHROMIUM, raising=False)
    monkeypatch.delenv(browser.ENV_CACHE, raising=False)
    monkeypatch.setattr(browser, "LAMBDA_SRC", tmp_path / "opt-chromium")
    monkeypatch.setattr(browser, "__file__", str(tmp_path / "site" / "browser.py"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def test_find_chromium_honours_the_env_variable(no_chromium_anywhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = no_chromium_anywhere / "my-chrome"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv(browser.ENV_CHROMIUM, str(exe))
    assert find_chromium() == exe


@pytest.mark.parametrize("kind", ["missing", "not executable"])
def test_find_chromium_rejects_a_bad_env_path(
    no_chromium_anywhere: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = no_chromium_anywhere / "nope"
    if kind == "not executable":
        path.write_text("")
    monkeypatch.setenv(browser.ENV_CHROMIUM, str(path))
    with pytest.raises(ChromiumNotFound) as caught:
        find_chromium()
    message = str(caught.value)
    assert f"FLOWDIGEST_CHROMIUM={path}" in message and "make chromium" in message
    assert "\n" not in message


def test_find_chromium_says_how_to_get_one(no_chromium_anywhere: Path) -> None:
    with pytest.raises(ChromiumNotFound, match="make chromium"):
        find_chromium()


def test_find_chromium_searches_the_cache_upward_from_cwd(
    no_chromium_anywhere: Path, fake_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapper = unpack(fake_bin, no_chromium_anywhere / ".cache" / "chromium")
    nested = no_chromium_anywhere / "work" / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_chromium() == wrapper


def test_find_chromium_uses_the_cache_env_variable(
    no_chromium_anywhere: Path, fake_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapper = unpack(fake_bin, no_chromium_anywhere / "elsewhere" / "chromium")
    monkeypatch.setenv(browser.ENV_CACHE, str(no_chromium_anywhere / "elsewhere"))
    assert find_chromium() == wrapper


def test_find_chromium_unpacks_the_lambda_layer(
    no_chromium_anywhere: Path, fake_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "LAMBDA_SRC", fake_bin)
    monkeypatch.setattr(browser, "LAMBDA_DEST", no_chromium_anywhere / "tmp" / "chromium")
    assert find_chromium() == no_chromium_anywhere / "tmp" / "chromium" / browser.WRAPPER


def test_find_chromium_wraps_a_system_chromium(no_chromium_anywhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(no_chromium_anywhere))  # where the wrapper goes
    bin_dir = no_chromium_anywhere / "empty-bin"
    bin_dir.mkdir()
    system = bin_dir / "chromium"
    system.write_text('#!/bin/sh\necho "$@"\n')
    system.chmod(0o755)

    wrapper = find_chromium()
    args = subprocess.run([wrapper, "--headless"], capture_output=True, text=True, check=True).stdout.split()
    assert args[0] == "--headless"
    assert {"--no-sandbox", "--disable-background-networking"} <= set(args)
    assert "--single-process" not in args  # serverless flags are for the Lambda build only
    assert find_chromium() == wrapper  # written once, then reused


# ------------------------------------------------------------------------- unpacking


def _tar_br(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return brotli.compress(buffer.getvalue())


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A stand-in for @sparticuz/chromium's bin/: a 'chromium' that prints its args and env."""
    src = tmp_path / "npm-bin"
    src.mkdir()
    script = b'#!/bin/sh\necho "$@"\necho "LD=$LD_LIBRARY_PATH FC=$FONTCONFIG_FILE HOME=$HOME"\n'
    (src / "chromium.br").write_bytes(brotli.compress(script))
    (src / "al2023.tar.br").write_bytes(_tar_br({"lib/libnss3.so": b"nss"}))
    (src / "swiftshader.tar.br").write_bytes(_tar_br({"libGLESv2.so": b"gl"}))
    (src / "fonts.tar.br").write_bytes(_tar_br({"fonts.conf": b"<fontconfig/>", "fonts/A/a.ttf": b"ttf"}))
    return src


def test_unpack_lays_out_the_build_and_a_working_wrapper(fake_bin: Path, tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "chromium"
    wrapper = unpack(fake_bin, dest)

    assert wrapper == dest / browser.WRAPPER and is_unpacked(dest, fake_bin)
    assert (dest / "al2023" / "lib" / "libnss3.so").is_file()
    assert (dest / "libGLESv2.so").is_file()  # beside the binary, where Chromium looks
    assert (dest / "fonts" / "fonts" / "A" / "a.ttf").is_file()
    fonts_conf = (dest / "fonts" / "fonts.conf").read_text()
    assert '<dir prefix="relative">fonts</dir>' in fonts_conf  # only the shipped fonts
    assert f"<cachedir>{dest}/fonts/cache</cachedir>" in fonts_conf  # not the working directory

    env = {"PATH": os.environ["PATH"], "HOME": "/nonexistent"}
    out = subprocess.run([wrapper, "--remote-debugging-pipe"], capture_output=True, text=True, env=env, check=True)
    args, env_line = out.stdout.splitlines()
    assert args.split()[0] == "--remote-debugging-pipe"  # kaleido's own come first...
    assert args.split()[-1] == "--headless=shell"  # ...then ours, which win
    for flag in ("--single-process", "--no-zygote", "--no-sandbox", "--disable-background-networking"):
        assert flag in args.split()
    assert f"LD={dest}/al2023/lib " in env_line
    assert f"FC={dest}/fonts/fonts.conf " in env_line
    assert "HOME=/nonexistent" not in env_line  # an unwritable HOME is replaced


def test_unpack_is_idempotent(fake_bin: Path, tmp_path: Path) -> None:
    dest = tmp_path / "chromium"
    unpack(fake_bin, dest)
    binary_inode = (dest / "chromium").stat().st_ino

    assert unpack(fake_bin, dest) == dest / browser.WRAPPER
    assert (dest / "chromium").stat().st_ino == binary_inode  # not unpacked again

    (fake_bin / "chromium.br").write_bytes(brotli.compress(b"#!/bin/sh\necho newer build\n"))
    unpack(fake_bin, dest)  # a different release is unpacked again
    assert b"newer build" in (dest / "chromium").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dirs left


def test_unpack_survives_racing_processes(fake_bin: Path, tmp_path: Path) -> None:
    dest = tmp_path / "chromium"
    with ThreadPoolExecutor(4) as pool:
        wrappers = list(pool.map(lambda _: unpack(fake_bin, dest), range(8)))
    assert set(wrappers) == {dest / browser.WRAPPER}
    assert is_unpacked(dest, fake_bin)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chromium", "npm-bin"]


def test_unpack_needs_the_package_files(tmp_path: Path) -> None:
    with pytest.raises(ChromiumNotFound, match=r"lacks chromium\.br.*make chromium"):
        unpack(tmp_path, tmp_path / "out")


def test_cli(fake_bin: Path, tmp_path: Path) -> None:
    def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **env}
        cmd = [sys.executable, "-m", "flowdigest.charts.browser", *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=full_env)

    assert cli("--help").returncode == 0
    done = cli("unpack", "--src", str(fake_bin), "--dest", str(tmp_path / "c"))
    assert done.returncode == 0 and done.stdout.strip() == str(tmp_path / "c" / browser.WRAPPER)

    which = cli("which", FLOWDIGEST_CHROMIUM=done.stdout.strip())
    assert which.returncode == 0 and which.stdout.strip() == done.stdout.strip()
    bad = cli("which", FLOWDIGEST_CHROMIUM=str(tmp_path / "missing"))
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1

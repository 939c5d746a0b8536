"""One atomic-write helper: files others can read as the umask says, and still atomic."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from loratui.atomic import atomic_copy, atomic_write_bytes, atomic_write_text, current_umask


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_without_changing_it(umask):
    assert current_umask() == umask
    assert current_umask() == umask


def test_new_files_follow_the_umask(tmp_path, umask):
    want = 0o666 & ~umask  # 0644 under 022, 0600 under 077: what open() gives
    text = atomic_write_text(tmp_path / "sub" / "a.toml", "x = 1\r\n")
    blob = atomic_write_bytes(tmp_path / "b.bin", b"\0\1")
    src = tmp_path / "src.safetensors"
    src.write_bytes(b"lora" * 1000)
    os.chmod(src, 0o600)
    copy = atomic_copy(src, tmp_path / "webui" / "src.safetensors")
    assert [mode(p) for p in (text, blob, copy)] == [want] * 3
    assert text.read_bytes() == b"x = 1\r\n"  # line endings untouched
    assert copy.read_bytes() == src.read_bytes()
    assert mode(tmp_path / "sub") == 0o777 & ~umask


def test_an_existing_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "loratui.toml"
    path.write_text("old")
    os.chmod(path, 0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o640


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    from loratui.atomic import atomic_write

    path = tmp_path / "state.json"
    path.write_text("old")

    def boom(fh):
        fh.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, boom)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_webui_copy_config_and_prepared_images_are_readable_by_others(tmp_path):
    from PIL import Image

    from loratui.config import RunConfig, save_config
    from loratui.dataset.prepare import PrepareOptions, prepare
    from loratui.deploy import install_lora

    old = os.umask(0o022)
    try:
        lora = tmp_path / "run" / "hanfu.safetensors"
        lora.parent.mkdir()
        lora.write_bytes(b"\0" * 64)
        os.chmod(lora, 0o600)
        webui = tmp_path / "webui" / "models" / "Lora"
        webui.mkdir(parents=True)
        copied = install_lora(lora, webui)
        save_config(RunConfig(), tmp_path / "loratui.toml")
        src = tmp_path / "images"
        src.mkdir()
        Image.new("RGB", (96, 80), "red").save(src / "a.png")
        (src / "a.txt").write_text("sks, a red square")
        out = tmp_path / "prepared"
        prepare(src, out, PrepareOptions(mode="crop", resolution=64, workers=0))
    finally:
        os.umask(old)
    written = [copied, tmp_path / "loratui.toml", *sorted(out.rglob("*"))]
    assert len(written) >= 4
    for path in written:
        if path.is_file():
            assert mode(path) == 0o644, path


def test_files_a_library_wrote_0600_follow_the_umask(tmp_path, umask):
    from loratui.atomic import follow_umask

    path = tmp_path / "unet.safetensors"
    path.write_bytes(b"x")
    os.chmod(path, 0o600)
    follow_umask([path])
    assert mode(path) == 0o666 & ~umask


def test_errors_name_the_file_asked_for_not_its_temporary_twin(tmp_path):
    """A full disk mid-write, or a folder the user may not write: the error names the
    target (what the user knows), never `.NAME.RANDOM.tmp`, and no temp file is left."""
    import errno

    from loratui.atomic import atomic_write

    target = tmp_path / "lora.safetensors"

    def full_disk(fh):
        fh.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as info:
        atomic_write(target, full_disk)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        with pytest.raises(PermissionError) as info:
            atomic_write_bytes(locked / "x.toml", b"x")
        assert info.value.filename == str(locked / "x.toml")

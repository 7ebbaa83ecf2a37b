"""Voice packs: a call assembled from a branch's recorded clips, espeak-ng for what the pack
lacks, and `lobbyq voice-pack check`. The packs are made at test time with sox: each clip a
tone of its own pitch, so every sample of a call can be traced to the clip it came from."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from lobby_display.announcer import Pyttsx3Synth
from lobby_display.announcer.pack import PackError, PackSynth, VoicePack
from lobby_display.announcer.wav import Clip, read_wav, silence, trim_silence
from lobby_display.voice_pack import check_pack
from server.cli import app
from server.config import AppConfig
from tests.lobby_display.conftest import MakeAnnouncer
from tests.lobby_display.test_display_voice import open_and_call
from tests.support import live_server, make_config

# Every word of the zh template "请{number}号到{counter}号窗口办理", the digits, two letters
# and the counters 1-4 (一..四 are digits too).
ZH_WORDS = ["请", "号", "到", "窗口", "办理", "A", "B", *"零一二三四五六七八九"]
EN_WORDS = ["number", "please go to counter", "A", *[str(d) for d in range(10)], "1", "2"]


def tone(
    path: Path,
    hz: int,
    *,
    seconds: float = 0.12,
    rate: int = 22050,
    channels: int = 1,
    effects: tuple[str, ...] = (),
) -> None:
    """A clip made with sox: a sine of its own pitch, no silence around it unless padded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    command = ["sox", "-n", "-r", str(rate), "-c", str(channels), "-b", "16", str(path)]
    command += ["synth", str(seconds), "sine", str(hz), "vol", "0.5", *effects]
    subprocess.run(command, check=True, capture_output=True, timeout=30)


def make_pack(folder: Path, words: dict[str, list[str]], **manifest: str) -> dict[str, Path]:
    """A pack with one tone per word (pitch by position); returns key -> file."""
    lines = ['name = "test-pack"', "sample_rate = 22050", *manifest.values()]
    files: dict[str, Path] = {}
    hz = 300
    for lang, keys in words.items():
        lines.append(f"[clips.{lang}]")
        for index, key in enumerate(dict.fromkeys(keys)):
            file = folder / lang / f"{index:02d}.wav"
            hz += 37
            tone(file, hz)
            files[f"{lang}:{key}"] = file
            lines.append(f'"{key}" = "{lang}/{index:02d}.wav"')
    (folder / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


class SpyFallback:
    """espeak-ng (the real engine), remembering what it was asked and what it said."""

    def __init__(self, real: Pyttsx3Synth) -> None:
        self.real = real
        self.said: dict[str, Clip] = {}

    @property
    def tag(self) -> str:
        return self.real.tag

    def available(self) -> bool:
        return self.real.available()

    def voice_for(self, lang: str) -> str | None:
        return self.real.voice_for(lang)

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        self.real.synthesize(text, voice, out_path)
        self.said[text] = trim_silence(read_wav(out_path))


def get_audio(url: str) -> bytes:
    """The WAV at `url`; the route waits 10 s for a file in progress, so ask again until a
    bound (espeak-ng on a loaded machine may take longer for the fallback words)."""
    deadline = time.monotonic() + 90
    while True:
        response = httpx.get(url, timeout=60)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response.content


def frames_of(path: Path) -> bytes:
    return read_wav(path).frames


def in_order(whole: bytes, parts: list[bytes]) -> list[int]:
    """Where each part starts in `whole`, each after the previous; fails if one is absent."""
    at, found = 0, list[int]()
    for part in parts:
        index = whole.find(part, at)
        assert index >= 0, f"clip {len(found)} of {len(parts)} not found in order"
        found.append(index)
        at = index + len(part)
    return found


class TestAssembledFromClips:
    def test_a_call_is_the_packs_clips_with_its_gaps(
        self, tmp_path: Path, make_announcer: MakeAnnouncer, espeak: Pyttsx3Synth
    ) -> None:
        files = make_pack(
            tmp_path / "pack", {"zh": ZH_WORDS}, gaps="[gaps]\ntoken = 0.1\nword = 0.15"
        )
        fallback = SpyFallback(espeak)
        pack = VoicePack.load(tmp_path / "pack")
        announcer = make_announcer(
            synth=PackSynth(pack, fallback),
            strategy="fragments",
            languages=("zh",),
            gaps=pack.gaps,
            letters="AB",  # the branch's prefixes, warmed at start like the digits
        )

        audio = announcer.announcement("A012", "3").audio
        assert announcer.drain(60)
        spoken = frames_of(announcer.audio_path(audio[1].rsplit("/", 1)[1]))  # type: ignore[arg-type]

        words = ["请", "A", "零", "一", "二", "号", "到", "三", "号", "窗口", "办理"]
        starts = in_order(spoken, [frames_of(files[f"zh:{w}"]) for w in words])
        assert fallback.said == {}  # not one word from the synthesizer
        # Between two digits of the number: exactly the pack's token gap of silence.
        one, two = starts[3], starts[4]
        gap = spoken[one + len(frames_of(files["zh:一"])) : two]
        assert gap == silence(read_wav(files["zh:一"]).format, 0.1)
        # Between the phrase pieces 号 / 窗口 / 办理 (one template part): the word gap.
        assert starts[10] - (starts[9] + len(frames_of(files["zh:窗口"]))) == 2 * round(
            0.15 * 22050
        )

    def test_missing_words_are_said_by_espeak_between_the_clips(
        self, tmp_path: Path, make_announcer: MakeAnnouncer, espeak: Pyttsx3Synth
    ) -> None:
        words = [w for w in ZH_WORDS if w not in ("办理", "三")]
        files = make_pack(tmp_path / "pack", {"zh": words})
        fallback = SpyFallback(espeak)
        pack = VoicePack.load(tmp_path / "pack")
        announcer = make_announcer(
            synth=PackSynth(pack, fallback), strategy="fragments", languages=("zh", "en")
        )

        audio = announcer.announcement("A012", "3").audio
        assert announcer.drain(60)
        zh = frames_of(announcer.audio_path(audio[1].rsplit("/", 1)[1]))  # type: ignore[arg-type]

        assert {"办理", "三"} <= set(fallback.said)
        in_order(
            zh,
            [frames_of(files["zh:请"]), frames_of(files["zh:A"])]
            + [
                fallback.said["三"].frames,
                frames_of(files["zh:窗口"]),
                fallback.said["办理"].frames,
            ],
        )
        # The pack has no English at all: the English sentence is espeak's, its pieces spliced.
        assert announcer.voices["en"] == espeak.voice_for("en")
        assert "Number" in fallback.said

    def test_a_bad_clip_is_replaced_by_espeak_not_played(
        self, tmp_path: Path, make_announcer: MakeAnnouncer, espeak: Pyttsx3Synth
    ) -> None:
        files = make_pack(tmp_path / "pack", {"zh": ZH_WORDS})
        tone(files["zh:窗口"], 900, rate=44100)
        fallback = SpyFallback(espeak)
        announcer = make_announcer(
            synth=PackSynth(VoicePack.load(tmp_path / "pack"), fallback),
            strategy="fragments",
            languages=("zh",),
        )
        announcer.announcement("A1", "1")
        assert announcer.drain(60)
        assert "窗口" in fallback.said


class TestInTheServer:
    @pytest.fixture
    def pack_server(self, database_url: str, tmp_path: Path) -> Iterator[Any]:
        files = make_pack(tmp_path / "voice" / "zh-female", {"zh": ZH_WORDS})
        config_file = tmp_path / "lobbyq.toml"
        config_file.write_text("# the pack is found beside this file\n", encoding="utf-8")
        config = make_config(
            database_url,
            tmp_path / "data",
            voice={"languages": ["zh", "en"], "pack": "voice/zh-female"},
        )
        config = config.model_copy(update={"source": str(config_file)})
        with live_server(config) as server:
            yield server, files

    def test_the_tv_gets_the_call_in_the_packs_voice(self, pack_server: Any) -> None:
        server, files = pack_server
        announcement = open_and_call(server)  # A001 at counter 1
        chime, zh_url, en_url = announcement["audio"]
        path = Path(server.config.server.data_dir) / "zh.wav"
        path.write_bytes(get_audio(server.url + zh_url))
        words = ["请", "A", "零", "零", "一", "号", "到", "一", "号", "窗口", "办理"]
        in_order(frames_of(path), [frames_of(files[f"zh:{w}"]) for w in words])
        # English is not in this pack: espeak-ng says it, and it is still served.
        assert get_audio(server.url + en_url)[:4] == b"RIFF"


class TestCheck:
    def make_bad_pack(self, folder: Path) -> None:
        make_pack(folder, {"zh": [w for w in ZH_WORDS if w != "办理"], "en": EN_WORDS})
        stereo, fast, padded = (
            folder / "zh" / "s.wav",
            folder / "zh" / "f.wav",
            folder / "zh" / "p.wav",
        )
        tone(stereo, 500, channels=2)
        tone(fast, 500, rate=44100)
        tone(padded, 500, effects=("pad", "0.4", "0.3"))
        (folder / "zh" / "n.wav").write_text("not audio", encoding="utf-8")
        manifest = folder / "manifest.toml"
        text = manifest.read_text(encoding="utf-8").replace(
            "[clips.zh]\n",
            '[clips.zh]\n"立体" = "zh/s.wav"\n"快" = "zh/f.wav"\n"长" = "zh/p.wav"\n'
            '"坏" = "zh/n.wav"\n"无" = "zh/none.wav"\n',
        )
        manifest.write_text(text, encoding="utf-8")

    def test_bad_and_missing_clips_are_listed(self, tmp_path: Path) -> None:
        self.make_bad_pack(tmp_path / "pack")
        result = CliRunner().invoke(app, ["voice-pack", "check", str(tmp_path / "pack")])
        out = result.output
        assert result.exit_code == 1, out
        assert "'立体' zh/s.wav: 2 channels, needs mono" in out
        assert "'快' zh/f.wav: 44100 Hz, needs 22050 Hz" in out
        assert "'长' zh/p.wav: silence not trimmed (0.40 s before, 0.30 s after" in out
        assert "'坏' zh/n.wav: not a PCM WAV file" in out
        assert "'无' zh/none.wav: file missing" in out
        assert "MISSING zh '办理'" in out
        assert "5 bad" in out and "problems found" in out

    def test_with_a_config_only_its_words_are_needed(
        self, tmp_path: Path, database_url: str
    ) -> None:
        pack = tmp_path / "pack"
        make_pack(
            pack,
            {"zh": ZH_WORDS + ["V", "Y", "C"], "en": EN_WORDS + ["B", "C", "V", "Y", "3", "4"]},
        )
        config = tmp_path / "lobbyq.toml"
        config.write_text(
            f'[server]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n'
            '[[branches]]\ncode = "b"\nname = { zh = "x", en = "y" }\n'
            '[branches.voice]\npack = "pack"\n'
            '[[branches.services]]\ncode = "A"\nprefix = "A"\nname = { zh = "a", en = "a" }\n'
            '[[branches.counters]]\nnumber = "12"\nservices = ["A"]\n',
            encoding="utf-8",
        )
        result = CliRunner().invoke(
            app, ["voice-pack", "check", str(pack), "--config", str(config)]
        )
        # Counter 12: 十二 in Chinese (十 is not in the pack), "12" in English ("12" is not).
        assert "MISSING zh '十'" in result.output and "MISSING en '12'" in result.output
        assert result.exit_code == 1
        make_pack(pack, {"zh": ZH_WORDS + ["十"], "en": EN_WORDS + ["12"]})
        result = CliRunner().invoke(
            app, ["voice-pack", "check", str(pack), "--config", str(config)]
        )
        assert result.exit_code == 0, result.output
        assert result.output.strip().endswith("0 bad, 0 missing words: ok")

    @pytest.mark.parametrize(
        ("manifest", "message"),
        [
            (None, "cannot read manifest.toml"),
            ("sample_rate = 44100\n[clips.zh]\n", "sample_rate must be 22050"),
            ("[clips.fr]\n'a' = 'a.wav'\n", "[clips.fr] is not one of"),
            ("[clips.zh]\n'a' = '../../etc/passwd'\n", "outside the pack"),
            ("[gaps]\ntoken = 5\n[clips.zh]\n'a' = 'a.wav'\n", "gaps.token"),
            ("colour = 1\n", "unknown key"),
        ],
    )
    def test_an_unusable_manifest_is_an_error(
        self, tmp_path: Path, manifest: str | None, message: str
    ) -> None:
        tmp_path.joinpath("pack").mkdir()
        if manifest is not None:
            (tmp_path / "pack" / "manifest.toml").write_text(manifest, encoding="utf-8")
        with pytest.raises(PackError, match=message.replace("[", r"\[").replace("]", r"\]")):
            VoicePack.load(tmp_path / "pack")
        result = CliRunner().invoke(app, ["voice-pack", "check", str(tmp_path / "pack")])
        assert result.exit_code == 2 and message in result.output

    def test_a_changed_clip_changes_the_cache_key(self, tmp_path: Path) -> None:
        files = make_pack(tmp_path / "pack", {"zh": ["请"]})
        before = VoicePack.load(tmp_path / "pack").digest
        tone(files["zh:请"], 1234, seconds=0.2)
        assert VoicePack.load(tmp_path / "pack").digest != before
        assert check_pack(tmp_path / "pack").clips == 1


def test_the_server_falls_back_to_espeak_when_the_pack_is_unusable(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config: AppConfig = make_config(
        database_url, tmp_path / "data", voice={"pack": str(tmp_path / "no-such-pack")}
    )
    with live_server(config) as server:
        announcement = open_and_call(server)
        assert len(announcement["audio"]) == 3  # chime, zh, en: espeak-ng
    assert any("voice pack of branch b1 unusable" in r.getMessage() for r in caplog.records)

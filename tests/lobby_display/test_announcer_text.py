"""Announcement text rules (pure)."""

from __future__ import annotations

import pytest

from lobby_display.announcer.text import (
    CallWords,
    SegmentKind,
    TemplateError,
    caption,
    check_template,
    chinese_numeral,
    number_tokens,
    speech,
    speech_segments,
    spoken_counter,
    spoken_number,
)

ZH = "请{number}号到{counter}号窗口办理"
EN = "Number {number}, please go to counter {counter}"


class TestSpokenNumber:
    @pytest.mark.parametrize(
        ("number", "lang", "expected"),
        [
            ("A012", "zh", "A 零 一 二"),
            ("A012", "en", "A, zero one two"),
            ("B100", "zh", "B 一 零 零"),
            ("VA007", "zh", "V A 零 零 七"),
            ("VA007", "en", "V, A, zero zero seven"),
            ("a-012", "zh", "A 零 一 二"),
            ("0039", "en", "zero zero three nine"),
            ("A012", "fr", "A 0 1 2"),
        ],
    )
    def test_letter_by_letter_digit_by_digit(self, number: str, lang: str, expected: str) -> None:
        assert spoken_number(number, lang) == expected

    def test_tokens_are_single_letters_and_digit_words(self) -> None:
        assert number_tokens("A012", "zh") == ("A", "零", "一", "二")
        assert number_tokens("A012", "en") == ("A", "zero", "one", "two")


class TestSpokenCounter:
    @pytest.mark.parametrize(
        ("counter", "expected"),
        [
            ("3", "三"),
            ("12", "十二"),
            ("10", "十"),
            ("20", "二十"),
            ("03", "三"),
            ("105", "一百零五"),
        ],
    )
    def test_zh_numbers_are_said_naturally(self, counter: str, expected: str) -> None:
        assert spoken_counter(counter, "zh") == expected

    def test_en_numbers_stay_numerals_for_the_engine(self) -> None:
        assert spoken_counter("3", "en") == "3"
        assert spoken_counter("012", "en") == "12"

    @pytest.mark.parametrize("counter", ["VIP", "3A", "贵宾室", ""])
    def test_names_pass_through(self, counter: str) -> None:
        assert spoken_counter(counter, "zh") == counter
        assert spoken_counter(counter, "en") == counter


class TestChineseNumeral:
    @pytest.mark.parametrize(
        ("n", "expected"),
        [
            (0, "零"),
            (7, "七"),
            (11, "十一"),
            (19, "十九"),
            (21, "二十一"),
            (100, "一百"),
            (110, "一百一十"),
            (1001, "一千零一"),
            (1010, "一千零一十"),
            (9999, "九千九百九十九"),
        ],
    )
    def test_reading(self, n: int, expected: str) -> None:
        assert chinese_numeral(n) == expected

    def test_out_of_range(self) -> None:
        with pytest.raises(ValueError):
            chinese_numeral(10000)


class TestSentences:
    def test_zh_speech_and_caption(self) -> None:
        call = CallWords("A012", "3")
        assert speech(ZH, "zh", call) == "请A 零 一 二号到三号窗口办理"
        assert caption(ZH, "zh", call) == "请A012号到3号窗口办理"

    def test_en_speech_and_caption(self) -> None:
        call = CallWords("A012", "12")
        assert speech(EN, "en", call) == "Number A, zero one two, please go to counter 12"
        assert caption(EN, "en", call) == "Number A012, please go to counter 12"

    def test_named_counter_uses_its_name_per_language(self) -> None:
        call = CallWords("V001", "vip", counter_name={"zh": "贵宾室", "en": "the VIP room"})
        assert speech("请{number}号到{counter}", "zh", call) == "请V 零 零 一号到贵宾室"
        assert caption("Number {number} to {counter}", "en", call) == "Number V001 to the VIP room"

    def test_numeric_counter_ignores_its_name_in_counter_placeholder(self) -> None:
        call = CallWords("A001", "3", counter_name={"zh": "3号窗口", "en": "Counter 3"})
        assert speech(ZH, "zh", call) == "请A 零 零 一号到三号窗口办理"
        assert speech("{number} {counter_name}", "en", call) == "A, zero zero one Counter 3"

    def test_service_placeholder(self) -> None:
        call = CallWords("A001", "3", service={"zh": "个人现金业务", "en": "Personal cash"})
        template = "请{number}号到{counter}号窗口办理{service}"
        assert speech(template, "zh", call).endswith("办理个人现金业务")
        assert caption("{service}: {number}", "en", CallWords("A001", "3")) == ": A001"

    def test_segments_split_at_placeholders(self) -> None:
        segments = speech_segments(ZH, "zh", CallWords("A012", "3"))
        assert [s.kind for s in segments] == [
            SegmentKind.LITERAL,
            SegmentKind.NUMBER,
            SegmentKind.LITERAL,
            SegmentKind.COUNTER,
            SegmentKind.LITERAL,
        ]
        assert segments[1].tokens == ("A", "零", "一", "二")


class TestTemplates:
    def test_known_placeholders(self) -> None:
        assert check_template(ZH) == {"number", "counter"}

    @pytest.mark.parametrize(
        "template", ["{numbr}", "{number!r}", "{number:>5}", "{0}", "{number.x}", "{", "}"]
    )
    def test_rejects_what_it_cannot_fill(self, template: str) -> None:
        with pytest.raises(TemplateError):
            check_template(template)

"""MachineConfig: sizes, validation, and the errors that name the option."""

from __future__ import annotations

import pytest

from vmsim import ConfigError, MachineConfig, format_size, parse_size


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4096", 4096),
        ("64KiB", 65536),
        ("1MiB", 1 << 20),
        ("4k", 4096),
        ("2 GiB", 2 << 30),
        (8192, 8192),
        ("0x1000", 4096),
        ("16KB", 16384),
    ],
)
def test_parse_size(text: str | int, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("bad", ["", "12XB", "-4", "one", 1.5, True, -1])
def test_parse_size_rejects(bad: object) -> None:
    with pytest.raises(ConfigError) as e:
        parse_size(bad, "memory")  # type: ignore[arg-type]
    assert e.value.option == "memory"


def test_format_size_roundtrip() -> None:
    for n in (1, 1000, 4096, 65536, 3 << 20, 1 << 30):
        assert parse_size(format_size(n)) == n


def test_defaults() -> None:
    c = MachineConfig()
    assert c.memory == 1 << 20 and c.nframes == 256 and c.page_shift == 12
    assert c.paging == "x86_64"


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"paging": "mips"}, "paging"),
        ({"memory": "1000"}, "memory"),
        ({"tlb_entries": 10, "tlb_ways": 4}, "tlb_ways"),
        ({"asid_bits": 40}, "asid_bits"),
        ({"page_size": 8192}, "page_size"),
        ({"paging": "linear", "page_size": 1024}, "address_space"),
        ({"paging": "linear", "page_size": 1000, "address_space": "16KiB"}, "page_size"),
        ({"overcommit": "sometimes"}, "overcommit"),
        ({"address_space": "16KiB"}, "address_space"),
    ],
)
def test_bad_options_name_the_option(kwargs: dict[str, object], option: str) -> None:
    with pytest.raises(ConfigError) as e:
        MachineConfig(**kwargs)  # type: ignore[arg-type]
    assert e.value.option == option
    assert option in str(e.value)


def test_linear_textbook_machine() -> None:
    c = MachineConfig(paging="linear", page_size="1KiB", address_space="16KiB", memory="64KiB")
    assert c.page_size == 1024 and c.address_space == 16384 and c.nframes == 64
    assert c.replace(memory="32KiB").nframes == 32


@pytest.mark.parametrize("bad", ["\u0664k", "4\u212a", "\u30004k", "\u0664\u0660\u0669\u0666"])
def test_parse_size_takes_ascii_only(bad: str) -> None:
    # Arabic-Indic digits and U+3000 match re's Unicode \d and \s; U+212A lowercases to "k"
    with pytest.raises(ConfigError):
        parse_size(bad, "memory")

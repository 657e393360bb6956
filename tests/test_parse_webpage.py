"""The page reader: what a camera's landing page names (scripts, images, variables…), capped and linear."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from camscan.parse import webpage
from camscan.parse.webpage import first_redirect, page_fields

PAGE = """<!DOCTYPE html><html><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="generator" content="WebGateInc">
<meta NAME="Author" CONTENT="Dedicated Micros (info@dmicros.com)">
<meta http-equiv="refresh" content="0;URL=default-en-US.htm">
<link rel="shortcut icon" href="/favicon.ico"><link rel="stylesheet" href="/css/main.css">
<script type="text/javascript" src="/js/variable_6.js"></script>
<script>var var_brand="Arecont Vision"; let lang = 'en';
window.location.href = "/doc/page/login.asp";</script>
</head><body background="bg.jpg"><img src='../img/SANYO_lan.gif' alt=x><IMG SRC=./img/kedacom-logo.jpg>
<p>Copyright &copy; 2009-2019 Hangzhou Hikvision Digital Technology Co., Ltd. All Rights Reserved.</p>
<p>浙江大华技术股份有限公司 版权所有</p><p>© 2020 Basler AG</p></body></html>"""


def by_field(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, value in fields:
        out.setdefault(field, []).append(value)
    return out


def test_reads_every_part_of_a_landing_page() -> None:
    got = by_field(page_fields(PAGE))
    assert got["http.script"] == ["/css/main.css", "/js/variable_6.js"]
    assert got["http.image"] == ["/favicon.ico", "bg.jpg", "../img/SANYO_lan.gif", "./img/kedacom-logo.jpg"]
    assert got["http.meta"] == ["generator=WebGateInc", "author=Dedicated Micros (info@dmicros.com)"]
    assert got["http.redirect"] == ["default-en-US.htm", "/doc/page/login.asp"]
    assert got["http.js_var"] == ["var_brand=Arecont Vision", "lang=en"]
    assert got["http.copyright"] == [
        "Hangzhou Hikvision Digital Technology Co., Ltd",
        "浙江大华技术股份有限公司",
        "Basler AG",
    ]


def test_first_redirect_is_the_meta_refresh_or_script_target() -> None:
    assert first_redirect(page_fields(PAGE)) == "default-en-US.htm"
    assert first_redirect(page_fields("<script>location.replace('/login.htm')</script>")) == "/login.htm"
    assert first_redirect(page_fields("<p>no redirect</p>")) is None


def test_a_script_function_argument_is_not_a_copyright_line() -> None:
    assert page_fields("<script>(function(c){return c})(1)</script>") == []
    assert by_field(page_fields("<p>(c) 2018 Axis Communications AB</p>"))["http.copyright"] == [
        "Axis Communications AB"
    ]


def test_values_are_unescaped_collapsed_and_capped() -> None:
    long_src = "/x" * 200  # 400 characters; an attribute over 512 is not read at all
    got = by_field(page_fields(f'<img src="a&amp;b   c"><script src="{long_src}"></script>'))
    assert got["http.image"] == ["a&b c"]
    assert len(got["http.script"][0]) == webpage.MAX_VALUE


def test_only_the_first_bytes_of_a_page_are_read() -> None:
    late = " " * webpage.MAX_SCAN + '<img src="/late.gif">'
    assert page_fields(late) == []


def test_a_repeated_tag_yields_a_bounded_number_of_values() -> None:
    page = "".join(f'<img src="/i{n}.gif">' for n in range(1000))
    assert len(page_fields(page)) == webpage.MAX_PER_FIELD


HOSTILE = [
    "<img " + "a" * 70_000,  # a tag that never closes
    "<script " * 20_000,
    'var x="' * 20_000,
    "&copy;" * 20_000,
    "版权所有" * 30_000,
    "(c) " * 30_000,
    "<meta http-equiv=refresh content='url=" * 5_000,
    "location=" * 20_000,
    "<" * 70_000,
    "=" * 70_000,
]


def test_hostile_pages_cost_little() -> None:
    for page in HOSTILE:
        start = time.perf_counter()
        fields = page_fields(page)
        assert time.perf_counter() - start < 0.5, page[:20]
        assert len(fields) <= 6 * webpage.MAX_PER_FIELD


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<img src=",
                "<script src='",
                "<meta name=author content=",
                "<meta http-equiv=refresh content=",
                "url=",
                "var a=",
                '"',
                "'",
                ">",
                "<",
                "©",
                "(c)",
                "Copyright",
                "版权所有",
                "2019",
                " ",
                "\n",
                "location.href=",
                "&amp;",
                "x",
                "/a.gif",
            ]
        )
        | st.text(max_size=8),
        max_size=60,
    )
)
def test_never_raises_and_keeps_its_caps(parts: list[str]) -> None:
    fields = page_fields("".join(parts))
    counts: dict[str, int] = {}
    for field, value in fields:
        assert field.startswith("http.") and value and value == value.strip()
        assert len(value) <= webpage.MAX_VALUE
        counts[field] = counts.get(field, 0) + 1
    assert all(n <= webpage.MAX_PER_FIELD for n in counts.values())

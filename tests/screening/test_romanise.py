"""Romanisation per script (D3): well-known real names in their own script meet the Latin spellings
lists and passports use, each through the scheme made for the script, and the hit names the path.

Each row: script, the name as written in it, Latin spellings of the same name that must score at
least the review threshold, and the romanisation path the screen of the first spelling must take.
"""

from __future__ import annotations

import pytest

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import ScreeningQuery, Thresholds, compare_names, screen
from cloudcip.screening.romanise import readings

REVIEW = Thresholds().review

VARIANTS = [
    ("Han", "习近平", ["Xi Jinping", "Jinping Xi", "Xi Jin Ping", "Hsi Chin-ping"], "pinyin"),
    ("Han", "毛泽东", ["Mao Zedong", "Mao Tse-tung", "Zedong Mao"], "pinyin"),
    ("Han", "邓小平", ["Deng Xiaoping", "Teng Hsiao-ping"], "pinyin"),
    ("Han", "王秀英", ["Wang Xiuying", "Xiuying Wang", "Wang Hsiu-ying"], "pinyin"),
    ("Japanese", "安倍晋三", ["Shinzo Abe", "Abe Shinzo", "Shinzou Abe"], "hepburn-passport"),
    ("Japanese", "小泉純一郎", ["Junichiro Koizumi", "Koizumi Jun'ichiro"], "hepburn-passport"),
    ("Japanese", "やまだ たろう", ["Taro Yamada", "Yamada Tarou"], "hepburn-passport"),
    ("Hangul", "김정은", ["Kim Jong Un", "Kim Jong-un", "Gim Jeong-eun", "Kim Jeong Eun"], "mccune-reischauer"),
    ("Hangul", "최룡해", ["Choe Ryong Hae", "Choi Ryong-hae"], "revised-romanization"),  # MR reads the same
    ("Hangul", "박근혜", ["Park Geun-hye", "Pak Kun Hye"], "korean-passport"),
    ("Hangul", "이명박", ["Lee Myeong-bak", "Ri Myong Bak", "Lee Myung-bak"], "korean-passport"),
    ("Thai", "ประยุทธ์ จันทร์โอชา", ["Prayuth Chan-ocha"], "rtgs"),
    ("Thai", "สมชาย วงศ์สวัสดิ์", ["Somchai Wongsawat"], "rtgs"),
    ("Cyrillic", "Александр Щербаков", ["Aleksandr Shcherbakov", "Alexander Shcherbakov", "Aleksandr Scherbakov"],
     "iuliia-wikipedia"),
    ("Cyrillic", "Юрий Гагарин", ["Iurii Gagarin", "Yuri Gagarin", "Yuriy Gagarin"], "iuliia-icao-doc-9303"),
    ("Cyrillic", "Михаил Ходорковский", ["Mikhail Khodorkovsky", "Mikhail Khodorkovskiy"], "iuliia-wikipedia"),
    ("Cyrillic", "Олександр Зінченко", ["Oleksandr Zinchenko", "Aleksandr Zinchenko"], "cyrtranslit-ua"),
    ("Greek", "Γιώργος Παπανδρέου", ["Giorgos Papandreou", "Yiorgos Papandreou"], "generic-transliteration"),
    ("Greek", "Αλέξης Τσίπρας", ["Alexis Tsipras"], "generic-transliteration"),
    ("Hebrew", "בנימין נתניהו", ["Binyamin Netanyahu", "Benyamin Netanyahu"], "hebrew-consonantal"),
    ("Hebrew", "יצחק רבין", ["Yitzhak Rabin", "Itzhak Rabin"], "hebrew-consonantal"),
    ("Hebrew", "דוד לוי", ["David Levy", "David Levi"], "generic-transliteration"),  # v as anyascii reads vav
    ("Devanagari", "राहुल गांधी", ["Rahul Gandhi"], "iast-hindi"),
    ("Devanagari", "नरेन्द्र मोदी", ["Narendra Modi"], "iast-hindi"),
    ("Devanagari", "अमिताभ बच्चन", ["Amitabh Bachchan"], "iast-hindi"),
    ("Arabic", "محمد", ["Mohammed", "Muhammad", "Mohamad", "Mohamed"], "generic-transliteration"),
    ("Arabic", "صدام حسين", ["Saddam Hussein", "Saddam Husayn"], "generic-transliteration"),
    ("Arabic", "عبد الله", ["Abdullah", "Abdallah", "Abd Allah"], "generic-transliteration"),
    ("Arabic", "أسامة بن لادن", ["Osama bin Laden", "Usama bin Ladin"], "generic-transliteration"),
    ("Persian", "محمود احمدی‌نژاد", ["Mahmoud Ahmadinejad", "Mahmud Ahmadinejad"], "generic-transliteration"),
]


@pytest.mark.parametrize(("script", "native", "spellings", "path"), VARIANTS,
                         ids=[f"{r[0]}-{r[2][0]}" for r in VARIANTS])
def test_real_romanisation_variants_meet(script: str, native: str, spellings: list[str], path: str) -> None:
    for spelling in spellings:
        assert compare_names(native, spelling, "Person") >= REVIEW, (native, spelling)
    # screened against a list holding the first Latin spelling, the hit says which reading matched
    index = ScreeningIndex([DesignatedParty("test", "1", "Person", [ListedName(spellings[0])])])
    hits = screen(index, ScreeningQuery(name=native, schema="Person"))
    assert [h.party_id for h in hits] == ["1"]
    assert hits[0].path == path
    assert f"via {path}" in hits[0].explanation[0]
    assert hits[0].features["path"] == path
    assert hits[0].pairs and all(p.how for p in hits[0].pairs)


def test_each_alternative_is_kept_as_a_candidate_key() -> None:
    paths = {r.path: r.text for r in readings("习近平")}
    assert paths["pinyin"] == "xi jinping" and paths["wade-giles"] == "hsi chinping"
    korean = {r.path: r.text for r in readings("김정은")}
    assert korean == {"revised-romanization": "gim jeongeun", "korean-passport": "kim jeongeun",
                      "mccune-reischauer": "kim jongun"}
    russian = {r.text for r in readings("Юрий")}
    assert {"Iurii", "Yury"} <= russian or {"Iurii", "Yuriy"} <= russian


def test_latin_names_have_no_readings_and_scripts_without_romaniser_use_the_generic_path() -> None:
    assert readings("John Smith") == ()
    assert readings("ნინო ბურჯანაძე") == ()  # Georgian: no romaniser here
    index = ScreeningIndex([DesignatedParty("test", "1", "Person", [ListedName("Nino Burjanadze")])])
    hits = screen(index, ScreeningQuery(name="ნინო ბურჯანაძე", schema="Person"))
    assert [h.party_id for h in hits] == ["1"] and hits[0].path == "generic-transliteration"

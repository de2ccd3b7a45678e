"""What the member channels do to a member's text (channels/member_input.py)."""

import gc
import json
import string
import time
import unicodedata
from typing import List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.member_input import (
    CUT_MARGIN_CHARS,
    MAX_MESSAGE_CHARS,
    PLACEHOLDER,
    Redaction,
    bounded,
    clean_text,
    command_with_language,
    is_valid_sender_id,
    member_command_or_text,
    plan_context_metadata,
    prepare_member_text,
    redact_personal_details,
)
from channels.member_rest import InvalidMemberRequest, parse_rest_request
from tests.support.personal_details import CORPUS

OFFERED = frozenset({'/inform{"plan_type": "hmo"}', "/ask_referral"})

# Words members write around their details; no digits, so any digit left
# after redaction came from the identifier.
FILLER = st.text(alphabet=string.ascii_letters + " ,.?!'", max_size=40)
DIGIT = st.sampled_from("0123456789")


def digits(count: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=count, max_size=count)


SSNS = st.builds(
    lambda a, b, c, sep: f"{a}{sep}{b}{sep}{c}",
    digits(3),
    digits(2),
    digits(4),
    st.sampled_from(["-", " ", ".", ""]),
)
PHONES = st.builds(
    lambda area, mid, end, form: form.format(area, mid, end),
    digits(3),
    digits(3),
    digits(4),
    st.sampled_from(
        [
            "({}) {}-{}",
            "{}-{}-{}",
            "{}.{}.{}",
            "{} {} {}",
            "{}{}{}",
            "+1 {} {} {}",
            "1-{}-{}-{}",
            "+1 ({}) {}-{}",
        ]
    ),
)
MEMBER_IDS = st.builds(
    lambda prefix, number: prefix + number,
    st.text(alphabet=string.ascii_uppercase, min_size=0, max_size=3),
    st.integers(min_value=6, max_value=14).flatmap(digits),
)
MONTHS = ["January", "Feb", "march", "Apr.", "May", "june", "July", "Aug", "Sept", "October", "nov", "DEC"]
DATES = st.one_of(
    st.builds(
        lambda m, d, y, sep: f"{m}{sep}{d}{sep}{y}",
        st.integers(1, 12),
        st.integers(1, 31),
        st.integers(1920, 2025),
        st.sampled_from(["/", "-", "."]),
    ),
    st.builds(lambda m, d, y: f"{m}/{d}/{y:02d}", st.integers(1, 12), st.integers(1, 31), st.integers(0, 99)),
    st.builds(
        lambda y, m, d: f"{y}-{m:02d}-{d:02d}",
        st.integers(1920, 2025),
        st.integers(1, 12),
        st.integers(1, 31),
    ),
    st.builds(
        lambda m, d, y: f"{m} {d}, {y}", st.sampled_from(MONTHS), st.integers(1, 31), st.integers(1920, 2025)
    ),
    st.builds(
        lambda d, m, y: f"{d} {m} {y}", st.integers(1, 31), st.sampled_from(MONTHS), st.integers(1920, 2025)
    ),
)
EMAILS = st.builds(
    lambda user, domain, tld: f"{user}@{domain}.{tld}",
    st.text(alphabet=string.ascii_lowercase + string.digits + "._+", min_size=1, max_size=12),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12),
    st.sampled_from(["com", "org", "net", "co.uk", "us"]),
)
IDENTIFIERS = st.one_of(SSNS, PHONES, MEMBER_IDS, DATES)


@settings(max_examples=400, deadline=None)
@given(before=FILLER, identifier=IDENTIFIERS, after=FILLER)
def test_generated_identifiers_never_survive(before: str, identifier: str, after: str) -> None:
    redacted = redact_personal_details(f"{before} {identifier} {after}")
    assert not any(char.isdigit() for char in redacted.text), (identifier, redacted.text)
    assert redacted.removed


@settings(max_examples=200, deadline=None)
@given(before=FILLER, email=EMAILS, after=FILLER)
def test_generated_emails_never_survive(before: str, email: str, after: str) -> None:
    redacted = redact_personal_details(f"{before} {email} {after}")
    assert "@" not in redacted.text
    assert redacted.removed == ("email",)


@settings(max_examples=200, deadline=None)
@given(before=FILLER, identifier=IDENTIFIERS, after=FILLER)
def test_whole_member_messages_lose_identifiers_even_when_cut(
    before: str, identifier: str, after: str
) -> None:
    padding = "a" * (MAX_MESSAGE_CHARS - len(before) - 3)
    prepared = prepare_member_text(f"{before}{padding} {identifier} {after}", OFFERED)
    assert not any(char.isdigit() for char in prepared.text)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("my member id is XOF123456789", "member_id"),
        ("Member ID: XOF 1234 5678", "member_id"),
        ("my group number is 123456", "member_id"),
        ("ID card says H12345", "member_id"),
        ("ssn 123-45-6789 does it matter", "member_id"),
        ("123 45 6789", "ssn"),
        ("call me at (312) 555-0123 ext 4", "phone"),
        ("born 01/02/1980", "date"),
        ("my birthday is March 3rd, 1975", "date"),
        ("dob 1980-01-02", "date"),
        ("jane.doe+x@example.co.uk", "email"),
        ("card 1234 5678 9012 3456", "member_id"),
        # Spanish dates and a short last digit group (fresh review).
        ("mi fecha de nacimiento es 5 de mayo de 1970", "date"),
        ("nací el 12 de octubre de 1981, me cubren masajes?", "date"),
        ("naci el 3 de enero del 79", "date"),
        ("el 14 de febrero de 1965 es mi cumpleaños", "date"),
        ("mi id de miembro es XOF 1234 5678 90", "member_id"),
    ],
)
def test_examples_are_redacted(text: str, kind: str) -> None:
    redacted = redact_personal_details(text)
    assert kind in redacted.removed
    assert not any(char.isdigit() for char in redacted.text)


@pytest.mark.parametrize(
    "text",
    [
        "is cpt 97124 covered",
        "what about 97140 and G0283 or 97140-GP",
        "I'm 45 and need 2 visits in 2024",
        "does my texas hmo cover 12 massage visits",
        "massage at a spa for $80",
        "my zip is 60601",
        "over 3 weeks, 2 times a week",
        "97124 and 97140 2 times a week",
        "tengo 12 visitas de terapia al año",
        "may I get a massage in may 2025",
    ],
)
def test_plan_questions_keep_their_numbers(text: str) -> None:
    assert redact_personal_details(text).text == text
    assert redact_personal_details(text).removed == ()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I am Dr. Lee", "I am […]"),
        ("this is Maria Garcia", "this is […]"),
        ("my name's John O'Neil", "[…]"),
        ("my name\u2019s John O\u2019Neil, is massage covered?", "[…], is massage covered?"),
        ("I\u2019m Maria, is massage covered?", "I'm […], is massage covered?"),
        ("Hi, I am Priya Raman. Is massage at a spa covered?", "Hi, I am […]. Is massage at a spa covered?"),
        ("This is Juan de la Cruz, do I need a referral?", "This is […], do I need a referral?"),
        ("I am Ana María Pérez-López", "I am […]"),
        ("It is Mrs. Smith", "It is […]"),
        ("I am Maria Texas PPO", "I am […] Texas PPO"),
        ("I am April Jones", "I am […]"),
        ("my doctor Dr. Patel says I need massage", "my doctor […] says I need massage"),
        ("Mrs Smith here, is massage covered?", "[…] here, is massage covered?"),
        ("I live at 1200 N Lakeshore Dr. Apt 4B, is it covered?", "I live at […], is it covered?"),
        # Who a message is about, as agents' flag notes and members write it.
        ("Member John Smith asked me to call back", "[…] asked me to call back"),
        ("patient Ana García de la Cruz has PT", "patient […] has PT"),
        ("my wife Maria needs massage after surgery", "my wife […] needs massage after surgery"),
    ],
)
def test_names_after_introductions_and_titles_are_redacted(text: str, expected: str) -> None:
    prepared = prepare_member_text(text, OFFERED)
    assert prepared.text == expected
    assert prepared.removed in (("name",), ("address",))


@pytest.mark.parametrize(
    "text",
    [
        "I had Blue Cross Illinois until January, now it's Humana. Do I need prior auth?",
        "it's United Healthcare now",
        "I am Aetna, is massage covered?",
        "this is Kaiser Permanente, does it cover massage",
    ],
)
def test_an_insurer_after_an_introduction_is_not_a_name(text: str) -> None:
    prepared = prepare_member_text(text, OFFERED)
    assert prepared.text == text
    assert prepared.removed == ()


def test_a_name_that_starts_like_an_insurer_is_still_a_name() -> None:
    assert prepare_member_text("I'm Oscar Martinez", OFFERED).text == "I'm […]"


@pytest.mark.parametrize(
    "text",
    [
        "I am not sure",
        "I am in Texas",
        "this is for my back",
        "I am with BCBSTX",
        "I am a member",
        "I am 45",
        "I am A member",
        "I am Hispanic",
        "I am Texas HMO member",
        "This is Blue Cross of Texas",
        "This is Massage Envy, is it covered?",
        "It's March, do I need a new referral?",
        "It is Monday",
        "after 3 visits dr said I need more",
        "is 1 dr visit covered",
        "I'm curious about massage",
        "call Member Services for help",
        "the Member Portal says it is covered",
        "my son Blue Cross plan covers PT",
        "is a member of BCBS covered",
    ],
)
def test_sentences_that_introduce_no_name_stay_whole(text: str) -> None:
    assert prepare_member_text(text, OFFERED) == Redaction(text=text)


def test_clean_text_drops_control_characters_and_broken_unicode() -> None:
    assert clean_text("a\x00b\x07c\nd\ud800e") == "a b c de"
    assert clean_text("مرحبا \u202eabc 👍") == "مرحبا \u202eabc 👍"
    assert len(clean_text("x" * 10_000)) == MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    "text, expected",
    [
        ('/inform{"plan_type": "hmo"}', '/inform{"plan_type": "hmo"}'),
        ("  /ask_referral ", "/ask_referral"),
        ("/restart", "restart"),
        ("/session_start", "session_start"),
        # The "{...}" part of a command that was not offered is dropped: no slot from it.
        ('/inform{"plan_type": "ppo"}', "inform"),
        ('/inform{"state": "TX"}', "inform"),
        ("//ask_referral", "ask_referral"),
        ("/ask_referral@0.99", "ask_referral@0.99"),
        ("/", ""),
        ("does my plan cover massage/spa?", "does my plan cover massage/spa?"),
    ],
)
def test_only_offered_commands_stay_commands(text: str, expected: str) -> None:
    assert prepare_member_text(text, OFFERED).text == expected
    assert member_command_or_text(text, OFFERED).strip() == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_unoffered_text_reaches_rasa_as_a_command(text: str) -> None:
    prepared = prepare_member_text(text, OFFERED).text
    assert not prepared.strip().startswith("/") or prepared in OFFERED
    assert len(prepared) <= MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    "sender, valid",
    [
        ("member-1", True),
        ("a" * 128, True),
        ("3f2a9c_b.x:y", True),
        ("", False),
        ("a" * 129, False),
        ("jane@example.com", False),
        ("two words", False),
        (12, False),
        (None, False),
        ("x\x00", False),
    ],
)
def test_sender_ids(sender: object, valid: bool) -> None:
    assert is_valid_sender_id(sender) is valid


@pytest.mark.parametrize(
    "body, error",
    [
        (b"", "must be JSON"),
        (b"{not json", "must be JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[]", "JSON object"),
        (b'"text"', "JSON object"),
        (b'{"message": "hi"}', "`sender`"),
        (b'{"sender": "m1"}', "`message`"),
        (b'{"sender": "m1", "message": 5}', "`message`"),
        (b'{"sender": "m1", "message": null}', "`message`"),
        (b'{"sender": ["m1"], "message": "hi"}', "`sender`"),
        (b'{"sender": "m1", "message": "hi", "metadata": "TX"}', "`metadata`"),
    ],
)
def test_malformed_rest_requests_are_refused(body: bytes, error: str) -> None:
    with pytest.raises(InvalidMemberRequest, match=error):
        parse_rest_request(body)


def test_a_well_formed_rest_request() -> None:
    body = json.dumps({"sender": "m1", "message": "hi", "metadata": {"state": "TX"}}).encode()
    assert parse_rest_request(body) == ("m1", "hi", {"state": "TX"})


def test_only_plan_context_metadata_is_kept() -> None:
    metadata = {"state": "TX", "plan_type": "hmo", "member_id": "XOF123456789", "dob": "1/2/1980"}
    assert plan_context_metadata(metadata) == {"state": "TX", "plan_type": "hmo"}
    assert plan_context_metadata({"state": 5, "plan_type": "x" * 500}) == {"plan_type": "x" * 40}
    # A value holding a personal detail is dropped, not kept redacted.
    assert plan_context_metadata({"state": "XOF123456789"}) == {}
    assert plan_context_metadata(None) == {}


# --- Round two (issue 12): bounded work, one command gate, more formats. ---


def _redaction_seconds(text: str) -> float:
    """CPU seconds of the fastest of five runs (garbage collection off): the
    least disturbed by other work on this shared machine."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(5):
            started = time.thread_time()
            redact_personal_details(text)
            best = min(best, time.thread_time() - started)
    finally:
        gc.enable()
    return best


HOSTILE_UNITS = st.sampled_from(
    [
        "a",
        "1 ",
        "a@",
        "1-",
        "a.",
        "member id is ",
        "my name is ",
        "born ",
        "+1",
        "(at)",
        "1 a ",
        "I am Jo ",
        "Dr. Jo de ",
        "1 Jo Dr ",
    ]
) | st.text(alphabet="a1 .@-/(+", min_size=1, max_size=6)


@settings(max_examples=8, deadline=None)
@given(unit=HOSTILE_UNITS)
def test_redaction_time_grows_linearly_with_length(unit: str) -> None:
    # The old email pattern took 2.1 s for 20,000 "a" and 9.9 s for 40,000.
    # Linear: twice the text takes about twice as long (quadratic: four times).
    # Sizes where a run takes at least 20 ms, so timer noise does not decide.
    size = 20_000
    small = _redaction_seconds((unit * size)[:size])
    while small < 0.02 and size < 640_000:
        size *= 2
        small = _redaction_seconds((unit * size)[:size])
    # Three tries: another process on this shared machine can slow one run.
    ratios = []
    for _ in range(3):
        ratios.append(
            _redaction_seconds((unit * 2 * size)[: 2 * size]) / _redaction_seconds((unit * size)[:size])
        )
        if ratios[-1] < 3.0:
            break
    assert min(ratios) < 3.0, (unit, size, ratios)


def test_the_text_is_cut_before_any_rule_reads_it() -> None:
    assert len(bounded("a" * 1_000_000)) == MAX_MESSAGE_CHARS + CUT_MARGIN_CHARS
    started = time.perf_counter()
    prepare_member_text("a" * 1_000_000, OFFERED)
    baseline = time.perf_counter()
    prepare_member_text("a" * 3000, OFFERED)
    # A megabyte costs no more than a message just over the limit (both are cut first).
    assert (baseline - started) < 20 * max(time.perf_counter() - baseline, 1e-3)


def test_an_identifier_across_the_cut_is_removed_whole() -> None:
    text = "a" * (MAX_MESSAGE_CHARS - 6) + " 518-47-2963 is massage covered"
    prepared = prepare_member_text(text, OFFERED).text
    assert len(prepared) <= MAX_MESSAGE_CHARS
    assert not any(char.isdigit() for char in prepared)


@pytest.mark.parametrize("text, secrets", CORPUS, ids=[str(number) for number in range(len(CORPUS))])
def test_personal_detail_corpus_leaves_nothing(text: str, secrets: List[str]) -> None:
    prepared = prepare_member_text(text, OFFERED)
    normalised = unicodedata.normalize("NFKC", prepared.text)
    for secret in secrets:
        assert secret not in prepared.text and unicodedata.normalize("NFKC", secret) not in normalised
    assert prepared.removed
    # The question words stay: something besides the placeholders is left.
    assert prepared.text.replace(PLACEHOLDER, "").strip(" ,.:-"), prepared.text


def test_the_corpus_is_large() -> None:
    assert len(CORPUS) >= 60
    assert len({text for text, _ in CORPUS}) == len(CORPUS)


def test_a_question_around_details_keeps_its_words() -> None:
    prepared = prepare_member_text("my member id is XYZ123456789 and dob 4/12/1980, is massage covered?", ())
    assert prepared.text == f"{PLACEHOLDER} and {PLACEHOLDER}, is massage covered?"
    assert prepared.removed == ("date", "member_id")


LOOK_ALIKE_SEPARATORS = st.sampled_from(["-", "\u2013", "\u2014", "\u2212", "\u2011", " ", ".", ""])
ZERO_WIDTH = st.sampled_from(["", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])


@settings(max_examples=300, deadline=None)
@given(
    before=FILLER,
    parts=st.tuples(digits(3), digits(2), digits(4)) | st.tuples(digits(3), digits(3), digits(4)),
    separator=LOOK_ALIKE_SEPARATORS,
    hidden=ZERO_WIDTH,
    after=FILLER,
)
def test_ssns_and_phones_with_look_alike_separators_never_survive(
    before: str, parts: Tuple[str, ...], separator: str, hidden: str, after: str
) -> None:
    identifier = (hidden + separator + hidden).join(parts)
    prepared = prepare_member_text(f"{before} {identifier} {after}", OFFERED)
    assert not any(char.isdigit() for char in prepared.text), (identifier, prepared.text)


@pytest.mark.parametrize(
    "text",
    [
        "/ /restart",
        "\uff0frestart",
        " / / /restart",
        "/\u3000/restart",
        "\u2215restart",
        '/ /inform{"state":"OK","plan_type":"ppo"}',
        '/ /inform{"insurer":"<img src=x onerror=alert(1)>"}',
        '\uff0finform\uff5b"state":"OK"\uff5d',
        "/session_start",
        "/restart@1.0",
        '/inform@0.9{"state":"TX"}',
        "\u200b/restart",
        "/\n/restart",
    ],
)
def test_no_spelling_of_a_command_gets_through_the_gate(text: str) -> None:
    prepared = prepare_member_text(text, OFFERED).text
    assert not prepared.strip().startswith("/")
    assert "{" not in prepared and "<img" not in prepared and '"' not in prepared


def test_an_offered_payload_passes_in_any_spelling_of_its_whitespace() -> None:
    assert prepare_member_text("\u3000/ask_referral\n", OFFERED).text == "/ask_referral"
    assert prepare_member_text("\uff0fask_referral", OFFERED).text == "/ask_referral"


@pytest.mark.parametrize(
    "sender",
    [
        "member-1\n",
        "member-1\r\n",
        "518-47-2963",
        "member:518472963",
        "XOF839201557",
        "1EG4-TE5-MK73",
        "312.555.0187",
    ],
)
def test_sender_ids_that_end_in_a_newline_or_look_personal_are_refused(sender: str) -> None:
    assert not is_valid_sender_id(sender)


def test_hex_conversation_ids_are_accepted() -> None:
    assert is_valid_sender_id("3f2a9c8e1b7d4e5fa0b1c2d3e4f50617")
    assert is_valid_sender_id("pii-rest-3fa9c01b2e")


def test_the_language_a_site_asks_for_is_kept_with_the_plan_context() -> None:
    metadata = {"state": "TX", "lang": "es-MX", "email": "a@b.example"}
    assert plan_context_metadata(metadata) == {"state": "TX", "lang": "es-MX"}


@pytest.mark.parametrize(
    "text, language, expected",
    [
        ("/greet", "es", '/greet{"language": "es"}'),
        ('/inform{"plan_type": "hmo"}', "es", '/inform{"plan_type": "hmo", "language": "es"}'),
        ('/inform{"feedback": "helpful"}', "en", '/inform{"feedback": "helpful", "language": "en"}'),
        ("/greet", None, "/greet"),
        ("hola, tengo una pregunta", "es", "hola, tengo una pregunta"),
        ("/greet{not json", "es", "/greet{not json"),
    ],
)
def test_a_command_carries_the_language_the_site_asked_for(
    text: str, language: "str | None", expected: str
) -> None:
    """Commands skip NLU, so the site's language travels as the command's entity."""
    assert command_with_language(text, language) == expected

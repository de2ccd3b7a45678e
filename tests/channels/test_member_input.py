"""What the member channels do to a member's text (channels/member_input.py)."""

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.member_input import (
    MAX_MESSAGE_CHARS,
    clean_text,
    is_valid_sender_id,
    member_command_or_text,
    plan_context_metadata,
    prepare_member_text,
    redact_personal_details,
)
from channels.member_rest import InvalidMemberRequest, parse_rest_request

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
    ],
)
def test_plan_questions_keep_their_numbers(text: str) -> None:
    assert redact_personal_details(text).text == text
    assert redact_personal_details(text).removed == ()


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
        ('/inform{"plan_type": "ppo"}', 'inform{"plan_type": "ppo"}'),
        ('/inform{"state": "TX"}', 'inform{"state": "TX"}'),
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
    assert plan_context_metadata({"state": "XOF123456789"}) == {"state": "[member ID]"}
    assert plan_context_metadata(None) == {}

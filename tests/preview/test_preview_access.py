"""Who may use the preview: the channel's start-up rules, and the terminal command."""

import logging
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from rasa.shared.exceptions import RasaException

from channels.agent_preview import DEMO_ENV, TOKEN_ENV, AgentPreviewInput
from launch.paths import PROJECT_DIR
from launch.servers import VENV_BIN, Assistant, embedded_stores, free_port, quiet_env
from plan_coverage.engine import PlanContext, load_rules
from tools.preview import chosen_language

RULES = load_rules()
DEMO_BANNER = "AGENT PREVIEW DEMO MODE"


def env_without_agent_settings(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in quiet_env().items() if k not in (TOKEN_ENV, DEMO_ENV)}
    # endpoints.yml and credentials.yml take their settings from the environment too.
    env.update(embedded_stores(Path(tempfile.mkdtemp(prefix="preview-access-")) / "tracker.db"))
    env["SITE_ORIGINS"] = ""
    env.update(extra)
    return env


def test_the_channel_takes_its_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "a-token")
    monkeypatch.delenv(DEMO_ENV, raising=False)
    assert AgentPreviewInput.from_credentials(None).token == "a-token"


@pytest.mark.parametrize("token", [None, "", "   "])
def test_without_a_token_the_channel_refuses_to_start(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.delenv(DEMO_ENV, raising=False)
    if token is None:
        monkeypatch.delenv(TOKEN_ENV, raising=False)
    else:
        monkeypatch.setenv(TOKEN_ENV, token)
    with pytest.raises(RasaException, match=TOKEN_ENV):
        AgentPreviewInput.from_credentials(None)


def test_demo_mode_opens_the_preview_and_says_so_loudly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv(DEMO_ENV, "1")
    with caplog.at_level(logging.WARNING, logger="channels.agent_preview"):
        channel = AgentPreviewInput.from_credentials(None)
    assert channel.token is None
    assert any(DEMO_BANNER in r.getMessage() and r.levelno >= logging.WARNING for r in caplog.records)


def rasa_run(env: Dict[str, str]) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [
            str(VENV_BIN / "rasa"),
            "run",
            "--model",
            str(PROJECT_DIR / "models" / "hcsc-faq.tar.gz"),
            "--port",
            str(free_port()),
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
        ],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


@pytest.mark.slow
def test_rasa_run_stops_when_no_agent_token_is_set(trained_model: Path) -> None:
    server = rasa_run(env_without_agent_settings(ACTION_ENDPOINT_URL="http://127.0.0.1:9/webhook"))
    try:
        output, _ = server.communicate(timeout=300)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode != 0
    assert TOKEN_ENV in output


@pytest.mark.slow
def test_rasa_run_in_demo_mode_prints_the_warning_in_its_log(trained_model: Path) -> None:
    server = rasa_run(
        env_without_agent_settings(ACTION_ENDPOINT_URL="http://127.0.0.1:9/webhook", **{DEMO_ENV: "1"})
    )
    seen: List[str] = []
    # Should the banner never come, the server would run on: stop it after a while.
    safety_net = threading.Timer(300, server.kill)
    safety_net.start()
    try:
        # The channel is made before the model loads: read until the banner or the end.
        assert server.stdout is not None
        for line in server.stdout:
            seen.append(line)
            if DEMO_BANNER in line:
                break
    finally:
        safety_net.cancel()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert any(DEMO_BANNER in line for line in seen), "".join(seen)[-3000:]


def preview_command(assistant: Assistant, token: str, *args: str) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, RASA_URL=assistant.base_url, AGENT_TOKEN=token)
    if not token:
        del env["AGENT_TOKEN"]
    return subprocess.run(
        [sys.executable, "-m", "tools.preview", *args],
        cwd=PROJECT_DIR,  # -m finds this checkout's tools first
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_terminal_preview_prints_the_answer_and_why(assistant: Assistant) -> None:
    result = preview_command(
        assistant, str(assistant.agent_token), "--state", "TX", "--plan-type", "hmo", "do i need a referral?"
    )
    assert result.returncode == 0, result.stderr
    expected = RULES.answer("referral", PlanContext(state="TX", plan_type="hmo"))
    flat = " ".join(result.stdout.split())
    assert expected.text in flat and expected.closing in flat
    assert "ask_referral" in flat
    assert "referral.hmo (answer)" in flat
    assert "Outcome: required: " + RULES.outcomes["required"] in flat
    # Each rule with the source article's words it rests on.
    for quote in RULES.rule("referral.hmo").source:
        assert f"> \u201c{quote}\u201d" in flat


@pytest.mark.slow
@pytest.mark.parametrize("token, message", [("wrong", "did not accept"), ("", "AGENT_TOKEN is not")])
def test_the_terminal_preview_needs_the_agent_token(assistant: Assistant, token: str, message: str) -> None:
    result = preview_command(assistant, token, "do i need a referral?")
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_the_terminal_preview_answers_in_the_language_asked(assistant: Assistant) -> None:
    # As `make preview LANG=es` runs it: LANG in the environment too (Python copes with "es").
    result = preview_command(
        assistant, str(assistant.agent_token), "--language", "es", "/ask_coverage_overview"
    )
    assert result.returncode == 0, result.stderr
    expected = RULES.answer("coverage_overview", PlanContext(), "es")
    flat = " ".join(result.stdout.split())
    assert expected.text in flat and expected.closing in flat
    assert "Language asked: es" in flat
    assert "Language: answer in es; not detected (a command skips NLU)" in flat
    # The shell's own LANG is a locale, not a choice: the words decide (English here).
    typed = preview_command(
        assistant, str(assistant.agent_token), "--language", "C.UTF-8", "is massage covered?"
    )
    assert typed.returncode == 0, typed.stderr
    flat = " ".join(typed.stdout.split())
    assert "Language asked: not given" in flat and "Language: answer in en; detected en" in flat


@pytest.mark.parametrize(
    "value, language",
    [("es", "es"), ("en", "en"), ("es_MX.UTF-8", "es"), ("es-US", "es"), (" es ", "es")]
    + [(locale, None) for locale in ("", "C.UTF-8", "C", "POSIX", "en_US.UTF-8", "fr_FR.UTF-8", "esperanto")],
)
def test_only_en_es_and_spanish_locales_choose_the_terminal_previews_language(
    value: str, language: Optional[str]
) -> None:
    assert chosen_language(value) == language

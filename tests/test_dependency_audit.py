"""Known vulnerabilities in the locked dependencies: pip-audit's report and
SECURITY.md's table of findings that remain must agree, id for id."""

import re
import subprocess

import pytest

from tests.support.prerequisites import skip_unless_required
from tools import dependency_audit
from tools.dependency_audit import AuditUnavailable, canonical, describe


@pytest.mark.slow  # runs pip-audit from its own venv
def test_security_md_lists_exactly_the_findings_pip_audit_reports() -> None:
    service = dependency_audit.audit_service()
    try:
        report = dependency_audit.run_pip_audit(service=service)
    except AuditUnavailable as error:
        skip_unless_required(f"dependency audit could not run: {error}")
        return
    if report.unaudited and report.audited_count == 0:
        # No vulnerability service answers from this network (PyPI's
        # per-version JSON API gets a 404 through its proxy, osv.dev does not
        # resolve; see SECURITY.md). That is a fact about the network, not a
        # missing install step, so even CI skips, saying why; the table's
        # other checks below still run.
        pytest.skip(
            f"no {service} vulnerability service answered for any locked package: no audit possible here"
        )
    if report.unaudited:
        # pip-audit says "no known vulnerabilities" even when the service
        # answered for no package at all: that is no audit.
        example = sorted(report.unaudited.items())[0]
        skip_unless_required(
            f"the {service} vulnerability service gave no answer for {len(report.unaudited)} of "
            f"{len(report.unaudited) + report.audited_count} locked packages ({example[0]}: {example[1]})"
        )
    unlisted, stale = dependency_audit.compare(report.findings, dependency_audit.listed_findings())
    assert not unlisted, "pip-audit reports findings SECURITY.md does not list:\n" + "\n".join(
        map(describe, unlisted)
    )
    assert not stale, "SECURITY.md lists findings pip-audit no longer reports:\n" + "\n".join(
        row.line for row in stale
    )


def test_security_md_findings_name_locked_packages_at_their_locked_versions() -> None:
    rows = dependency_audit.listed_findings()
    assert rows, f"no findings table under '{dependency_audit.FINDINGS_HEADING}' in SECURITY.md"
    pins = dependency_audit.locked_versions()
    wrong = [row.line for row in rows if pins.get(canonical(row.package)) != row.installed]
    assert not wrong, "rows whose package or version is not the one requirements.lock pins:\n" + "\n".join(
        wrong
    )


def test_security_md_lists_each_vulnerability_once() -> None:
    seen: dict = {}
    repeated = []
    for row in dependency_audit.listed_findings():
        for vuln_id in row.ids:
            key = (canonical(row.package), vuln_id)
            if key in seen:
                repeated.append(f"{vuln_id} ({row.package})")
            seen[key] = row
    assert not repeated, f"ids listed in more than one row: {repeated}"


def test_report_parsing_tells_findings_from_unaudited_packages() -> None:
    # The two shapes of entry in pip-audit's JSON report (pip_audit/_format/json.py).
    report = dependency_audit.parse_report(
        {
            "dependencies": [
                {
                    "name": "sanic-cors",
                    "version": "2.0.1",
                    "vulns": [
                        {
                            "id": "PYSEC-2026-3539",
                            "fix_versions": [],
                            "aliases": ["CVE-2026-37737", "GHSA-94jw-hqvj-vw74"],
                        }
                    ],
                },
                {"name": "six", "version": "1.17.0", "vulns": []},
                {
                    "name": "aiohttp",
                    "skip_reason": "Dependency not found on PyPI and could not be audited: aiohttp (3.9.5)",
                },
            ]
        }
    )
    assert report.audited_count == 2
    assert list(report.unaudited) == ["aiohttp"]
    assert [f.ids for f in report.findings] == [
        frozenset({"PYSEC-2026-3539", "CVE-2026-37737", "GHSA-94jw-hqvj-vw74"})
    ]
    listed = [row for row in dependency_audit.listed_findings() if "GHSA-94jw-hqvj-vw74" in row.ids]
    unlisted, _ = dependency_audit.compare(report.findings, listed)
    assert listed and not unlisted, "a finding must match the row that names it by an alias"


@pytest.mark.slow  # needs the audit venv
def test_audit_tool_is_the_pinned_release() -> None:
    pinned = dependency_audit.locked_versions(dependency_audit.PROJECT_DIR / "requirements-audit.lock")[
        "pip-audit"
    ]
    if not dependency_audit.PIP_AUDIT.exists():
        skip_unless_required(f"{dependency_audit.PIP_AUDIT} is missing: run `make audit`")
    version = subprocess.run(
        [str(dependency_audit.PIP_AUDIT), "--version"], capture_output=True, text=True, timeout=60
    )
    assert re.search(rf"\b{re.escape(pinned)}\b", version.stdout), version.stdout + version.stderr

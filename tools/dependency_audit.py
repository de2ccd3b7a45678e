"""Audit requirements.lock for known vulnerabilities with pip-audit, and
compare what it reports with the findings that SECURITY.md lists.

`make audit` runs this file; tests/test_dependency_audit.py uses its
functions. pip-audit lives in its own venv (.venv-audit, made by `make`),
because every pip-audit release needs a newer `packaging` than rasa 3.6.21
allows. This module itself needs only the standard library.

Exit status: 0 when every locked package was audited and SECURITY.md lists
exactly the findings reported; 1 when the two differ; 2 when the
vulnerability service did not answer for some package (nothing is known
about those packages then, so it is no clean result).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Sequence, Set, Tuple

PROJECT_DIR = Path(__file__).resolve().parents[1]
LOCK_FILE = PROJECT_DIR / "requirements.lock"
SECURITY_MD = PROJECT_DIR / "SECURITY.md"
PIP_AUDIT = PROJECT_DIR / ".venv-audit" / "bin" / "pip-audit"
# PyPI's JSON API is the default: the package index is reachable wherever pip
# works. AUDIT_SERVICE=osv asks osv.dev instead.
DEFAULT_SERVICE = "pypi"
AUDIT_TIMEOUT_S = 600
# pip-audit's socket timeout for one request to the service.
REQUEST_TIMEOUT_S = 60
# The table of findings that remain is the one under this heading.
FINDINGS_HEADING = "## Findings that remain"
VULN_ID = re.compile(r"\b(?:GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+|CVE-\d{4}-\d{4,})\b")


class AuditUnavailable(RuntimeError):
    """pip-audit could not run, or could not reach its vulnerability service."""


@dataclass(frozen=True)
class Finding:
    """One vulnerability that pip-audit reports for one locked package."""

    package: str
    version: str
    vuln_id: str
    aliases: FrozenSet[str]
    fix_versions: Tuple[str, ...]

    @property
    def ids(self) -> FrozenSet[str]:
        """The finding's id and its aliases (CVE, GHSA, PYSEC)."""
        return frozenset({self.vuln_id, *self.aliases})


@dataclass
class AuditReport:
    """What pip-audit said about the lock file."""

    findings: List[Finding] = field(default_factory=list)
    # Locked packages the service gave no answer for, with pip-audit's reason.
    unaudited: Dict[str, str] = field(default_factory=dict)
    audited_count: int = 0


@dataclass(frozen=True)
class ListedFinding:
    """One row of SECURITY.md's table of findings that remain."""

    ids: FrozenSet[str]
    package: str
    installed: str
    line: str


def canonical(name: str) -> str:
    """A package name as PyPI compares names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def audit_service() -> str:
    """The vulnerability service to ask: AUDIT_SERVICE, or PyPI."""
    return os.environ.get("AUDIT_SERVICE", DEFAULT_SERVICE)


def run_pip_audit(
    lock_file: Path = LOCK_FILE, service: str = "", timeout_s: float = AUDIT_TIMEOUT_S
) -> AuditReport:
    """Run pip-audit on a fully pinned requirements file and read its JSON report.

    --no-deps --disable-pip: the lock pins everything, so pip-audit audits
    the pins as they are, without building a venv or resolving anything.
    """
    if not PIP_AUDIT.exists():
        raise AuditUnavailable(
            f"{PIP_AUDIT.relative_to(PROJECT_DIR)} is missing: run `make audit` to install it"
        )
    with tempfile.TemporaryDirectory(prefix="pip-audit-") as tmp:
        report_path = Path(tmp) / "report.json"
        command = [
            str(PIP_AUDIT),
            "--requirement",
            str(lock_file),
            "--no-deps",
            "--disable-pip",
            "--vulnerability-service",
            service or audit_service(),
            "--format",
            "json",
            "--output",
            str(report_path),
            "--progress-spinner",
            "off",
            "--aliases",
            "on",
            "--timeout",
            str(REQUEST_TIMEOUT_S),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, cwd=PROJECT_DIR
            )
        except subprocess.TimeoutExpired as error:
            raise AuditUnavailable(f"pip-audit gave no answer within {timeout_s:.0f} s") from error
        # pip-audit exits 1 both when it finds vulnerabilities and when it
        # fails (a traceback, no report): only the report tells them apart.
        if result.returncode not in (0, 1) or not report_path.exists():
            last_line = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise AuditUnavailable(f"pip-audit failed (exit {result.returncode}): {last_line}")
        return parse_report(json.loads(report_path.read_text()))


def parse_report(report: dict) -> AuditReport:
    """The findings and the unaudited packages in pip-audit's JSON report."""
    audit = AuditReport()
    for dependency in report.get("dependencies", []):
        name = dependency["name"]
        if "skip_reason" in dependency:
            audit.unaudited[name] = dependency["skip_reason"]
            continue
        audit.audited_count += 1
        for vuln in dependency.get("vulns", []):
            audit.findings.append(
                Finding(
                    package=name,
                    version=dependency["version"],
                    vuln_id=vuln["id"],
                    aliases=frozenset(vuln.get("aliases", [])),
                    fix_versions=tuple(vuln.get("fix_versions", [])),
                )
            )
    return audit


def listed_findings(security_md: Path = SECURITY_MD) -> List[ListedFinding]:
    """The rows of SECURITY.md's table of findings that remain.

    Columns: ids | package | installed | fixed in | why it remains | exposure.
    """
    rows: List[ListedFinding] = []
    in_section = False
    for line in security_md.read_text().splitlines():
        if line.startswith("## "):
            in_section = line.strip() == FINDINGS_HEADING
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not in_section or not line.lstrip().startswith("|") or len(cells) < 3:
            continue
        ids = frozenset(VULN_ID.findall(cells[0]))
        if ids:  # the header and the |---| line have no ids
            rows.append(
                ListedFinding(ids=ids, package=cells[1].strip("`"), installed=cells[2].strip("`"), line=line)
            )
    return rows


def compare(
    findings: Sequence[Finding], listed: Sequence[ListedFinding]
) -> Tuple[List[Finding], List[ListedFinding]]:
    """Findings SECURITY.md does not list, and SECURITY.md rows no finding matches.

    A finding and a row match when they name the same package and share an
    id or alias: pip-audit may report the PYSEC id where the row gives the
    GHSA or CVE id.
    """

    def same(finding: Finding, row: ListedFinding) -> bool:
        return canonical(finding.package) == canonical(row.package) and bool(finding.ids & row.ids)

    unlisted = [finding for finding in findings if not any(same(finding, row) for row in listed)]
    stale = [row for row in listed if not any(same(finding, row) for finding in findings)]
    return unlisted, stale


def locked_versions(lock_file: Path = LOCK_FILE) -> Dict[str, str]:
    """Package name (canonical) to pinned version, from a requirements lock."""
    pins: Dict[str, str] = {}
    for line in lock_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name)] = version.strip()
    return pins


def describe(finding: Finding) -> str:
    """One line for a person: package, version, ids, fixed versions."""
    fixed = ", ".join(finding.fix_versions) or "no fixed version"
    aliases = ", ".join(sorted(finding.aliases))
    return (
        f"{finding.package} {finding.version}: {finding.vuln_id}"
        + (f" ({aliases})" if aliases else "")
        + f"; fixed in {fixed}"
    )


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", default="", help="osv or pypi (default: AUDIT_SERVICE, else pypi)")
    args = parser.parse_args(argv)
    service = args.service or audit_service()
    try:
        report = run_pip_audit(service=service)
    except AuditUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"pip-audit ({service}): {report.audited_count} packages audited, "
        f"{len(report.findings)} findings, {len(report.unaudited)} not audited"
    )
    for finding in sorted(report.findings, key=lambda f: (canonical(f.package), f.vuln_id)):
        print(f"  {describe(finding)}")
    if report.unaudited:
        reasons: Set[str] = set(report.unaudited.values())
        print(
            f"error: the {service} vulnerability service gave no answer for {len(report.unaudited)} "
            f"of {len(report.unaudited) + report.audited_count} packages, e.g. {sorted(reasons)[0]}",
            file=sys.stderr,
        )
        return 2
    unlisted, stale = compare(report.findings, listed_findings())
    for finding in unlisted:
        print(f"not in SECURITY.md: {describe(finding)}", file=sys.stderr)
    for row in stale:
        print(f"in SECURITY.md but no longer reported: {row.line.strip()}", file=sys.stderr)
    return 1 if unlisted or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
